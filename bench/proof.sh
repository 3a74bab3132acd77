#!/usr/bin/env bash
# Transparency benchmarks (results: docs/benchmarks.md, "## Audit proofs"):
#
#   1. `lifeline audit prove <AUDIT_ID> --format json` for the middle entry of
#      a log of ENTRIES entries (default 100,000 over 12 month files, about
#      600 bytes each), whole process (target: median <= 50 ms).
#   2. `lifeline audit checkpoint` after APPEND new entries on top of a
#      checkpointed log of ENTRIES (incremental: it reads only the new ones).
#
# The log is written by bench/gen_audit_log.py (valid entries, chained and
# hashed as docs/audit-format.md says) into a scratch git repository.
#
#   bench/proof.sh
#   ENTRIES=20000 RUNS=10 bench/proof.sh     # a quick run
#
# Env: ENTRIES, APPEND (default 100), RUNS (default 30), OUT (the directory
# for hyperfine's JSON, default target/bench), CARGO_TARGET_DIR.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
entries="${ENTRIES:-100000}"
append="${APPEND:-100}"
runs="${RUNS:-30}"
target_dir="${CARGO_TARGET_DIR:-target}"
out="${OUT:-$target_dir/bench}"
for tool in hyperfine git python3; do
    command -v "$tool" >/dev/null || { echo "$tool is required (apt-get install -y hyperfine)" >&2; exit 2; }
done
cargo build --release --locked --bin lifeline
bin="$(cd "$target_dir/release" && pwd)/lifeline"
gen="$(pwd)/bench/gen_audit_log.py"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
export LIFELINE_AUDIT_KEY=1111111111111111111111111111111111111111111111111111111111111111
export GITHUB_REPOSITORY=acme/planning

cd "$scratch"
git init -q -b main
echo "== generating $entries entries"
middle="$(python3 "$gen" docs/audit "$entries")"
"$bin" audit checkpoint >/dev/null

echo "== 1. prove $middle of $entries"
hyperfine -N --warmup 3 --runs "$runs" --export-json "$out/audit-prove.json" \
    "$bin audit prove $middle --format json"
"$bin" audit prove "$middle" --format json > proof.json
"$bin" audit public-key > audit.pub
"$bin" audit verify-proof proof.json --public-key audit.pub

echo "== 2. checkpoint after $append new entries on $entries"
hyperfine -N --warmup 1 --runs "$runs" --export-json "$out/audit-checkpoint.json" \
    --prepare "sh -c 'for i in \$(seq $append); do $bin audit log --component bench --operation append >/dev/null; done'" \
    "$bin audit checkpoint"
