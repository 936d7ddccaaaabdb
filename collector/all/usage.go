package all

import (
	"fmt"

	"github.com/go-kit/log"

	"github.com/kubepulse/kubepulse/collector"
	"github.com/kubepulse/kubepulse/collector/cluster"
	"github.com/kubepulse/kubepulse/collector/usage"
	"github.com/kubepulse/kubepulse/collector/usage/clusterdeps"
)

// The usage collector is wired to the shared cluster source here (through
// clusterdeps), so package usage itself never depends on the informers.
var usageFlags usage.Flags

func init() {
	collector.RegisterFlags(func(f collector.Flagger) { usage.AddFlags(f, &usageFlags) })
	collector.Register("usage", true, func(logger log.Logger) (collector.Collector, error) {
		f := usageFlags
		// Usage needs cluster access. A node-local instance that runs only
		// the logs or loadtest collectors has none, so usage steps aside
		// unless it was asked for by name.
		if !collector.Explicit("usage") && !collector.Enabled("node") && !collector.Enabled("pod") && !collector.Enabled("hpa") {
			return nil, fmt.Errorf("no cluster collector is enabled (give --collector.usage to force it): %w", collector.ErrDisabled)
		}
		// Asked even for --usage.source=none: outside a cluster usage then
		// steps aside with the cluster collectors instead of running empty.
		src, err := cluster.Shared(collector.SharedLogger())
		if err != nil {
			return nil, err
		}
		if f.Source == usage.SourceNone {
			return usage.New(f, usage.Deps{}, logger)
		}
		return usage.New(f, clusterdeps.Deps(src, &f), logger)
	})
}
