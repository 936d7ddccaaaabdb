// Package pdb is the pdb collector: PodDisruptionBudget status, from its own
// informer on the cluster's API client (the shared informers do not watch
// PodDisruptionBudgets).
package pdb

import (
	"context"
	"errors"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"

	"github.com/kubepulse/kubepulse/collector"
	"github.com/kubepulse/kubepulse/internal/catalog"
)

var (
	expectedDesc  = collector.Desc(catalog.PDBExpectedPods)
	currentDesc   = collector.Desc(catalog.PDBCurrentHealthy)
	desiredDesc   = collector.Desc(catalog.PDBDesiredHealthy)
	disruptDesc   = collector.Desc(catalog.PDBDisruptionsAllowed)
	errNotStarted = errors.New("pdb collector not started")
)

// Collector reports every PodDisruptionBudget the cluster selects.
type Collector struct {
	cl collector.Cluster

	mu       sync.Mutex
	informer cache.SharedIndexInformer // nil until Start
}

// New builds the collector on cl; nothing is listed until Start.
func New(cl collector.Cluster) *Collector { return &Collector{cl: cl} }

// Start starts the PodDisruptionBudget informer; it returns at once. The
// shared informers are not needed: Selects reads only the flags.
func (c *Collector) Start(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.informer != nil {
		return errors.New("pdb collector started twice")
	}
	// Resync 0: status changes arrive as watch events.
	c.informer = informers.NewSharedInformerFactory(c.cl.Client(), 0).Policy().V1().PodDisruptionBudgets().Informer()
	go c.informer.Run(ctx.Done())
	return nil
}

// Ready is true once the PodDisruptionBudgets are listed.
func (c *Collector) Ready() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.informer != nil && c.informer.HasSynced()
}

// Update sends four gauges per selected PodDisruptionBudget.
func (c *Collector) Update(ch chan<- prometheus.Metric) error {
	c.mu.Lock()
	inf := c.informer
	c.mu.Unlock()
	if inf == nil {
		return errNotStarted
	}
	for _, o := range inf.GetStore().List() {
		p, ok := o.(*policyv1.PodDisruptionBudget)
		if !ok || !c.cl.Selects(p.Namespace, string(p.UID)) {
			continue
		}
		st := p.Status
		for _, m := range []struct {
			d *prometheus.Desc
			v int32
		}{{expectedDesc, st.ExpectedPods}, {currentDesc, st.CurrentHealthy}, {desiredDesc, st.DesiredHealthy}, {disruptDesc, st.DisruptionsAllowed}} {
			ch <- prometheus.MustNewConstMetric(m.d, prometheus.GaugeValue, float64(m.v), p.Namespace, p.Name)
		}
	}
	return nil
}
