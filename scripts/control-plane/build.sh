#!/usr/bin/env bash
# Builds the test control plane from Go modules: kube-apiserver and kubectl from
# k8s.io/kubernetes (k8s/), etcd (embedded) and a PKI helper (helper/).
# Binaries go to ${XDG_CACHE_HOME:-~/.cache}/openelb-ts/<k8s-version>/ and are
# reused while the inputs (go.mod, go.sum, sources, this script) hash the same.
# Prints the binary directory as the last line of stdout. Fails loudly.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
K8S_VERSION=v1.36.3   # keep in step with k8s/go.mod
cache=${XDG_CACHE_HOME:-${HOME:?HOME or XDG_CACHE_HOME must be set}/.cache}/openelb-ts
out=$cache/$K8S_VERSION
mkdir -p "$cache"

command -v go >/dev/null || { echo "build.sh: go is not installed (needed to build kube-apiserver/etcd)" >&2; exit 1; }

stamp=$(cd "$here" && cat build.sh k8s/go.mod k8s/go.sum k8s/tools.go helper/go.mod helper/go.sum \
  $(find helper -name '*.go' | sort) | sha256sum | cut -d' ' -f1)
bins="kube-apiserver kubectl etcd pki"

have() {
  [ "$(cat "$out/.stamp" 2>/dev/null)" = "$stamp" ] || return 1
  for b in $bins; do [ -x "$out/$b" ] || return 1; done
}

# One build at a time across processes (parallel test files, CI).
exec 9>"$cache/.build-lock"
flock 9
if have; then
  echo "control-plane binaries up to date in $out" >&2
  echo "$out"
  exit 0
fi

echo "building control plane $K8S_VERSION into $out (first run takes several minutes)" >&2
start=$(date +%s)
tmp=$(mktemp -d "$cache/.build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$K8S_VERSION"
ldflags+=" -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$(echo "$K8S_VERSION" | cut -d. -f2)"
(cd "$here/k8s" && go build -trimpath -ldflags "$ldflags" -o "$tmp/" \
  k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kubectl)
(cd "$here/helper" && go build -trimpath -ldflags "-s -w" -o "$tmp/" ./cmd/etcd ./cmd/pki)
for b in $bins; do [ -x "$tmp/$b" ] || { echo "build.sh: $b was not built" >&2; exit 1; }; done
mkdir -p "$out"
for b in $bins; do mv -f "$tmp/$b" "$out/$b"; done
echo "$stamp" >"$out/.stamp"
echo "built control plane in $(( $(date +%s) - start )) s" >&2
echo "$out"
