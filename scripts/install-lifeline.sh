#!/usr/bin/env bash
# Installs a lifeline release binary for this runner and puts it on PATH;
# the composite action (action.yml at the repository root) runs it.
#
# Nothing downloaded is trusted on its own. Before the binary runs:
#   - its SHA-256 must equal the line for it in LIFELINE_SHA256SUMS, which
#     action.yml carries at the commit the workflow pinned (a checksum file
#     downloaded beside the binary would prove nothing: whoever can replace
#     the binary can replace it too);
#   - `gh attestation verify` must show that lifeline's release workflow
#     built it, from the release tag, on a GitHub-hosted runner.
# A release whose checksum is not committed yet (the tag's own commit) is
# installed on the attestation alone, with a notice. Downloads are https
# only (http to a loopback address is allowed, for tests). The repository
# is never derived from the action's path. On a platform the release has
# no binary for, lifeline is built from the action's own source with
# `cargo install --locked`, the commit the workflow pinned. A failed check
# is never answered with a build: it stops the job.
#
# Environment:
#   LIFELINE_REPOSITORY    owner/name the release belongs to (required)
#   LIFELINE_VERSION       release to install, e.g. 0.1.0 [default: the
#                          version in the action's Cargo.toml]
#   LIFELINE_SHA256SUMS    committed `sha256sum` lines, `#` comments ignored
#   LIFELINE_ACTION_PATH   the action's checkout (github.action_path)
#   LIFELINE_DOWNLOAD_URL  base URL of the release assets [default:
#                          https://github.com/$LIFELINE_REPOSITORY/releases/download/v$LIFELINE_VERSION]
#   LIFELINE_INSTALL_DIR   where the binary goes [default: $RUNNER_TEMP/lifeline/bin]
#   GH_TOKEN               for gh attestation verify
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
case $repository in
    '') fail "no repository: pass the action's input \`repository: OWNER/lifeline\` (the one in \`uses:\`)" ;;
    /* | */*/* | .* | */.* | */ | *[!A-Za-z0-9._/-]*) fail "not an owner/name repository: '$repository'" ;;
    */*) ;;
    *) fail "not an owner/name repository: '$repository'" ;;
esac

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
    base=${LIFELINE_DOWNLOAD_URL:-https://github.com/$repository/releases/download/v$version}
    case $base in
        https://*) proto='=https' ;;
        # `http://127.0.0.1:1@host/` is `host`: a user name is no loopback.
        http://*@*) fail "refusing to download from $base: https only" ;;
        http://127.0.0.1:* | http://127.0.0.1/* | http://localhost:* | http://localhost/*) proto='=http' ;;
        *) fail "refusing to download from $base: https only" ;;
    esac
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    curl --fail --silent --show-error --location --proto "$proto" --proto-redir '=https' \
        --retry 3 --retry-delay 2 --connect-timeout 20 \
        --output "$work/$asset" "$base/$asset" || fail "could not download $base/$asset"
    if command -v sha256sum >/dev/null; then
        actual=$(sha256sum "$work/$asset" | cut -d ' ' -f 1)
    else
        actual=$(shasum -a 256 "$work/$asset" | cut -d ' ' -f 1)
    fi
    expected=$(printf '%s\n' "${LIFELINE_SHA256SUMS:-}" |
        awk -v name="$asset" '$1 !~ /^#/ && ($2 == name || $2 == "*" name) { print $1 }')
    if [ -n "$expected" ]; then
        [ "$actual" = "$expected" ] ||
            fail "checksum mismatch for $asset: expected $expected (committed in action.yml), got $actual; refusing to install it"
    else
        echo "::notice title=lifeline install::action.yml at this commit has no committed checksum for $asset; relying on its build-provenance attestation alone (pin the commit that adds the v$version checksums)"
    fi
    command -v gh >/dev/null ||
        fail "gh is needed to verify the build-provenance attestation of $asset and is not installed"
    gh attestation verify "$work/$asset" \
        --repo "$repository" \
        --signer-workflow "$repository/.github/workflows/release.yml" \
        --source-ref "refs/tags/v$version" \
        --deny-self-hosted-runners >"$work/attestation.log" 2>&1 || {
        cat "$work/attestation.log" >&2
        fail "the build-provenance attestation of $asset does not verify: not built by $repository's release workflow from v$version; refusing to install it"
    }
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
