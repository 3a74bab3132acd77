#!/usr/bin/env bash
# Installs a lifeline release binary for this runner and puts it on PATH;
# the composite action (action.yml at the repository root) runs it.
#
# The binary is refused unless its SHA-256 matches the release's
# SHA256SUMS. On a platform the release has no binary for (Windows, or an
# unknown architecture) lifeline is built from the action's own source with
# `cargo install --locked`, which is the same commit the workflow pinned.
# A checksum mismatch is never answered with a build: it stops the job.
#
# Environment:
#   LIFELINE_VERSION       release to install, e.g. 0.1.0 [default: the
#                          version in the action's Cargo.toml]
#   LIFELINE_REPOSITORY    owner/name the release belongs to [default:
#                          derived from the action's path]
#   LIFELINE_ACTION_PATH   the action's checkout (github.action_path)
#   LIFELINE_DOWNLOAD_URL  base URL of the release assets [default:
#                          $GITHUB_SERVER_URL/$LIFELINE_REPOSITORY/releases/download/v$LIFELINE_VERSION]
#   LIFELINE_INSTALL_DIR   where the binary goes [default: $RUNNER_TEMP/lifeline/bin]
#   RUNNER_OS, RUNNER_ARCH as GitHub Actions sets them
# Writes `path` and `version` to $GITHUB_OUTPUT and the directory to
# $GITHUB_PATH when those are set.
set -euo pipefail

fail() {
    echo "::error title=lifeline install::$*" >&2
    exit 1
}

action_path=${LIFELINE_ACTION_PATH:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}

version=${LIFELINE_VERSION:-}
if [ -z "$version" ]; then
    version=$(sed -n 's/^version *= *"\([^"]*\)".*/\1/p' "$action_path/Cargo.toml" | head -n 1)
fi
version=${version#v}
case $version in
    '' | *[!0-9A-Za-z.+-]*) fail "not a release version: '$version'" ;;
esac

repository=${LIFELINE_REPOSITORY:-}
if [ -z "$repository" ]; then
    # Actions unpack an action into .../_actions/OWNER/NAME/REF.
    parent=$(dirname "$action_path")
    repository="$(basename "$(dirname "$parent")")/$(basename "$parent")"
fi

case "${RUNNER_OS:-$(uname -s)}/${RUNNER_ARCH:-$(uname -m)}" in
    Linux/X64 | Linux/x86_64) target=x86_64-unknown-linux-musl ;;
    Linux/ARM64 | Linux/aarch64) target=aarch64-unknown-linux-musl ;;
    macOS/ARM64 | Darwin/arm64) target=aarch64-apple-darwin ;;
    macOS/X64 | Darwin/x86_64) target=x86_64-apple-darwin ;;
    *) target= ;;
esac

install_dir=${LIFELINE_INSTALL_DIR:-${RUNNER_TEMP:-${TMPDIR:-/tmp}}/lifeline/bin}
mkdir -p "$install_dir"

if [ -z "$target" ]; then
    command -v cargo >/dev/null ||
        fail "no lifeline release binary for ${RUNNER_OS:-?}/${RUNNER_ARCH:-?} and no cargo to build one"
    echo "no release binary for ${RUNNER_OS:-?}/${RUNNER_ARCH:-?}: building lifeline $version from the action's source"
    root=$(dirname "$install_dir")
    cargo install --locked --quiet --path "$action_path" --root "$root" --bin lifeline
    [ "$root/bin" = "$install_dir" ] || mv "$root/bin/lifeline" "$install_dir/lifeline"
else
    asset="lifeline-v$version-$target"
    base=${LIFELINE_DOWNLOAD_URL:-${GITHUB_SERVER_URL:-https://github.com}/$repository/releases/download/v$version}
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    fetch() {
        curl --fail --silent --show-error --location --proto '=https,http' \
            --retry 3 --retry-delay 2 --connect-timeout 20 \
            --output "$work/$2" "$base/$1" || fail "could not download $base/$1"
    }
    fetch SHA256SUMS SHA256SUMS
    fetch "$asset" "$asset"
    expected=$(awk -v name="$asset" '$2 == name || $2 == "*" name { print $1 }' "$work/SHA256SUMS")
    [ -n "$expected" ] || fail "SHA256SUMS of v$version has no line for $asset"
    if command -v sha256sum >/dev/null; then
        actual=$(sha256sum "$work/$asset" | cut -d ' ' -f 1)
    else
        actual=$(shasum -a 256 "$work/$asset" | cut -d ' ' -f 1)
    fi
    [ "$actual" = "$expected" ] ||
        fail "checksum mismatch for $asset: expected $expected, got $actual; refusing to install it"
    chmod 0755 "$work/$asset"
    mv "$work/$asset" "$install_dir/lifeline"
fi

installed=$("$install_dir/lifeline" --version) || fail "the installed lifeline does not run"
echo "installed $installed to $install_dir"
if [ -n "${GITHUB_PATH:-}" ]; then
    echo "$install_dir" >>"$GITHUB_PATH"
fi
if [ -n "${GITHUB_OUTPUT:-}" ]; then
    {
        echo "path=$install_dir/lifeline"
        echo "version=$version"
    } >>"$GITHUB_OUTPUT"
fi
