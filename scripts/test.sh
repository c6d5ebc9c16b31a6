#!/usr/bin/env bash
# The README's test command runs this: every tier, none optional. A tier that cannot run
# (not root, a missing tool) fails the run instead of being skipped.
set -uo pipefail
cd "$(dirname "$0")/.."

tiers=${TIERS:-"unit netns cluster lab"}
out=$(mktemp -d)
cp_dir=""
cp_min_dir=""
cleanup() {
  # Stop the run's control planes (if any) even when a tier failed or we were interrupted.
  if [ -n "$cp_dir" ]; then npx tsx scripts/control-plane/cli.ts down --state-dir "$cp_dir" >/dev/null 2>&1 || true; fi
  if [ -n "$cp_min_dir" ]; then npx tsx scripts/control-plane/cli.ts down --state-dir "$cp_min_dir" >/dev/null 2>&1 || true; fi
  rm -rf "$out"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
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

# First gate: the type check and the linter (eslint.config.js), side by side (one core each).
# A failure here stops the run: no tier is worth reading on code that does not type-check.
echo "=== gate: tsc --noEmit and eslint"
npx tsc --noEmit >"$out/tsc.log" 2>&1 &
tsc_pid=$!
npx eslint . >"$out/eslint.log" 2>&1 &
eslint_pid=$!
gate=0
wait "$tsc_pid" || { echo "type check failed (npx tsc --noEmit):" >&2; cat "$out/tsc.log" >&2; gate=1; }
wait "$eslint_pid" || { echo "lint failed (npm run lint):" >&2; cat "$out/eslint.log" >&2; gate=1; }
if [ "$gate" != 0 ]; then
  echo "tests: not run (the type-check/lint gate failed)" >&2
  exit 1
fi

if [ "$(id -u)" != 0 ] && [[ " $tiers " =~ " netns "|" lab " ]]; then
  echo "the netns and lab tiers need root (network namespaces, raw sockets); run as root or with sudo" >&2
  exit 1
fi

# The netns and lab tiers' BGP tests peer with real routers: BIRD and FRR (Debian packages; a
# missing one fails here with the README's apt-get line) and GoBGP, built from Go modules on first
# use (scripts/gobgp/build.sh, cached in ~/.cache/openelb-ts/) before the tiers start, so the
# first build does not count against a test's timeout.
if [[ " $tiers " =~ " netns "|" lab " ]]; then
  npx tsx scripts/kit/bgp/check-tools.ts 'the netns and lab tiers' || exit 1
  if gobgp_out=$(bash scripts/gobgp/build.sh); then
    export OELB_GOBGP_DIR
    OELB_GOBGP_DIR=$(echo "$gobgp_out" | tail -1)
  else
    echo "building GoBGP failed (scripts/gobgp/build.sh): the netns and lab tiers need it" >&2
    exit 1
  fi
fi

# The cluster and lab tiers share ONE control plane (etcd + kube-apiserver on
# loopback, built from Go modules on first use); test files find it through
# OELB_KUBECONFIG / OELB_SPEAKER_KUBECONFIG (scripts/kit/control-plane.ts).
cp_ok=1
if [[ " $tiers " =~ " cluster "|" lab " ]]; then
  cp_dir="$out/control-plane"
  echo "=== control plane: starting (state $cp_dir)"
  if cp_out=$(npx tsx scripts/control-plane/cli.ts up --state-dir "$cp_dir"); then
    export OELB_KUBECONFIG OELB_SPEAKER_KUBECONFIG OELB_STATE_DIR="$cp_dir"
    OELB_KUBECONFIG=$(echo "$cp_out" | sed -n 's/^KUBECONFIG=//p' | tail -1)
    OELB_SPEAKER_KUBECONFIG=$(echo "$cp_out" | sed -n 's/^SPEAKER_KUBECONFIG=//p' | tail -1)
  else
    echo "control plane failed to start: the cluster and lab tiers FAIL (not skipped)" >&2
    cp_ok=0
    status=1
  fi
fi

for tier in $tiers; do
  if [ "$cp_ok" = 0 ] && { [ "$tier" = cluster ] || [ "$tier" = lab ]; }; then
    echo "=== tier: $tier: FAILED (no control plane)" >&2
    continue
  fi
  case $tier in
    unit) run_tier unit 2 ;;
    *) run_tier "$tier" 1 ;;
  esac
done

# The oldest supported Kubernetes minor (README "Kubernetes versions"): a second control plane
# built from its own Go module (scripts/control-plane/build-min.sh) runs the cluster tier's CRD,
# IPAM and RBAC tests again.
MIN_FILES="test/cluster/eip-crd.test.ts test/cluster/bgp-crd.test.ts test/cluster/ipam-rules.test.ts test/cluster/ipam-namespace-selector.test.ts test/cluster/rbac.test.ts"
if [[ " $tiers " =~ " cluster " ]]; then
  cp_min_dir="$out/control-plane-min"
  echo "=== control plane (oldest supported Kubernetes): starting (state $cp_min_dir)"
  if min_out=$(OELB_CONTROL_PLANE=min npx tsx scripts/control-plane/cli.ts up --state-dir "$cp_min_dir"); then
    echo "=== tier: cluster on the oldest supported Kubernetes"
    # shellcheck disable=SC2086
    OELB_STATE_DIR="$cp_min_dir" \
    OELB_KUBECONFIG=$(echo "$min_out" | sed -n 's/^KUBECONFIG=//p' | tail -1) \
    OELB_SPEAKER_KUBECONFIG=$(echo "$min_out" | sed -n 's/^SPEAKER_KUBECONFIG=//p' | tail -1) \
    node --import tsx --test --test-concurrency=1 \
      --test-reporter=spec --test-reporter-destination=stdout \
      --test-reporter=tap --test-reporter-destination="$out/cluster-min.tap" \
      $MIN_FILES || status=1
  else
    echo "control plane (oldest supported Kubernetes) failed to start: FAILED (not skipped)" >&2
    status=1
  fi
fi

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
