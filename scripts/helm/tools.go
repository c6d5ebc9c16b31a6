//go:build tools

// Pins helm's CLI as a module dependency so `go build helm.sh/helm/v3/cmd/helm` uses go.sum.
package tools

import _ "helm.sh/helm/v3/cmd/helm"
