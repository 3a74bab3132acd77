#!/usr/bin/env bash
# Restore benchmarks, side by side in one run (results: docs/benchmarks.md,
# "## Restore"):
#
#   1. `lifeline restore <id> --yes` on the sample repository, whole process,
#      with planning/TASK.md and sprint.config.json broken before each run
#      (target: median <= 30 ms). Each run verifies the checkpoint, takes a
#      pre-restore safety checkpoint, writes, validates and audits.
#   2. The synthetic set bench/checkpoint.sh uses (FILES files / MB megabytes
#      of random data under docs/sprint-archives/, default 2,000 / 100 MB),
#      deleted before each run and restored from a checkpoint — git store and
#      directory store — against `restic restore` of a snapshot of the same
#      files into an empty directory and `cp -a` of them (target: lifeline
#      <= 1.5x `cp -a`), and `cp -a` followed by `sync` (a copy made as
#      durable as lifeline's, which fsyncs every file and directory; `sync`
#      flushes the whole machine's dirty data, so it is an upper bound).
#
#   bench/restore.sh
#   FILES=200 MB=10 RUNS=5 bench/restore.sh     # a quick run
#
# Env: FILES, MB, RUNS (timed runs of the large cases, default 10),
# SAMPLE_RUNS (timed runs on the sample repository, default 100), OUT (the
# directory for hyperfine's JSON, default target/bench), CARGO_TARGET_DIR.
set -euo pipefail

# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

echo "== 1. restore on the sample repository"
sample="$scratch/sample"
make_sample "$sample"
id=$(cd "$sample" && "$bin" checkpoint create --type task-sync --operation bench --quiet)
(cd "$sample" && hyperfine -N --warmup 5 --runs "$sample_runs" --export-json "$out/restore-sample.json" \
    --prepare "sh -c 'echo broken > planning/TASK.md && echo {} > planning/sprint.config.json'" \
    "$bin restore $id --yes --quiet")
git -C "$sample" diff --exit-code -- planning

echo "== 2. $files files, $mb MB"
big="$scratch/big"
make_large_set "$big"
dirstore="$scratch/dirstore"
mkdir -p "$dirstore"
cp -a "$big/docs" "$dirstore/docs"
pristine="$scratch/pristine"
cp -a "$big/docs/sprint-archives" "$pristine"
restic_repo="$scratch/restic-repo"
restic init --quiet --repo "$restic_repo"
restic --repo "$restic_repo" backup --quiet "$pristine"
git -C "$big" init -q -b main
git -C "$big" config user.name bench
git_id=$(cd "$big" && "$bin" checkpoint create --type manual --operation seed --quiet)
dir_id=$("$bin" --root "$dirstore" checkpoint create --type manual --operation seed --quiet)
restored="$scratch/restored"
cd "$big"
hyperfine -N --runs "$runs" --export-json "$out/restore-large.json" \
    --command-name "lifeline restore (git store)" \
    --prepare "rm -rf $big/docs/sprint-archives" \
    "$bin restore $git_id --yes --quiet" \
    --command-name "lifeline restore (directory store)" \
    --prepare "rm -rf $dirstore/docs/sprint-archives" \
    "$bin --root $dirstore restore $dir_id --yes --quiet" \
    --command-name "restic restore" \
    --prepare "rm -rf $restored" \
    "restic --repo $restic_repo restore latest --quiet --target $restored" \
    --command-name "cp -a" \
    --prepare "rm -rf $restored" \
    "cp -a $pristine $restored" \
    --command-name "cp -a && sync" \
    --prepare "rm -rf $restored" \
    "sh -c 'cp -a $pristine $restored && sync'"
diff -r "$pristine" "$big/docs/sprint-archives" && diff -r "$pristine" "$dirstore/docs/sprint-archives"
echo "restored trees are identical to the originals"

uptime
python3 - "$out" <<'PY'
import json, sys, os
out = sys.argv[1]
def load(name):
    return {r["command"]: r for r in json.load(open(os.path.join(out, name)))["results"]}
sample = list(load("restore-sample.json").values())[0]
print(f"\n1. sample repo restore: median {sample['median']*1000:.1f} ms (min {sample['min']*1000:.1f}, max {sample['max']*1000:.1f})")
large = load("restore-large.json")
cp = large["cp -a"]["median"]
print("\n2. large set restored into an emptied folder (target: lifeline <= 1.5x cp -a)")
print("| command | median | min–max | / cp -a |")
print("|---|---:|---:|---:|")
for name, r in large.items():
    print(f"| {name} | {r['median']*1000:.0f} ms | {r['min']*1000:.0f}–{r['max']*1000:.0f} ms | {r['median']/cp:.2f}x |")
PY
