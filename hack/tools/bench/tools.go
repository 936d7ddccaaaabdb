//go:build tools

// Package tools pins vegeta for the loadtest benchmark (hack/bench/loadtest.sh).
// It lives in its own module so vegeta's dependencies never reach kubepulse's go.mod.
package tools

import (
	_ "github.com/tsenart/vegeta/v12"
)
