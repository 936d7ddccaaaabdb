package collector

import (
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// MetricType is the exposition type of a metric family.
type MetricType string

const (
	Gauge     MetricType = "gauge"
	Counter   MetricType = "counter"
	Histogram MetricType = "histogram"
	Summary   MetricType = "summary"
)

// MetricDef declares one metric family that kubepulse exposes. Every collector
// declares its families through Define so that `kubepulse generate` checks its
// queries against the exporter's real list instead of a copy of it.
type MetricDef struct {
	Name      string
	Help      string
	Type      MetricType
	Labels    []string
	Collector string
}

var (
	defsMu sync.Mutex
	defs   = map[string]*MetricDef{}
)

// Define registers a metric family owned by collector and returns it. It
// panics on a duplicate name because that is a programming error found at init.
func Define(collector, name, help string, typ MetricType, labels ...string) *MetricDef {
	defsMu.Lock()
	defer defsMu.Unlock()
	if _, ok := defs[name]; ok {
		panic(fmt.Sprintf("collector: metric %q defined twice", name))
	}
	d := &MetricDef{Name: name, Help: help, Type: typ, Labels: labels, Collector: collector}
	defs[name] = d
	return d
}

// Definitions returns every declared metric family, sorted by name.
func Definitions() []MetricDef {
	defsMu.Lock()
	defer defsMu.Unlock()
	out := make([]MetricDef, 0, len(defs))
	for _, d := range defs {
		out = append(out, *d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// SeriesNames returns the series names a family produces in exposition
// (a histogram adds _bucket, _sum and _count), for query validation.
func (d *MetricDef) SeriesNames() []string {
	switch d.Type {
	case Histogram:
		return []string{d.Name, d.Name + "_bucket", d.Name + "_sum", d.Name + "_count"}
	case Summary:
		return []string{d.Name, d.Name + "_sum", d.Name + "_count"}
	}
	return []string{d.Name}
}

// Desc returns the client_golang descriptor for collectors that use const metrics.
func (d *MetricDef) Desc() *prometheus.Desc {
	return prometheus.NewDesc(d.Name, d.Help, d.Labels, nil)
}

// Header returns the "# HELP" and "# TYPE" lines for pre-rendered exposition.
func (d *MetricDef) Header() string {
	help := strings.NewReplacer(`\`, `\\`, "\n", `\n`).Replace(d.Help)
	return "# HELP " + d.Name + " " + help + "\n# TYPE " + d.Name + " " + string(d.Type) + "\n"
}
