#!/usr/bin/env bash
# Builds helm (helm.sh/helm/v3 cmd/helm) from Go modules for the chart tests, like
# scripts/control-plane/build.sh: into ${XDG_CACHE_HOME:-~/.cache}/openelb-ts/helm-<version>/,
# reused while go.mod, go.sum and this script hash the same. Prints the binary path last.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
HELM_VERSION=v3.22.0   # keep in step with go.mod
cache=${XDG_CACHE_HOME:-${HOME:?HOME or XDG_CACHE_HOME must be set}/.cache}/openelb-ts
out=$cache/helm-$HELM_VERSION
mkdir -p "$cache"
command -v go >/dev/null || { echo "helm/build.sh: go is not installed (needed to build helm)" >&2; exit 1; }
stamp=$(cd "$here" && cat build.sh go.mod go.sum tools.go | sha256sum | cut -d' ' -f1)

exec 9>"$cache/.helm-build-lock"
flock 9
if [ "$(cat "$out/.stamp" 2>/dev/null)" = "$stamp" ] && [ -x "$out/helm" ]; then
  echo "helm up to date in $out" >&2
  echo "$out/helm"
  exit 0
fi
echo "building helm $HELM_VERSION into $out (first run takes a few minutes)" >&2
start=$(date +%s)
tmp=$(mktemp -d "$cache/.helm-build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
(cd "$here" && go build -trimpath -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION" -o "$tmp/helm" helm.sh/helm/v3/cmd/helm)
mkdir -p "$out"
mv -f "$tmp/helm" "$out/helm"
echo "$stamp" >"$out/.stamp"
echo "built helm in $(( $(date +%s) - start )) s" >&2
echo "$out/helm"
