#!/usr/bin/env bash
# Whole-process latency of one `lifeline audit log` (target: median <= 4 ms),
# side by side with two references in the same hyperfine run, in a scratch
# git repository (20 warm-up runs, then RUNS timed runs each, default 300):
#
# - floor: `dd` appending one entry-sized line to a file with
#   `conv=fdatasync`: one process start, one append, one fdatasync — what
#   a durable append cannot go below;
# - git: `git rev-parse HEAD`, the smallest git process (what each git
#   process an entry used to start cost).
#
# Two settings: a terminal (the actor comes from git config) and a GitHub
# Actions step (GITHUB_ACTOR set, exported to hyperfine so no extra `env`
# process is timed). Prints the medians and the ratios lifeline / floor
# and lifeline / git.
#
# With PLAN_LOGGER=DIR (a scratch copy of the plan's scripts/audit_logger.py
# in DIR/scripts/, never committed), the plan's workflow snippet
# `python -c "from scripts.audit_logger import log_workflow_operation; ..."`
# is timed the same way.
#
#   bench/audit-process.sh
#   PLAN_LOGGER=/tmp/planlogger bench/audit-process.sh
#
# Env: RUNS, OUT (JSON exports, default target/bench/audit-process*.json),
# CARGO_TARGET_DIR (honoured).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
runs="${RUNS:-300}"
target_dir="${CARGO_TARGET_DIR:-target}"
out="$(realpath -m "${OUT:-$target_dir/bench/audit-process.json}")"
for tool in hyperfine git python3 dd; do
    command -v "$tool" >/dev/null || { echo "$tool is required (apt-get install -y hyperfine)" >&2; exit 2; }
done

cargo build --release --locked --bin lifeline
bin="$(realpath "$target_dir/release/lifeline")"

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
repo="$scratch/repo"
git init -q "$repo"
git -C "$repo" -c user.name=bench -c user.email=bench@example.com commit -q --allow-empty -m init
git -C "$repo" config user.name bench
cd "$repo"
"$bin" audit log --component task-sync --operation workflow_start >/dev/null
# An entry-sized line for the floor, appended outside the repository.
tail -n 1 docs/audit/audit-*.jsonl >"$scratch/line"
floor="dd if=$scratch/line of=$scratch/floor.jsonl oflag=append conv=notrunc,fdatasync status=none"
log="$bin audit log --component task-sync --operation workflow_start --detail trigger=schedule"

mkdir -p "$(dirname "$out")"
# side_by_side SETTING JSON: lifeline, the floor and one git process.
side_by_side() {
    hyperfine -N --warmup 20 --runs "$runs" --export-json "$2" \
        -n "lifeline audit log ($1)" "$log" \
        -n "floor: dd append + fdatasync" "$floor" \
        -n "git rev-parse HEAD" "git rev-parse HEAD"
    python3 - "$2" <<'PY'
import json, sys
results = json.load(open(sys.argv[1]))["results"]
ms = lambda r: r["median"] * 1000
life, floor, git = results
for r in results:
    print(f"  {r['command']:<45} median {ms(r):6.2f} ms  (min {r['min'] * 1000:.2f}, max {r['max'] * 1000:.2f})")
print(f"  lifeline / floor = {ms(life) / ms(floor):.2f}x   lifeline / git = {ms(life) / ms(git):.2f}x")
PY
}
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
side_by_side "actor from git config" "$out"
GITHUB_ACTOR=octobot side_by_side "GITHUB_ACTOR" "${out%.json}-actions.json"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
"$bin" audit verify | head -1

if [ -n "${PLAN_LOGGER:-}" ]; then
    # Its own repository: the plan's entries are not lifeline's format.
    plan="$scratch/plan"
    mkdir -p "$plan/docs"
    cp -r "$PLAN_LOGGER/scripts" "$plan/"
    git -C "$plan" init -q
    git -C "$plan" -c user.name=bench -c user.email=bench@example.com commit -q --allow-empty -m init
    git -C "$plan" config user.name bench
    cd "$plan"
    hyperfine -N --warmup 20 --runs "$runs" --export-json "${out%.json}-plan.json" \
        "python3 -c \"from scripts.audit_logger import log_workflow_operation; log_workflow_operation(component='task-sync', operation='workflow_start', trigger='schedule')\""
fi
