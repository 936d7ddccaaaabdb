package all

import (
	"github.com/kubepulse/kubepulse/collector"
	_ "github.com/kubepulse/kubepulse/collector/loadtest" // --collector.loadtest
)

// --loadtest.file says what to read, so giving it enables the collector.
func init() { collector.EnabledBy("loadtest", "loadtest.file") }
