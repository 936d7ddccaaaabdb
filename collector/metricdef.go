package collector

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/kubepulse/kubepulse/internal/catalog"
)

// Desc returns the client_golang descriptor of a catalogue family, for
// collectors that send const metrics.
func Desc(f *catalog.Family) *prometheus.Desc {
	return prometheus.NewDesc(f.Name, f.Help, f.Labels, nil)
}
