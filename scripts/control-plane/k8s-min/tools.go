//go:build tools

// Package tools pins kube-apiserver of the oldest Kubernetes minor we support (see
// ../build.sh min and README "Kubernetes versions"); kubectl, etcd and the PKI helper come from
// the main build.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
)
