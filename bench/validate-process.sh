#!/usr/bin/env bash
# Whole-process latency of `lifeline validate --root examples/sample-repo`:
# process start, config, reading the protected set, every validator, the
# text report, exit. Builds the release binary, then times it with
# hyperfine (10 warm-up runs, then RUNS timed runs, default 300) and prints
# the median. Target: median <= 10 ms.
#
#   bench/validate-process.sh [extra hyperfine args...]
#
# Env: RUNS (timed runs, >= 200), OUT (JSON export path, default
# $CARGO_TARGET_DIR/bench/validate-process.json, i.e. under the git-ignored
# target directory), CARGO_TARGET_DIR (honoured).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

runs="${RUNS:-300}"
target_dir="${CARGO_TARGET_DIR:-target}"
out="${OUT:-$target_dir/bench/validate-process.json}"
root=examples/sample-repo

if ! command -v hyperfine >/dev/null 2>&1; then
    echo "hyperfine not found; installing it with apt-get" >&2
    if [ "$(id -u)" -eq 0 ]; then
        apt-get install -y hyperfine || { apt-get update && apt-get install -y hyperfine; }
    else
        sudo apt-get install -y hyperfine || { sudo apt-get update && sudo apt-get install -y hyperfine; }
    fi
fi

echo "==== building the release binary ===="
cargo build --release --locked --bin lifeline
bin="$target_dir/release/lifeline"
[ -x "$bin" ] || { echo "no binary at $bin" >&2; exit 1; }

# The run must succeed (exit 0) for the timing to mean anything.
echo "==== one run, for the record ===="
"$bin" validate --root "$root"

mkdir -p "$(dirname "$out")"
echo "==== hyperfine: $runs runs ===="
# -N: no intermediate shell, so the figure is the process alone.
hyperfine -N --warmup 10 --runs "$runs" --export-json "$out" "$@" \
    "$bin validate --root $root"

field_ms() { # field_ms median|mean: that statistic of the run, in ms
    if command -v jq >/dev/null 2>&1; then
        jq -r ".results[0].$1 * 1000" "$out"
    else
        python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["results"][0][sys.argv[2]] * 1000)' "$out" "$1"
    fi
}
median_ms=$(field_ms median)
mean_ms=$(field_ms mean)
printf 'median: %.2f ms (mean %.2f ms, %s runs; target <= 10 ms) -> %s\n' \
    "$median_ms" "$mean_ms" "$runs" "$out"
