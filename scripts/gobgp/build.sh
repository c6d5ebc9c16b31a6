#!/usr/bin/env bash
# Builds GoBGP (github.com/osrg/gobgp/v3: gobgpd and the gobgp CLI) from Go modules, the third
# router of the BGP lab tests next to BIRD and FRR (Debian packages), like scripts/helm/build.sh:
# into ${XDG_CACHE_HOME:-~/.cache}/openelb-ts/gobgp-<version>/, reused while go.mod, go.sum,
# tools.go and this script hash the same. Prints the binary directory last.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
GOBGP_VERSION=v3.37.0   # keep in step with go.mod
cache=${XDG_CACHE_HOME:-${HOME:?HOME or XDG_CACHE_HOME must be set}/.cache}/openelb-ts
out=$cache/gobgp-$GOBGP_VERSION
mkdir -p "$cache"
command -v go >/dev/null || { echo "gobgp/build.sh: go is not installed (needed to build GoBGP)" >&2; exit 1; }
stamp=$(cd "$here" && cat build.sh go.mod go.sum tools.go | sha256sum | cut -d' ' -f1)

exec 9>"$cache/.gobgp-build-lock"
flock 9
if [ "$(cat "$out/.stamp" 2>/dev/null)" = "$stamp" ] && [ -x "$out/gobgpd" ] && [ -x "$out/gobgp" ]; then
  echo "gobgp up to date in $out" >&2
  echo "$out"
  exit 0
fi
echo "building GoBGP $GOBGP_VERSION into $out (first run takes a few minutes)" >&2
start=$(date +%s)
tmp=$(mktemp -d "$cache/.gobgp-build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
for cmd in gobgpd gobgp; do
  (cd "$here" && go build -trimpath -ldflags "-s -w" -o "$tmp/$cmd" "github.com/osrg/gobgp/v3/cmd/$cmd")
done
mkdir -p "$out"
mv -f "$tmp/gobgpd" "$tmp/gobgp" "$out/"
echo "$stamp" >"$out/.stamp"
echo "built GoBGP in $(( $(date +%s) - start )) s" >&2
echo "$out"
