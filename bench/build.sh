#!/usr/bin/env bash
# Build-time benchmark (results: docs/benchmarks.md, "## Build time"): what a
# fresh clone costs before the README's first command prints anything.
#
# For each git revision given (default: HEAD), in a fresh clone with its own
# empty target directory and CARGO_INCREMENTAL=0:
#
#   0. cold `cargo build --locked` (dev profile) — the build behind the
#      README's first command, `cargo run --locked -- drill ...` — then that
#      command once, built (the drill's own time);
#   2. `cargo test --locked --no-run` (debug profile, dev-dependencies);
#      after step 0 it reuses what the dev build compiled, so its time is
#      what `cargo test` adds for a new user;
#   1. cold `cargo build --release --locked --timings` — what `cargo install
#      --path .` compiles;
#   3. warm `cargo test --locked` — everything built, the suite runs.
#
# Each step prints wall seconds, CPU seconds (user + system of every process
# cargo starts: the figure least disturbed by other load on a shared machine),
# the load average before it, and for step 1 the number of units compiled and
# the heaviest crates by their compile seconds from cargo's --timings report
# (target/cargo-timings/, kept until the clone is removed).
#
# Revisions run one after another, so give two to compare them side by side
# under the same conditions:
#
#   bench/build.sh                      # HEAD only
#   bench/build.sh main~3 main          # before and after
#   STEPS=1 bench/build.sh A B          # only the release build
#   STEPS=02 bench/build.sh             # the README's two commands
#
# Env: STEPS (which steps, default 0213, run in that order), TOP (crates listed, default 12),
# KEEP=1 keeps the clones (in /tmp) instead of deleting them.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo="$(pwd)"
steps="${STEPS:-0213}"
top="${TOP:-12}"
[ $# -gt 0 ] || set -- HEAD
for tool in git python3 nproc; do
    command -v "$tool" >/dev/null || { echo "$tool is required" >&2; exit 2; }
done
export CARGO_INCREMENTAL=0
unset CARGO_TARGET_DIR RUSTFLAGS CARGO_BUILD_RUSTFLAGS

load() { cut -d' ' -f1-3 /proc/loadavg; }

# The compile seconds of every unit in a cargo --timings HTML report: the
# total, the count and the heaviest $top.
summarize() {
    python3 - "$1" "$top" <<'PY'
import json, re, sys
html = open(sys.argv[1], encoding="utf-8").read()
m = re.search(r"const UNIT_DATA = (\[.*?\n\]);", html, re.S)
units = json.loads(m.group(1))
total = sum(u["duration"] for u in units)
crates = {}
for u in units:
    key = u["name"] + (" " + u["target"].strip() if u["target"].strip() else "")
    crates[key] = crates.get(key, 0.0) + u["duration"]
print(f"  units compiled: {len(units)} ({len({u['name'] for u in units})} crates), crate-seconds: {total:.0f}")
for name, secs in sorted(crates.items(), key=lambda kv: -kv[1])[: int(sys.argv[2])]:
    print(f"    {secs:7.1f} s  {100 * secs / total:4.1f}%  {name}")
PY
}

for rev in "$@"; do
    sha="$(git -C "$repo" rev-parse --short "$rev")"
    dir="$(mktemp -d "/tmp/lifeline-build-$sha.XXXX")"
    git clone -q --no-checkout "$repo" "$dir"
    git -C "$dir" checkout -q "$sha"
    echo "== $rev ($sha) in $dir, $(nproc) cores, $(date -u '+%Y-%m-%d %H:%M UTC')"
    cd "$dir"
    step() {
        local name="$1"
        shift
        local l t
        l="$(load)"
        TIMEFORMAT="%R %U %S"
        t="$({ time "$@" >"$dir/$name.log" 2>&1; } 2>&1 | tail -n 1)" || {
            echo "  $name failed; see $dir/$name.log" >&2
            exit 1
        }
        read -r wall user sys <<<"$t"
        printf '  %-28s wall %7.1f s  cpu %7.1f s  load before %s\n' \
            "$name" "$wall" "$(awk "BEGIN{print $user + $sys}")" "$l"
    }
    if [[ "$steps" == *0* ]]; then
        step "cold build (dev)" cargo build --locked --timings
        summarize "$(ls -t target/cargo-timings/cargo-timing-*.html | head -n 1)"
        step "drill (dev, built)" cargo run --locked -- drill --root examples/sample-repo
    fi
    if [[ "$steps" == *2* ]]; then
        step "test --no-run" cargo test --locked --no-run
    fi
    if [[ "$steps" == *1* ]]; then
        step "cold build --release" cargo build --release --locked --timings
        summarize "$(ls -t target/cargo-timings/cargo-timing-*.html | head -n 1)"
    fi
    if [[ "$steps" == *3* ]]; then
        step "warm test" cargo test --locked
    fi
    cd "$repo"
    if [ "${KEEP:-0}" = 1 ]; then
        echo "  kept $dir"
    else
        rm -rf "$dir"
    fi
done
