package cluster

import (
	"context"
	"io"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kubepulse/kubepulse/collector"

	"github.com/kubepulse/kubepulse/internal/catalog"
)

var (
	sourceUp       = catalog.SourceUp
	sourceLastSync = catalog.SourceLastSyncTimestampSeconds
)

// Collector serves one kind's pre-rendered store plus the status of the
// sources it reports.
type Collector struct {
	src     *Source
	store   *Store
	sources []string
}

// newCollector wires a collector (node, pod or hpa) to a source.
func newCollector(s *Source, name string, kinds int, sources ...string) *Collector {
	s.require(kinds)
	c := &Collector{src: s, sources: s.claim(name, sources...)}
	switch name {
	case "node":
		c.store = s.nodes.store
		if !s.renderNodes.Swap(true) {
			s.nodes.renderAll()
		}
	case "pod":
		c.store = s.pods.store
		s.renderPods.Store(true)
	case "hpa":
		c.store = s.hpas.store
		s.renderHPAs.Store(true)
	}
	return c
}

// Update sends the status of the sources this collector reports.
func (c *Collector) Update(ch chan<- prometheus.Metric) error {
	for _, src := range c.sources {
		up, last, ok := c.src.sourceState(src)
		if !ok {
			continue
		}
		ch <- prometheus.MustNewConstMetric(collector.Desc(sourceUp), prometheus.GaugeValue, boolValue(up), src)
		ch <- prometheus.MustNewConstMetric(collector.Desc(sourceLastSync), prometheus.GaugeValue, last, src)
	}
	return nil
}

// WriteRaw copies the pre-rendered lines (after rendering nodes whose sums
// changed since the last scrape).
func (c *Collector) WriteRaw(w io.Writer) error {
	switch c.store {
	case c.src.nodes.store:
		c.src.nodes.flush()
	case c.src.pods.store:
		if err := c.store.WriteRaw(w); err != nil {
			return err
		}
		c.src.workloads.flush()
		return c.src.workloads.store.WriteRaw(w)
	}
	return c.store.WriteRaw(w)
}

// Start starts the shared source.
func (c *Collector) Start(ctx context.Context) error { return c.src.Start(ctx) }

// Ready is true once every informer has synced.
func (c *Collector) Ready() bool { return c.src.Synced() }

// NewNodeCollector, NewPodCollector and NewHPACollector wire the three
// collectors to an explicit source (for the integration tier, which builds
// the source with NewSource against its own API server). The node collector
// reports the nodes and pods sources, the pod collector replicasets and jobs
// (and pods when the node collector is absent), the hpa collector hpas.
func NewNodeCollector(s *Source) *Collector {
	return newCollector(s, "node", kindNodes|kindPods, "nodes", "pods")
}

// NewPodCollector: see NewNodeCollector.
func NewPodCollector(s *Source) *Collector {
	return newCollector(s, "pod", kindPods|kindOwners, "pods", "replicasets", "jobs")
}

// NewHPACollector: see NewNodeCollector.
func NewHPACollector(s *Source) *Collector { return newCollector(s, "hpa", kindHPAs, "hpas") }
