#!/usr/bin/env bash
# Builds kube-apiserver of the oldest Kubernetes minor we support (README "Kubernetes versions")
# from its own Go module (k8s-min/), for the cluster tier's CRD, IPAM and RBAC tests that
# scripts/test.sh runs against a second control plane. kubectl, etcd and the PKI helper are
# copied from the main build (build.sh). Cached in ${XDG_CACHE_HOME:-~/.cache}/openelb-ts/<version>/
# while the inputs hash the same; prints the binary directory as the last line. A separate
# script, not a flavor of build.sh: build.sh hashes itself, and editing it would rebuild the
# main control plane everywhere.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
K8S_VERSION=v1.34.4   # keep in step with k8s-min/go.mod
cache=${XDG_CACHE_HOME:-${HOME:?HOME or XDG_CACHE_HOME must be set}/.cache}/openelb-ts
out=$cache/$K8S_VERSION
mkdir -p "$cache"
command -v go >/dev/null || { echo "build-min.sh: go is not installed (needed to build kube-apiserver)" >&2; exit 1; }

main_dir=$(bash "$here/build.sh" | tail -1)
stamp=$( (cd "$here" && cat build-min.sh k8s-min/go.mod k8s-min/go.sum k8s-min/tools.go; cat "$main_dir/.stamp") | sha256sum | cut -d' ' -f1)
bins="kube-apiserver kubectl etcd pki"

have() {
  [ "$(cat "$out/.stamp" 2>/dev/null)" = "$stamp" ] || return 1
  for b in $bins; do [ -x "$out/$b" ] || return 1; done
}

exec 9>"$cache/.build-min-lock"
flock 9
if have; then
  echo "minimum-version control plane up to date in $out" >&2
  echo "$out"
  exit 0
fi
echo "building kube-apiserver $K8S_VERSION into $out (first run takes several minutes)" >&2
start=$(date +%s)
tmp=$(mktemp -d "$cache/.build-min.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$K8S_VERSION"
ldflags+=" -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$(echo "$K8S_VERSION" | cut -d. -f2)"
(cd "$here/k8s-min" && go build -trimpath -ldflags "$ldflags" -o "$tmp/" k8s.io/kubernetes/cmd/kube-apiserver)
for b in kubectl etcd pki; do cp "$main_dir/$b" "$tmp/$b"; done
mkdir -p "$out"
for b in $bins; do mv -f "$tmp/$b" "$out/$b"; done
echo "$stamp" >"$out/.stamp"
echo "built kube-apiserver $K8S_VERSION in $(( $(date +%s) - start )) s" >&2
echo "$out"
