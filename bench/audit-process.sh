#!/usr/bin/env bash
# Whole-process latency of one `lifeline audit log` (target: median <= 5 ms),
# in a scratch git repository, timed with hyperfine (20 warm-up runs, then
# RUNS timed runs, default 300). Two settings: a GitHub Actions step
# (GITHUB_ACTOR set) and a terminal (the actor comes from git config).
#
# With PLAN_LOGGER=DIR (a scratch copy of the plan's scripts/audit_logger.py
# in DIR/scripts/, never committed), the plan's workflow snippet
# `python -c "from scripts.audit_logger import log_workflow_operation; ..."`
# is timed the same way, side by side.
#
#   bench/audit-process.sh
#   PLAN_LOGGER=/tmp/planlogger bench/audit-process.sh
#
# Env: RUNS, OUT (JSON export, default target/bench/audit-process.json),
# CARGO_TARGET_DIR (honoured).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
runs="${RUNS:-300}"
target_dir="${CARGO_TARGET_DIR:-target}"
out="$(realpath -m "${OUT:-$target_dir/bench/audit-process.json}")"
command -v hyperfine >/dev/null || { echo "hyperfine is required (apt-get install hyperfine)" >&2; exit 2; }

cargo build --release --locked --bin lifeline
bin="$(pwd)/$target_dir/release/lifeline"

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
git -C "$scratch" init -q
git -C "$scratch" -c user.name=bench -c user.email=bench@example.com commit -q --allow-empty -m init
git -C "$scratch" config user.name bench
cd "$scratch"
"$bin" audit log --component task-sync --operation workflow_start >/dev/null

mkdir -p "$(dirname "$out")"
hyperfine -N --warmup 20 --runs "$runs" --export-json "$out" \
    "env GITHUB_ACTOR=octobot $bin audit log --component task-sync --operation workflow_start --detail trigger=schedule" \
    "$bin audit log --component task-sync --operation workflow_start --detail trigger=schedule"
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
