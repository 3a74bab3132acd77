#!/usr/bin/env bash
# `lifeline validate` on a generated 100,000-task TASK.md (about 16.3 MB,
# bench/gen_task_md.py), side by side in one hyperfine run with `wc -l` on
# the same file (the cost of reading it) and the team's Python validator
# (validate_tasks.py, which lifeline replaces), then the peak memory of each
# (`/usr/bin/time -v`). Prints the medians, lifeline's throughput and the
# ratios the targets are about:
#
#   lifeline >= 200 MB/s (stretch 500 MB/s), >= 20x the Python validator,
#   peak RSS <= 2x the file.
#
#   bench/validate-large.sh [extra hyperfine args...]
#
# Env: TASKS (rows, default 100000), RUNS (timed runs, default 20),
# REFERENCE_VALIDATOR (path of validate_tasks.py; default
# ../shared/reference/validate_tasks.py next to the repository, the team's
# reference folder; the Python column is skipped when it is absent: its
# code is not part of this repository), OUT (JSON export, default
# $CARGO_TARGET_DIR/bench/validate-large.json), CARGO_TARGET_DIR (honoured),
# BEFORE (path of another lifeline binary, e.g. main's release build: it
# runs in the same hyperfine run and the after/before ratio is printed).
# The file is generated into a temporary directory and deleted afterwards.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

tasks="${TASKS:-100000}"
runs="${RUNS:-20}"
target_dir="${CARGO_TARGET_DIR:-target}"
out="${OUT:-$target_dir/bench/validate-large.json}"
reference="${REFERENCE_VALIDATOR:-../shared/reference/validate_tasks.py}"

for tool in hyperfine python3 /usr/bin/time; do
    command -v "$tool" >/dev/null || {
        echo "$tool is required (apt-get install -y hyperfine time python3)" >&2
        exit 2
    }
done

echo "==== building the release binary ===="
cargo build --release --locked --bin lifeline
bin="$(realpath "$target_dir/release/lifeline")"

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$scratch/planning"
file="$scratch/planning/TASK.md"
python3 bench/gen_task_md.py "$file" "$tasks"
bytes=$(stat -c %s "$file")
echo "generated $tasks tasks: $bytes bytes ($(awk -v b="$bytes" 'BEGIN { printf "%.1f", b / 1e6 }') MB)"

# Every command must pass on the file, or its timing means nothing.
echo "==== one run each, for the record ===="
"$bin" validate --root "$scratch" "$file"
wc -l "$file"
names=(lifeline "wc -l")
commands=("$bin validate --root $scratch $file" "wc -l $file")
if [ -n "${BEFORE:-}" ]; then
    before="$(realpath "$BEFORE")"
    "$before" validate --root "$scratch" "$file"
    names+=(before)
    commands+=("$before validate --root $scratch $file")
fi
if [ -f "$reference" ]; then
    reference="$(cd "$(dirname "$reference")" && pwd)/$(basename "$reference")"
    python3 "$reference" "$file" 2>/dev/null | grep -F "All validations passed" \
        || { echo "the Python validator does not pass the file" >&2; exit 1; }
    names+=(python)
    commands+=("python3 $reference $file")
else
    echo "no Python validator at $reference (set REFERENCE_VALIDATOR): its column is skipped"
fi

mkdir -p "$(dirname "$out")"
echo "==== hyperfine: $runs runs each ($(uptime | sed 's/.*load/load/')) ===="
# -N: no intermediate shell, so each figure is the process alone.
hyperfine -N --warmup 2 --runs "$runs" --export-json "$out" "$@" "${commands[@]}"

echo "==== peak memory (/usr/bin/time -v, median of 3 runs) ===="
rss=()
for i in "${!commands[@]}"; do
    samples=()
    for _ in 1 2 3; do
        # shellcheck disable=SC2086 # the command is a word list on purpose
        kb=$(/usr/bin/time -v ${commands[$i]} 2>&1 >/dev/null |
            sed -n 's/.*Maximum resident set size (kbytes): //p')
        samples+=("$kb")
    done
    rss[$i]=$(printf '%s\n' "${samples[@]}" | sort -n | sed -n 2p)
done

echo "==== results ($(date -u '+%Y-%m-%d %H:%M UTC'), $(uptime | sed 's/.*load/load/')) ===="
python3 - "$out" "$bytes" "${rss[@]}" "${names[@]}" <<'PY'
import json, sys
out, size = sys.argv[1], int(sys.argv[2])
rest = sys.argv[3:]
n = len(rest) // 2
rss, names = [int(k) for k in rest[:n]], rest[n:]
results = json.load(open(out))["results"]
median = {name: r["median"] for name, r in zip(names, results)}
# On a busy machine the wall time includes waiting for a CPU; the CPU
# time (user + system, hyperfine's means) does not.
for name, r, kb in zip(names, results, rss):
    times = r["times"]
    print(f"{name:10} median {r['median'] * 1000:8.1f} ms  (min {min(times) * 1000:.1f}, "
          f"max {max(times) * 1000:.1f})  CPU {(r['user'] + r['system']) * 1000:7.1f} ms  "
          f"peak RSS {kb / 1024:6.1f} MiB = {kb * 1024 / size:.2f}x the file")
lifeline = median["lifeline"]
cpu = results[0]["user"] + results[0]["system"]
print(f"lifeline throughput: {size / lifeline / 1e6:.0f} MB/s of wall time, "
      f"{size / cpu / 1e6:.0f} MB/s of CPU time (target >= 200, stretch 500)")
print(f"lifeline / wc -l: {lifeline / median['wc -l']:.1f}x")
if "before" in median:
    print(f"lifeline / before: {lifeline / median['before']:.2f}x of the wall time")
if "python" in median:
    print(f"python / lifeline: {median['python'] / lifeline:.1f}x (target >= 20)")
print(f"lifeline peak RSS / file: {rss[0] * 1024 / size:.2f}x (target <= 2)")
PY
