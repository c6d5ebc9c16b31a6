//go:build tools

// Pins GoBGP's commands (gobgpd, the gobgp CLI) in go.mod/go.sum so build.sh builds them from
// Go modules at a fixed version.
package tools

import (
	_ "github.com/osrg/gobgp/v3/cmd/gobgp"
	_ "github.com/osrg/gobgp/v3/cmd/gobgpd"
)
