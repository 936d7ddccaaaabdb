// Package all imports every collector package so that their init functions
// register them. It holds blank imports only: everything else about a
// collector lives in its package's register.go.
package all

import (
	_ "github.com/kubepulse/kubepulse/collector/cluster"  // cluster access; node, pod, hpa
	_ "github.com/kubepulse/kubepulse/collector/loadtest" // loadtest
	_ "github.com/kubepulse/kubepulse/collector/logs"     // logs
	_ "github.com/kubepulse/kubepulse/collector/pdb"      // pdb
	_ "github.com/kubepulse/kubepulse/collector/usage"    // usage
)
