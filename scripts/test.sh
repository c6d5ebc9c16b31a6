#!/usr/bin/env bash
# The README's test command runs this: every tier, none optional. A tier that cannot run
# (not root, a missing tool) fails the run instead of being skipped.
set -uo pipefail
cd "$(dirname "$0")/.."

tiers=${TIERS:-"unit netns cluster lab"}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
status=0

run_tier() {
  local tier=$1 concurrency=$2
  local files
  files=$(find "test/$tier" -name '*.test.ts' 2>/dev/null | sort)
  if [ -z "$files" ]; then
    echo "tier $tier: no test files found in test/$tier" >&2
    status=1
    return
  fi
  echo "=== tier: $tier"
  # shellcheck disable=SC2086
  node --import tsx --test --test-concurrency="$concurrency" \
    --test-reporter=spec --test-reporter-destination=stdout \
    --test-reporter=tap --test-reporter-destination="$out/$tier.tap" \
    $files || status=1
}

if [ "$(id -u)" != 0 ] && [[ " $tiers " =~ " netns "|" lab " ]]; then
  echo "the netns and lab tiers need root (network namespaces, raw sockets); run as root or with sudo" >&2
  exit 1
fi

for tier in $tiers; do
  case $tier in
    unit) run_tier unit 2 ;;
    *) run_tier "$tier" 1 ;;
  esac
done

pass=0; fail=0
for f in "$out"/*.tap; do
  [ -f "$f" ] || continue
  p=$(grep -E '^# pass ' "$f" | tail -1 | awk '{print $3}')
  x=$(grep -E '^# fail ' "$f" | tail -1 | awk '{print $3}')
  pass=$((pass + ${p:-0})); fail=$((fail + ${x:-0}))
done
[ "$fail" -gt 0 ] && status=1
echo "tests: $pass passed, $fail failed"
exit $status
