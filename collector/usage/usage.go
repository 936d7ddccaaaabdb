// Package usage is the usage collector: container CPU and memory usage read
// from every kubelet's /metrics/resource (or from metrics.k8s.io) on a
// background loop and kept as pre-rendered exposition per node, so that a
// Prometheus scrape only copies bytes.
package usage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
)

// rounder is one background source.
type rounder interface {
	round(ctx context.Context) error
}

type kubeletRounder struct{ k *KubeletSource }

func (r kubeletRounder) round(ctx context.Context) error {
	n, failed := r.k.Round(ctx)
	if n > 0 && failed == n {
		return fmt.Errorf("all %d kubelets failed in the last round", n)
	}
	return nil
}

type apiRounder struct{ m *MetricsAPISource }

func (r apiRounder) round(ctx context.Context) error { return r.m.Round(ctx) }

// Collector runs the background loop and serves the store.
type Collector struct {
	logger   log.Logger
	store    *Store
	src      rounder
	interval time.Duration
	synced   func() bool // the node source is ready to list; may be nil
	start    func(ctx context.Context) error

	ready   atomic.Bool
	lastErr atomic.Pointer[error]
	once    sync.Once
	done    chan struct{}
}

// Deps are what the collector needs from the cluster source.
type Deps struct {
	Nodes    func() []Node                      // kubelet mode
	NodeName string                             // --node; "" reads all nodes
	Synced   func() bool                        // nodes listed at least once; nil means always
	Start    func(ctx context.Context) error    // starts the cluster source; may be nil
	PodNode  func(namespace, pod string) string // metrics-api node label; may be nil
	Lookup   LookupFunc                         // workload labels and limits; nil leaves them empty
	Metrics  MetricsClientFunc                  // metrics-api mode
	// Token is the cluster client's bearer token: out of cluster there is
	// no service-account token file, so kubelets get the kubeconfig's
	// token, as kubectl would send it. "" for none.
	Token string
	// Watch asks the cluster source for the pod and owner informers that
	// Lookup and PodNode read; New calls it for the sources that use them.
	// May be nil.
	Watch func()
}

// New builds the collector for the configured source: the one place that
// decides what --usage.source means.
func New(f Config, d Deps, logger log.Logger) (*Collector, error) {
	if f.Interval <= 0 {
		return nil, fmt.Errorf("--usage.interval must be positive, got %s", f.Interval)
	}
	c := &Collector{logger: logger, store: NewStore(), interval: f.Interval, synced: d.Synced, start: d.Start, done: make(chan struct{})}
	switch f.Source {
	case SourceNone:
		c.ready.Store(true)
	case SourceKubelet:
		d.watch()
		if f.Kubelet.FallbackToken == "" {
			f.Kubelet.FallbackToken = d.Token
		}
		if d.Nodes == nil {
			return nil, errors.New("usage: kubelet source needs a node list")
		}
		k, err := NewKubeletSource(f.Kubelet, d.Nodes, d.NodeName, c.store, logger)
		if err != nil {
			return nil, err
		}
		k.staleAfter = 3 * f.Interval
		k.lookup = d.Lookup
		c.src = kubeletRounder{k: k}
	case SourceMetricsAPI:
		d.watch()
		if d.Metrics == nil {
			return nil, errors.New("usage: metrics-api source needs a client")
		}
		mc, err := d.Metrics()
		if err != nil {
			return nil, fmt.Errorf("--usage.source=metrics-api: %w", err)
		}
		m := NewMetricsAPISource(mc, d.PodNode, d.NodeName, c.store, logger)
		m.lookup = d.Lookup
		c.src = apiRounder{m}
	default:
		return nil, fmt.Errorf("--usage.source: unknown source %q (kubelet, metrics-api or none)", f.Source)
	}
	return c, nil
}

func (d Deps) watch() {
	if d.Watch != nil {
		d.Watch()
	}
}

// Start runs the loop until ctx ends. It returns at once.
func (c *Collector) Start(ctx context.Context) error {
	if c.src == nil {
		return nil
	}
	if c.start != nil {
		if err := c.start(ctx); err != nil {
			return err
		}
	}
	c.once.Do(func() { go c.loop(ctx) })
	return nil
}

func (c *Collector) loop(ctx context.Context) {
	defer close(c.done)
	t := time.NewTicker(c.interval)
	defer t.Stop()
	for {
		if !c.RunOnce(ctx) {
			// The node list is not synced yet: look again soon rather
			// than a whole interval later, so readiness is not delayed.
			select {
			case <-ctx.Done():
				return
			case <-time.After(min(c.interval, time.Second)):
			}
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// RunOnce runs one round now, unless the node source has not synced yet
// (then it returns false). The loop calls it; tests call it directly to stay
// free of timing.
func (c *Collector) RunOnce(ctx context.Context) bool {
	if c.synced != nil && !c.synced() {
		return false
	}
	start := time.Now()
	err := c.src.round(ctx)
	if err != nil {
		level.Warn(c.logger).Log("msg", "usage round failed", "err", err)
		c.lastErr.Store(&err)
	} else {
		c.lastErr.Store(nil)
	}
	level.Debug(c.logger).Log("msg", "usage round done", "duration_seconds", time.Since(start).Seconds(), "series", c.store.Series())
	c.ready.Store(true)
	return true
}

// Ready is true once one round has run (whatever its outcome: a kubelet
// that is down must not keep the exporter unready).
func (c *Collector) Ready() bool { return c.ready.Load() }

// Update sends nothing (every family is pre-rendered) and fails the
// collector when the last round failed entirely.
func (c *Collector) Update(chan<- prometheus.Metric) error {
	if p := c.lastErr.Load(); p != nil {
		return *p
	}
	return nil
}

// WriteRaw streams the pre-rendered families.
func (c *Collector) WriteRaw(w io.Writer) error {
	if c.src == nil {
		return nil
	}
	return c.store.WriteRaw(w)
}

// Store exposes the store, for benchmarks.
func (c *Collector) Store() *Store { return c.store }
