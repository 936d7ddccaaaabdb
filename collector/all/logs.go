package all

import (
	"github.com/kubepulse/kubepulse/collector"
	_ "github.com/kubepulse/kubepulse/collector/logs" // --collector.logs
)

// --logs.path says what to read, so giving it enables the collector.
func init() { collector.EnabledBy("logs", "logs.path") }
