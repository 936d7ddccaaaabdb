package usage

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strconv"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metricsclient "k8s.io/metrics/pkg/client/clientset/versioned"

	"github.com/kubepulse/kubepulse/collector/usage/kubelettext"
)

// MetricsAPISource reads metrics.k8s.io PodMetrics. Those carry CPU as a
// rate averaged over a window, not a counter; this source integrates the
// rate over time into a per-container counter so the exposed family keeps
// counter semantics (rate() over it gives back the average usage). See
// docs/usage.md for the exact rule and its limits.
type MetricsAPISource struct {
	client  metricsclient.Interface
	podNode func(namespace, pod string) string // may be nil: node label is ""
	local   string                             // DaemonSet mode: keep only this node's pods (needs podNode)
	store   *Store
	logger  log.Logger
	state   map[containerKey]*cpuIntegral
	nodes   map[string]*cpuIntegral // the nodes' own CPU counters
	lookup  LookupFunc              // may be nil
}

type containerKey struct{ namespace, pod, container string }

type cpuIntegral struct {
	seconds float64   // integrated core-seconds
	last    time.Time // timestamp of the PodMetrics last integrated
	seen    bool      // present in the latest list
}

// NewMetricsAPISource returns a source over client. podNode resolves a pod's
// node for the node label; it may be nil.
func NewMetricsAPISource(client metricsclient.Interface, podNode func(namespace, pod string) string, local string, store *Store, logger log.Logger) *MetricsAPISource {
	store.mu.Lock()
	store.apiMode = true
	store.mu.Unlock()
	return &MetricsAPISource{client: client, podNode: podNode, local: local, store: store, logger: logger, state: map[containerKey]*cpuIntegral{}, nodes: map[string]*cpuIntegral{}}
}

// Round lists PodMetrics once and replaces the store's content. Only one
// Round runs at a time (the collector loop), so state needs no lock.
func (m *MetricsAPISource) Round(ctx context.Context) error {
	list, err := m.client.MetricsV1beta1().PodMetricses(metav1.NamespaceAll).List(ctx, metav1.ListOptions{})
	if err != nil {
		m.store.mu.Lock()
		m.store.apiErrors++
		m.store.mu.Unlock()
		return fmt.Errorf("listing metrics.k8s.io/v1beta1 PodMetrics: %w; check that metrics-server is installed (kubectl top pods) and the service account may list pods.metrics.k8s.io", err)
	}
	for _, st := range m.state {
		st.seen = false
	}
	items := list.Items
	sort.Slice(items, func(i, j int) bool {
		if items[i].Namespace != items[j].Namespace {
			return items[i].Namespace < items[j].Namespace
		}
		return items[i].Name < items[j].Name
	})
	prev := map[string]map[uint64]cpuPoint{}
	m.store.mu.RLock()
	for node, u := range m.store.usage {
		prev[node] = u.cpuPts
	}
	m.store.mu.RUnlock()
	byNode := map[string]*renderer{}
	bad := 0
	var s kubelettext.Sample
	for i := range items {
		pm := &items[i]
		node := ""
		if m.podNode != nil {
			node = m.podNode(pm.Namespace, pm.Name)
		}
		if m.local != "" && m.podNode != nil && node != m.local {
			continue
		}
		r := byNode[node]
		if r == nil {
			r = newRenderer(false)
			r.reset(node)
			r.lookup, r.prev = m.lookup, prev[node]
			byNode[node] = r
		}
		ts := pm.Timestamp.Time
		window := pm.Window.Duration
		for _, c := range pm.Containers {
			cpuQ, okC := c.Usage[corev1.ResourceCPU]
			memQ, okM := c.Usage[corev1.ResourceMemory]
			if !okC || !okM || c.Name == "" || ts.IsZero() {
				bad++
				level.Warn(m.logger).Log("msg", "skipping PodMetrics container without cpu, memory, name or timestamp; metrics-server answered an incomplete item", "namespace", pm.Namespace, "pod", pm.Name, "container", c.Name)
				continue
			}
			rate := quantityValue(cpuQ, resource.Nano) / 1e9
			mem := quantityValue(memQ, 0)
			if rate < 0 || mem < 0 || math.IsNaN(rate) || math.IsNaN(mem) {
				bad++
				level.Warn(m.logger).Log("msg", "skipping PodMetrics container with a negative usage", "namespace", pm.Namespace, "pod", pm.Name, "container", c.Name, "cpu", cpuQ.String(), "memory", memQ.String())
				continue
			}
			k := containerKey{pm.Namespace, pm.Name, c.Name}
			st := m.state[k]
			if st == nil {
				// First sight: the CPU used inside the reported window is
				// known exactly (rate x window); start the counter there.
				st = &cpuIntegral{seconds: rate * window.Seconds(), last: ts}
				m.state[k] = st
			} else if d := ts.Sub(st.last); d > 0 {
				// The rate is held constant since the previous timestamp.
				st.seconds += rate * d.Seconds()
				st.last = ts
			}
			st.seen = true
			ns, pod, cn := escapeLabel(pm.Namespace), escapeLabel(pm.Name), escapeLabel(c.Name)
			var vb, tb [32]byte
			// The timestamp dates the counter for the CPU limit ratio; it is
			// not exposed (the renderer runs without timestamps).
			s = kubelettext.Sample{Kind: kubelettext.KindCPU, Namespace: ns, Pod: pod, Container: cn, Value: strconv.AppendFloat(vb[:0], st.seconds, 'g', -1, 64),
				Timestamp: strconv.AppendInt(tb[:0], ts.UnixMilli(), 10)}
			r.add(&s)
			s.Kind, s.Value, s.Timestamp = kubelettext.KindMemory, strconv.AppendFloat(vb[:0], mem, 'g', -1, 64), nil
			r.add(&s)
		}
	}
	for k, st := range m.state {
		if !st.seen {
			delete(m.state, k) // pod or container gone: its counter goes too
		}
	}
	bad += m.nodeRound(ctx, byNode, prev)
	now := time.Now()
	m.store.mu.Lock()
	clear(m.store.usage)
	for node, r := range byNode {
		m.store.usage[node] = r.result(now)
	}
	m.store.statsLocked("").bad += float64(bad)
	m.store.mu.Unlock()
	return nil
}

// nodeRound adds the nodes' own usage from NodeMetrics. Its failure is
// counted and logged but keeps the pods' usage of this round.
func (m *MetricsAPISource) nodeRound(ctx context.Context, byNode map[string]*renderer, prev map[string]map[uint64]cpuPoint) (bad int) {
	list, err := m.client.MetricsV1beta1().NodeMetricses().List(ctx, metav1.ListOptions{})
	if err != nil {
		m.store.mu.Lock()
		m.store.apiErrors++
		m.store.mu.Unlock()
		level.Warn(m.logger).Log("msg", "listing metrics.k8s.io/v1beta1 NodeMetrics failed; node usage is missing this round; the service account needs list on nodes.metrics.k8s.io", "err", err)
		return 0
	}
	for _, st := range m.nodes {
		st.seen = false
	}
	var s kubelettext.Sample
	for i := range list.Items {
		nm := &list.Items[i]
		if m.local != "" && nm.Name != m.local {
			continue
		}
		cpuQ, okC := nm.Usage[corev1.ResourceCPU]
		memQ, okM := nm.Usage[corev1.ResourceMemory]
		ts := nm.Timestamp.Time
		rate, mem := quantityValue(cpuQ, resource.Nano)/1e9, quantityValue(memQ, 0)
		if !okC || !okM || nm.Name == "" || ts.IsZero() || rate < 0 || mem < 0 || math.IsNaN(rate) || math.IsNaN(mem) {
			bad++
			level.Warn(m.logger).Log("msg", "skipping NodeMetrics item without a name, a timestamp or a non-negative cpu and memory usage", "node", nm.Name)
			continue
		}
		st := m.nodes[nm.Name]
		if st == nil {
			st = &cpuIntegral{seconds: rate * nm.Window.Duration.Seconds(), last: ts}
			m.nodes[nm.Name] = st
		} else if d := ts.Sub(st.last); d > 0 {
			st.seconds += rate * d.Seconds()
			st.last = ts
		}
		st.seen = true
		r := byNode[nm.Name]
		if r == nil {
			r = newRenderer(false)
			r.reset(nm.Name)
			r.lookup, r.prev = m.lookup, prev[nm.Name]
			byNode[nm.Name] = r
		}
		var vb [32]byte
		s = kubelettext.Sample{Kind: kubelettext.KindNodeCPU, Value: strconv.AppendFloat(vb[:0], st.seconds, 'g', -1, 64)}
		r.add(&s)
		s = kubelettext.Sample{Kind: kubelettext.KindNodeMemory, Value: strconv.AppendFloat(vb[:0], mem, 'g', -1, 64)}
		r.add(&s)
	}
	for n, st := range m.nodes {
		if !st.seen {
			delete(m.nodes, n)
		}
	}
	return bad
}

func quantityValue(q resource.Quantity, scale resource.Scale) float64 {
	if scale == 0 {
		return q.AsApproximateFloat64()
	}
	return float64(q.ScaledValue(scale))
}

func escapeLabel(s string) []byte { return appendEscaped(nil, s) }

// MetricsClientFunc builds the metrics.k8s.io client when the metrics-api
// source is selected, so the kubelet source never needs one.
type MetricsClientFunc func() (metricsclient.Interface, error)
