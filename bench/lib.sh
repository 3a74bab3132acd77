# Shared by bench/checkpoint.sh and bench/restore.sh (source it; it is not
# a script of its own): settings, the release build, a scratch directory,
# the sample repository and the synthetic FILES x MB protected set.

cd "$(dirname "${BASH_SOURCE[0]}")/.."
files="${FILES:-2000}"
mb="${MB:-100}"
runs="${RUNS:-10}"
sample_runs="${SAMPLE_RUNS:-100}"
target_dir="${CARGO_TARGET_DIR:-target}"
out="${OUT:-$target_dir/bench}"
for tool in hyperfine restic git python3; do
    command -v "$tool" >/dev/null || { echo "$tool is required (apt-get install -y hyperfine restic)" >&2; exit 2; }
done

cargo build --release --locked --bin lifeline
bin="$(cd "$target_dir" && pwd)/release/lifeline"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.com
export GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.com
export RESTIC_PASSWORD=bench RESTIC_CACHE_DIR="$scratch/restic-cache"

# A committed copy of the sample repository in $1, its files dated an hour
# back (as files in a repository usually are).
make_sample() {
    cp -r examples/sample-repo "$1"
    git -C "$1" init -q -b main
    git -C "$1" add -A
    git -C "$1" commit -q -m sample
    git -C "$1" config user.name bench
    find "$1" -path "$1/.git" -prune -o -type f -exec touch -d '1 hour ago' {} +
}

# $files files of random (incompressible) data, $mb MB in all, under
# $1/docs/sprint-archives/, dated an hour back.
make_large_set() {
    mkdir -p "$1"
    python3 - "$1/docs/sprint-archives" "$files" "$mb" <<'PY'
import os, sys
root, files, mb = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
size = mb * 1024 * 1024 // files
for i in range(files):
    d = os.path.join(root, f"Sprint-{i // 100:02d}")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, f"TASK-{i:04d}.md"), "wb") as f:
        f.write(os.urandom(size))
PY
    find "$1" -type f -exec touch -d '1 hour ago' {} +
    du -sh "$1/docs"
}
