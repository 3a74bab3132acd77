#!/usr/bin/env bash
# What position-independent code costs every lifeline process. The release
# build is a position-independent executable (PIE: Rust's default, and what
# distributions require), so the dynamic loader applies ~24,000 relative
# relocations at each start, writing — and so copying — every page of
# `.data.rel.ro`. This builds the same source as a fixed-address executable
# (`-C relocation-model=static`, into $CARGO_TARGET_DIR/nopie; for this
# measurement only, never shipped) and times both in one hyperfine run:
# `--version` (the bare start) and one `audit log` in a scratch repository
# (a bot step's audit entry). With perf installed, `perf stat` adds task
# clock and page faults. Results and the decision: docs/benchmarks.md,
# "Issue 21: the audit entry and position-independent code".
#
#   bench/pie.sh
#
# Env: RUNS (timed runs each, default 300), OUT (JSON, default
# target/bench/pie.json), CARGO_TARGET_DIR (honoured).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
runs="${RUNS:-300}"
target_dir="$(realpath -m "${CARGO_TARGET_DIR:-target}")"
out="$(realpath -m "${OUT:-$target_dir/bench/pie.json}")"
for tool in hyperfine git python3; do
    command -v "$tool" >/dev/null || { echo "$tool is required (apt-get install -y hyperfine)" >&2; exit 2; }
done

cargo build --release --locked --bin lifeline
host="$(rustc -vV | sed -n 's/^host: //p')"
# With --target the flag reaches only lifeline and its dependencies, not the
# build scripts and proc macros, which are shared objects and must stay PIC.
RUSTFLAGS="-C relocation-model=static" CARGO_TARGET_DIR="$target_dir/nopie" \
    cargo build --release --locked --bin lifeline --target "$host"
pie="$target_dir/release/lifeline"
fixed="$target_dir/nopie/$host/release/lifeline"

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
git init -q "$scratch/repo"
git -C "$scratch/repo" -c user.name=bench -c user.email=bench@example.com commit -q --allow-empty -m init
git -C "$scratch/repo" config user.name bench
cd "$scratch/repo"
entry="audit log --component task-sync --operation workflow_start --detail trigger=schedule"

mkdir -p "$(dirname "$out")"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
hyperfine -N --warmup 30 --runs "$runs" --export-json "$out" \
    -n "PIE: audit log" "$pie $entry" \
    -n "fixed address: audit log" "$fixed $entry" \
    -n "PIE: --version" "$pie --version" \
    -n "fixed address: --version" "$fixed --version" >/dev/null
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$out" <<'PY'
import json, sys
results = json.load(open(sys.argv[1]))["results"]
ms = lambda r: r["median"] * 1000
for r in results:
    print(f"  {r['command']:<28} median {ms(r):6.2f} ms  (min {r['min'] * 1000:.2f}, max {r['max'] * 1000:.2f})")
entry_pie, entry_fixed, version_pie, version_fixed = results
print(f"  PIE / fixed address: audit log {ms(entry_pie) / ms(entry_fixed):.2f}x, --version {ms(version_pie) / ms(version_fixed):.2f}x")
PY

if command -v perf >/dev/null; then
    for bin in "$pie" "$fixed"; do
        # shellcheck disable=SC2086 # $entry is the argument list
        perf stat -x, -e task-clock,page-faults -r 100 "$bin" $entry 2>&1 >/dev/null |
            awk -F, -v b="$bin" '{printf "  %-60s %s %s\n", b, $1, $3}'
    done
fi
if command -v readelf >/dev/null; then
    echo "  relative relocations: PIE $(readelf -rW "$pie" | grep -c R_X86_64_RELATIVE || true), fixed address $(readelf -rW "$fixed" | grep -c R_X86_64_RELATIVE || true)"
fi
