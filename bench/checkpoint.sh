#!/usr/bin/env bash
# Checkpoint benchmarks, side by side in one run (results: docs/benchmarks.md,
# "## Checkpoints"):
#
#   1. `lifeline checkpoint create` on the sample repository, whole process
#      (target: median <= 30 ms).
#   2. A synthetic protected set of FILES files / MB megabytes of random
#      (incompressible) data under docs/sprint-archives/ (default 2,000 files,
#      100 MB): the first checkpoint into an empty store, and a second one with
#      nothing changed (target: second <= 10% of first) — for the git store
#      and the directory store, against `restic backup` of the same files
#      (first backup into a fresh repository, then an unchanged one).
#
# The synthetic files are dated an hour back, as files in a repository
# usually are; files modified within the last two seconds are always re-read
# (see src/checkpoint/cache.rs).
#
#   bench/checkpoint.sh
#   FILES=200 MB=10 RUNS=5 bench/checkpoint.sh     # a quick run
#
# Env: FILES, MB, RUNS (timed runs of the large cases, default 10), OUT (the
# directory for hyperfine's JSON, default target/bench), CARGO_TARGET_DIR.
set -euo pipefail

# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

echo "== 1. create on the sample repository"
sample="$scratch/sample"
make_sample "$sample"
(cd "$sample" && hyperfine -N --warmup 10 --runs 100 --export-json "$out/checkpoint-sample.json" \
    "$bin checkpoint create --type task-sync --operation bench")

echo "== 2. $files files, $mb MB"
big="$scratch/big"
make_large_set "$big"
dirstore="$scratch/dirstore"
mkdir -p "$dirstore"
cp -a "$big/docs" "$dirstore/docs"
restic_repo="$scratch/restic-repo"

git -C "$big" init -q -b main
git -C "$big" config user.name bench
cd "$big"
hyperfine -N --runs "$runs" --export-json "$out/checkpoint-large-first.json" \
    --command-name "lifeline first (git store)" \
    --prepare "sh -c 'git for-each-ref --format=\"delete %(refname)\" refs/lifeline | git update-ref --stdin && rm -rf .git/objects/pack/* .git/objects/?? .git/lifeline'" \
    "$bin checkpoint create --type manual --operation first" \
    --command-name "lifeline first (directory store)" \
    --prepare "rm -rf $dirstore/.lifeline" \
    "$bin --root $dirstore checkpoint create --type manual --operation first" \
    --command-name "restic backup first" \
    --prepare "sh -c 'rm -rf $restic_repo $RESTIC_CACHE_DIR && restic init --quiet --repo $restic_repo'" \
    "restic --repo $restic_repo backup --quiet $big/docs"
"$bin" checkpoint create --type manual --operation seed >/dev/null
"$bin" --root "$dirstore" checkpoint create --type manual --operation seed >/dev/null
hyperfine -N --warmup 2 --runs "$runs" --export-json "$out/checkpoint-large-second.json" \
    --command-name "lifeline unchanged (git store)" \
    "$bin checkpoint create --type manual --operation second" \
    --command-name "lifeline unchanged (directory store)" \
    "$bin --root $dirstore checkpoint create --type manual --operation second" \
    --command-name "restic backup unchanged" \
    "restic --repo $restic_repo backup --quiet $big/docs"
"$bin" checkpoint verify latest
"$bin" --root "$dirstore" checkpoint verify latest

python3 - "$out" <<'PY'
import json, sys, os
out = sys.argv[1]
def load(name):
    return {r["command"]: r for r in json.load(open(os.path.join(out, name)))["results"]}
sample = list(load("checkpoint-sample.json").values())[0]
print(f"\nsample repo create: median {sample['median']*1000:.1f} ms (mean {sample['mean']*1000:.1f} ± {sample['stddev']*1000:.1f} ms)")
first, second = load("checkpoint-large-first.json"), load("checkpoint-large-second.json")
print("| | first (median) | unchanged second (median) | second / first |")
print("|---|---:|---:|---:|")
for (fk, f), (sk, s) in zip(first.items(), second.items()):
    name = fk.replace(" first", "")
    print(f"| {name} | {f['median']*1000:.0f} ms | {s['median']*1000:.0f} ms | {s['median']/f['median']*100:.1f}% |")
PY
