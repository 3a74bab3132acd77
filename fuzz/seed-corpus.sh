#!/usr/bin/env bash
# Seeds fuzz/corpus/validate with every file under tests/fixtures (and the
# example repository), named by content hash so re-running is idempotent.
# The corpus directory is git-ignored; libFuzzer adds its own finds to it.
set -euo pipefail
cd "$(dirname "$0")/.."
corpus=fuzz/corpus/validate
mkdir -p "$corpus"
n=0
while IFS= read -r -d '' file; do
    sum=$(sha1sum "$file" | cut -d' ' -f1)
    cp "$file" "$corpus/seed-$sum"
    n=$((n + 1))
done < <(find tests/fixtures examples -type f -print0)
echo "seeded $n files into $corpus ($(find "$corpus" -type f | wc -l) files in all)"
