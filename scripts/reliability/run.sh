#!/usr/bin/env bash
# The reliability suite at full length (issue 7; RELIABILITY.md): `npm run reliability`.
# The same test files run shortened in `npm test` (scripts/test.sh); here OELB_RELIABILITY=full
# lengthens them (30 s API outages, 500 Service creations with a leader kill, 20 s floods,
# 10 min soak) and every scenario's figures are collected as JSON lines in
# $OELB_RELIABILITY_OUT (default /tmp/openelb-reliability-results.jsonl).
# Needs root (network namespaces, raw sockets) and the control plane binaries (built on first use).
# Pick scenarios by tier: TIERS="netns cluster lab" (default all three).
set -uo pipefail
cd "$(dirname "$0")/../.."

if [ "$(id -u)" != 0 ]; then
  echo "the reliability suite needs root (network namespaces, raw sockets)" >&2
  exit 1
fi
export OELB_RELIABILITY=full
export OELB_RELIABILITY_OUT=${OELB_RELIABILITY_OUT:-${TMPDIR:-/tmp}/openelb-reliability-results.jsonl}
: >"$OELB_RELIABILITY_OUT"

tiers=${TIERS:-"netns cluster lab"}
files=""
for tier in $tiers; do
  files="$files $(find "test/$tier" -name 'reliability-*.test.ts' | sort | tr '\n' ' ')"
done
echo "=== reliability (full): $files"

cp_dir=$(mktemp -d)
cleanup() { npx tsx scripts/control-plane/cli.ts down --state-dir "$cp_dir" >/dev/null 2>&1 || true; rm -rf "$cp_dir"; }
trap cleanup EXIT
trap 'exit 130' INT TERM
if [[ " $tiers " =~ " cluster "|" lab " ]]; then
  cp_out=$(npx tsx scripts/control-plane/cli.ts up --state-dir "$cp_dir") || { echo "control plane failed to start" >&2; exit 1; }
  export OELB_KUBECONFIG OELB_SPEAKER_KUBECONFIG
  OELB_KUBECONFIG=$(echo "$cp_out" | sed -n 's/^KUBECONFIG=//p' | tail -1)
  OELB_SPEAKER_KUBECONFIG=$(echo "$cp_out" | sed -n 's/^SPEAKER_KUBECONFIG=//p' | tail -1)
fi

status=0
# shellcheck disable=SC2086
node --import tsx --test --test-concurrency=1 --test-reporter=spec $files || status=1

echo
echo "=== figures ($OELB_RELIABILITY_OUT)"
cat "$OELB_RELIABILITY_OUT"
exit $status
