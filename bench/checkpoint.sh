#!/usr/bin/env bash
# Checkpoint benchmarks, side by side in one run, each row printed with its
# reference and the ratio (results: docs/benchmarks.md, "## Checkpoints"):
#
#   1. `lifeline checkpoint create` on the sample repository, whole process
#      (target: median <= 15 ms), next to `git status` in the same
#      repository (one git process: the floor of anything that asks git)
#      and `restic backup` of the same protected files into a repository
#      that already holds them.
#   2. A synthetic protected set of FILES files / MB megabytes of random
#      (incompressible) data under docs/sprint-archives/ (default 2,000 files,
#      100 MB): the first checkpoint into an empty store, and a second one with
#      nothing changed (target: second <= 5% of first) — for the git store
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
# Env: FILES, MB, RUNS (timed runs of the large cases, default 10),
# SAMPLE_RUNS (timed runs on the sample repository, default 100), OUT (the
# directory for hyperfine's JSON, default target/bench), CARGO_TARGET_DIR.
set -euo pipefail

# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

echo "== 1. create on the sample repository"
sample="$scratch/sample"
make_sample "$sample"
sample_repo="$scratch/sample-restic"
restic init --quiet --repo "$sample_repo"
restic --repo "$sample_repo" backup --quiet "$sample/planning" "$sample/docs" >/dev/null
(cd "$sample" && hyperfine -N --warmup 10 --runs "$sample_runs" --export-json "$out/checkpoint-sample.json" \
    --command-name "lifeline checkpoint create" \
    "$bin checkpoint create --type task-sync --operation bench" \
    --command-name "git status" \
    "git status --porcelain=v2 --branch -z" \
    --command-name "restic backup (unchanged)" \
    "restic --repo $sample_repo backup --quiet $sample/planning $sample/docs")

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

uptime
python3 - "$out" <<'PY'
import json, sys, os
out = sys.argv[1]
def load(name):
    return {r["command"]: r for r in json.load(open(os.path.join(out, name)))["results"]}
def ms(r):
    return f"{r['median']*1000:.1f} ms ({r['min']*1000:.1f}–{r['max']*1000:.1f})"
sample = load("checkpoint-sample.json")
ours = sample.pop("lifeline checkpoint create")
print("\n1. create on the sample repository (target: median <= 15 ms)")
print("| command | median (min–max) | lifeline / it |")
print("|---|---:|---:|")
print(f"| lifeline checkpoint create | {ms(ours)} | |")
for name, r in sample.items():
    print(f"| {name} | {ms(r)} | {ours['median']/r['median']:.2f}x |")
first, second = load("checkpoint-large-first.json"), load("checkpoint-large-second.json")
restic_first = first["restic backup first"]["median"]
print("\n2. large set: first and unchanged second (target: second <= 5% of first)")
print("| | first (median) | unchanged second (median) | second / first | first / restic's first |")
print("|---|---:|---:|---:|---:|")
for (fk, f), (sk, s) in zip(first.items(), second.items()):
    name = fk.replace(" first", "")
    print(f"| {name} | {f['median']*1000:.0f} ms | {s['median']*1000:.0f} ms | {s['median']/f['median']*100:.1f}% | {f['median']/restic_first:.2f}x |")
PY
