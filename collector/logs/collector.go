// Package logs is the logs collector: error counters from the container log
// files under the kubelet log root (/var/log/pods), exact across rotation and
// restart. It needs no API access: namespace, pod and container come from the
// path. See docs/logs.md.
//
// The tailer, by concern: run.go (Tailer, start, stop, the scan loop),
// scan.go (listing the log tree: new and gone pods, containers, files),
// rotate.go (renames, truncation, deletion, recycled inodes), copies.go
// (copytruncate copies), read.go (chunked reads, lag), join.go (CRI P/F and
// docker split lines), match.go (prefilter and rules), resume.go and
// positions.go (positions across restarts), counts.go (what Update reports).
package logs

import (
	"context"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/kubepulse/kubepulse/collector"

	"github.com/kubepulse/kubepulse/internal/catalog"
)

var (
	linesDef       = catalog.LogLinesTotal
	matchesDef     = catalog.LogMatchesTotal
	bytesDef       = catalog.LogBytesTotal
	filesOpenDef   = catalog.LogFilesOpen
	lagDef         = catalog.LogLagBytes
	rotationsDef   = catalog.LogRotationsTotal
	truncationsDef = catalog.LogTruncationsTotal
	truncatedDef   = catalog.LogLinesTruncatedTotal
	errorsDef      = catalog.LogErrorsTotal
)

// WorkloadFunc returns a pod's workload_kind and workload; ok is false when
// the pod is not known.
type WorkloadFunc func(namespace, pod string) (kind, workload string, ok bool)

// Collector exposes a Tailer's counters.
type Collector struct {
	t        *Tailer
	workload WorkloadFunc                    // may be nil: empty labels
	start    func(ctx context.Context) error // starts the workload lookup; may be nil
}

// SetWorkloads adds workload labels from w; start (may be nil) runs with
// Start.
func (c *Collector) SetWorkloads(w WorkloadFunc, start func(context.Context) error) {
	c.workload, c.start = w, start
}

// New builds the collector; a bad rules file fails here, at start-up.
func New(cfg Config, logger log.Logger) (*Collector, error) {
	t, err := NewTailer(cfg, logger)
	if err != nil {
		return nil, err
	}
	return &Collector{t: t}, nil
}

// Tailer returns the underlying tailer (tests, benchmarks).
func (c *Collector) Tailer() *Tailer { return c.t }

// Start implements collector.Starter.
func (c *Collector) Start(ctx context.Context) error {
	if c.start != nil {
		if err := c.start(ctx); err != nil {
			return err
		}
	}
	return c.t.Start(ctx)
}

// Stop implements collector.Stopper: stop reading, write positions.
func (c *Collector) Stop() error { return c.t.Stop() }

// Ready implements collector.Readier.
func (c *Collector) Ready() bool { return c.t.Ready() }

// Update implements collector.Collector.
func (c *Collector) Update(ch chan<- prometheus.Metric) error {
	t := c.t
	ld, md, bd := collector.Desc(linesDef), collector.Desc(matchesDef), collector.Desc(bytesDef)
	for _, ct := range t.snapshot() {
		var wk, w string
		if c.workload != nil {
			wk, w, _ = c.workload(ct.namespace, ct.pod)
		}
		for st := 0; st < numStreams; st++ {
			v := ct.lines[st].Load()
			if v == 0 && st == streamUnknown {
				continue
			}
			ch <- prometheus.MustNewConstMetric(ld, prometheus.CounterValue, float64(v), ct.namespace, ct.pod, ct.name, streamNames[st], wk, w)
		}
		for i, r := range t.rules.rules {
			ch <- prometheus.MustNewConstMetric(md, prometheus.CounterValue, float64(ct.matches[i].Load()), ct.namespace, ct.pod, ct.name, r.name, wk, w)
		}
		ch <- prometheus.MustNewConstMetric(bd, prometheus.CounterValue, float64(ct.bytes.Load()), ct.namespace, ct.pod, ct.name, wk, w)
	}
	h := t.Health()
	ch <- prometheus.MustNewConstMetric(collector.Desc(filesOpenDef), prometheus.GaugeValue, float64(h.FilesOpen))
	ch <- prometheus.MustNewConstMetric(collector.Desc(lagDef), prometheus.GaugeValue, float64(h.LagBytes))
	ch <- prometheus.MustNewConstMetric(collector.Desc(rotationsDef), prometheus.CounterValue, float64(h.Rotations))
	ch <- prometheus.MustNewConstMetric(collector.Desc(truncationsDef), prometheus.CounterValue, float64(h.Truncations))
	ch <- prometheus.MustNewConstMetric(collector.Desc(truncatedDef), prometheus.CounterValue, float64(h.TruncatedLines))
	for _, n := range errReasonNames {
		ch <- prometheus.MustNewConstMetric(collector.Desc(errorsDef), prometheus.CounterValue, float64(h.Errors[n]), n)
	}
	return nil
}
