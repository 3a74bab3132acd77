#!/usr/bin/env bash
# Conformance of lifeline's GitHub requests with GitHub's own API
# description: Prism mocks api.github.com from @octokit/openapi and
# validates every request; lifeline's health cycle (with alerts) runs
# against it. Fails if Prism rejects a request or lifeline cannot use a
# spec-valid answer.
#
# Usage: scripts/github-conformance.sh [path/to/lifeline]
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-$here/target/debug/lifeline}
# The script changes directory; make the binary's path absolute.
bin="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"
[ -x "$bin" ] || { echo "no lifeline binary at $bin (build it first)"; exit 1; }
work=$(mktemp -d)
# Two free loopback ports: Prism's and the proxy's.
read -r prism_port proxy_port < <(python3 -c '
import socket
socks = [socket.socket() for _ in range(2)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in socks])
')
cleanup() {
  kill $(jobs -p) 2>/dev/null || true
  # npx starts Prism as a child that outlives npx itself.
  pkill -f "prism mock .* -p $prism_port " 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "conformance: installing @stoplight/prism-cli and @octokit/openapi"
cd "$work"
npm init -y >/dev/null
npm install --silent --no-audit --no-fund @stoplight/prism-cli@5 @octokit/openapi >/dev/null
spec=node_modules/@octokit/openapi/generated/api.github.com.json

npx prism mock --dynamic --errors -p "$prism_port" "$spec" >prism.log 2>&1 &
python3 "$here/scripts/strip_link_proxy.py" "$proxy_port" "$prism_port" "$work/exchanges.log" &
echo "conformance: waiting for prism (it takes a while to load the description)"
for _ in $(seq 1 180); do
  if curl -sf -o /dev/null http://127.0.0.1:$proxy_port/rate_limit; then break; fi
  sleep 1
done
curl -sf -o /dev/null http://127.0.0.1:$proxy_port/rate_limit || { tail -20 prism.log; echo "prism did not start"; exit 1; }

# A repository with the sample planning files.
mkdir repo && cp -r "$here/examples/sample-repo/." repo/ && cd repo
git init -q && git add -A && git -c user.name=ci -c user.email=ci@example.com commit -qm sample

export GITHUB_API_URL=http://127.0.0.1:$proxy_port
export GITHUB_TOKEN=ghp_conformanceConformanceConformance00
export GITHUB_REPOSITORY=acme/planning
status=0
"$bin" health --alert github --format json >../health.json || status=$?
# The runbook endpoints: disable a workflow, open the follow-up issue,
# then re-enable what the incident disabled.
"$bin" recover --yes sync-failure-cascade --severity P2 --follow-up-issue --format json >../recover.json || status=$?
incident=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["incident"])' ../recover.json)
"$bin" recover --yes resume "$incident" >/dev/null || status=$?
cd ..
if [ "$status" -ge 2 ]; then
  echo "lifeline health failed to run (exit $status)"; cat health.json; exit 1
fi
touch exchanges.log
requests=$(wc -l < exchanges.log)
if [ "$requests" -eq 0 ]; then
  echo "no request reached Prism: the check did not run"; tail -20 prism.log; exit 1
fi
# Prism (--errors) answers a request that breaks the description with a
# 4xx and lists what it broke in sl-violations.
if awk '$3 >= 400 || $4 != "-"' exchanges.log | grep -q .; then
  echo "Prism rejected requests lifeline made (method path status violations):"
  awk '$3 >= 400 || $4 != "-"' exchanges.log
  exit 1
fi
if grep -q '"github-api:' health.json; then
  echo "lifeline could not use a spec-valid answer:"; cat health.json; exit 1
fi
if grep -q 'through the API (' recover.json || ! grep -q '"outcome": "recovered"' recover.json; then
  echo "the runbook could not use the API as described:"; cat recover.json; exit 1
fi
python3 - health.json <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(f"conformance: {r['requests']} requests; {len(r['findings'])} findings; alerts: {[a['action'] for a in r['alerts']]}")
PY
echo "conformance: ok ($requests requests validated by Prism against GitHub's OpenAPI description):"
cut -d' ' -f1-3 exchanges.log | sed 's/^/  /'
