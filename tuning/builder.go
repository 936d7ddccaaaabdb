package tuning

import (
	"errors"
	"fmt"
	"sort"

	"github.com/prometheus/prometheus/model/labels"
)

// Source names the series a history is read from.
type Source struct {
	Name          string
	CPU           string // counter of CPU seconds per container
	Memory        string // working-set bytes per container
	Requests      string
	Limits        string
	Owner         string // pod → controller join
	LastTerminate string // last termination reason per container
	HPATarget     string // HPA metric targets
}

// Sources are the two sets of names tune reads.
var (
	SourceKubepulse = Source{
		Name:          "kubepulse",
		CPU:           "kubepulse_container_cpu_usage_seconds_total",
		Memory:        "kubepulse_container_memory_working_set_bytes",
		Requests:      "kubepulse_container_resource_requests",
		Limits:        "kubepulse_container_resource_limits",
		Owner:         "kubepulse_pod_owner",
		LastTerminate: "kubepulse_container_last_terminated_reason",
		HPATarget:     "kubepulse_hpa_target_metric",
	}
	SourceCadvisor = Source{
		Name:          "cadvisor",
		CPU:           "container_cpu_usage_seconds_total",
		Memory:        "container_memory_working_set_bytes",
		Requests:      "kube_pod_container_resource_requests",
		Limits:        "kube_pod_container_resource_limits",
		Owner:         "kube_pod_owner",
		LastTerminate: "kube_pod_container_status_last_terminated_reason",
		HPATarget:     "kube_horizontalpodautoscaler_spec_target_metric",
	}
)

// hpaInfo is kube-state-metrics' HPA → scale target join; kubepulse's
// own HPA series carry no target, so without it an HPA is matched to the
// workload of the same name, the common convention.
const hpaInfo = "kube_horizontalpodautoscaler_info"

// Metrics lists the metric names of s, for queries.
func (s Source) Metrics() []string {
	return []string{s.CPU, s.Memory, s.Requests, s.Limits, s.Owner, s.LastTerminate, s.HPATarget, hpaInfo}
}

type podKey struct{ ns, pod, container string }
type nsName struct{ ns, name string }

type rawStream struct {
	cpu, mem       []Sample
	kind, workload string // from labels on the usage series, when present
}

type owner struct {
	t          int64
	kind, name string
}

// Builder collects raw samples, in any order, and builds a History. It is
// what both inputs (an OpenMetrics file, the Prometheus API) feed.
type Builder struct {
	src       Source
	streams   map[podKey]*rawStream
	requests  map[podKey]map[string]Sample
	limits    map[podKey]map[string]Sample
	owners    map[nsName]owner
	ooms      map[podKey]int64
	hpas      map[nsName]float64
	hpaTarget map[nsName]string
	agg       *aggregation // set by NewAggregator
	// Ignored counts samples of names the builder does not use.
	Ignored int
}

// NewBuilder reads the series names of src.
func NewBuilder(src Source) *Builder {
	return &Builder{src: src, streams: map[podKey]*rawStream{}, requests: map[podKey]map[string]Sample{},
		limits: map[podKey]map[string]Sample{}, owners: map[nsName]owner{}, ooms: map[podKey]int64{},
		hpas: map[nsName]float64{}, hpaTarget: map[nsName]string{}}
}

// Add records one sample of the series ls at t (Unix ms).
func (b *Builder) Add(ls labels.Labels, t int64, v float64) {
	one := [1]Sample{{t, v}}
	b.AddSeries(ls, one[:])
}

// AddSeries records samples of the series ls, in time order when the
// builder aggregates (NewAggregator). The labels are read once per call,
// which is what makes a very large history affordable.
func (b *Builder) AddSeries(ls labels.Labels, samples []Sample) {
	name := ls.Get(labels.MetricName)
	switch name {
	case b.src.CPU, b.src.Memory:
		k, ok := b.key(ls)
		if !ok {
			return
		}
		if b.agg != nil {
			b.agg.add(k, ls, name == b.src.CPU, samples)
			return
		}
		s := b.streams[k]
		if s == nil {
			s = &rawStream{}
			b.streams[k] = s
		}
		if wk := ls.Get("workload"); wk != "" && s.workload == "" {
			s.kind, s.workload = ls.Get("workload_kind"), wk
		}
		if name == b.src.CPU {
			s.cpu = append(s.cpu, samples...)
		} else {
			s.mem = append(s.mem, samples...)
		}
	default:
		for _, x := range samples {
			b.addMeta(name, ls, x.T, x.V)
		}
	}
}

func (b *Builder) addMeta(name string, ls labels.Labels, t int64, v float64) {
	switch name {
	case b.src.Requests, b.src.Limits:
		k, ok := b.key(ls)
		r := ls.Get("resource")
		if !ok || (r != CPU && r != Memory) {
			return
		}
		m := b.requests
		if name == b.src.Limits {
			m = b.limits
		}
		if m[k] == nil {
			m[k] = map[string]Sample{}
		}
		if old, ok := m[k][r]; !ok || t >= old.T {
			m[k][r] = Sample{t, v}
		}
	case b.src.Owner:
		k := nsName{ls.Get("namespace"), ls.Get("pod")}
		if o, ok := b.owners[k]; ok && o.t > t {
			return
		}
		kind, wl := ls.Get("workload_kind"), ls.Get("workload")
		if wl == "" {
			kind, wl = workloadOf(ls.Get("owner_kind"), ls.Get("owner_name"))
		}
		b.owners[k] = owner{t, kind, wl}
	case b.src.LastTerminate:
		k, ok := b.key(ls)
		if !ok || ls.Get("reason") != "OOMKilled" || v != 1 {
			return
		}
		if old, seen := b.ooms[k]; !seen || t < old {
			b.ooms[k] = t
		}
	case b.src.HPATarget:
		if ls.Get("metric_name") == CPU && ls.Get("metric_target_type") == "utilization" {
			b.hpas[nsName{ls.Get("namespace"), hpaName(ls)}] = v
		}
	case hpaInfo:
		if ls.Get("scaletargetref_kind") != "" {
			b.hpaTarget[nsName{ls.Get("namespace"), hpaName(ls)}] = ls.Get("scaletargetref_name")
		}
	default:
		b.Ignored++
	}
}

func hpaName(ls labels.Labels) string {
	if h := ls.Get("hpa"); h != "" {
		return h
	}
	return ls.Get("horizontalpodautoscaler")
}

// key skips cAdvisor's pod-level cgroup series (container "" or "POD"),
// which would count every container twice.
func (b *Builder) key(ls labels.Labels) (podKey, bool) {
	k := podKey{ls.Get("namespace"), ls.Get("pod"), ls.Get("container")}
	return k, k.pod != "" && k.container != "" && k.container != "POD"
}

// History groups the streams by workload and container. It fails when
// there is no usage at all: an empty range is an input error, not an
// empty answer.
func (b *Builder) History() (*History, error) {
	if len(b.streams) == 0 {
		return nil, b.noUsage()
	}
	byID := map[string]*Container{}
	h := &History{}
	first := true
	for k, rs := range b.streams {
		sortSamples(rs.cpu)
		sortSamples(rs.mem)
		c := b.container(byID, k, rs.kind, rs.workload)
		st := &Stream{Pod: k.pod, Memory: rs.mem, CPU: cpuRates(rs.cpu)}
		if t, ok := b.ooms[k]; ok {
			st.OOMs = []Sample{{t, b.oomMemory(k, maxOf(rs.mem))}}
		}
		c.Streams = append(c.Streams, st)
		for _, s := range [][]Sample{rs.cpu, rs.mem} {
			if len(s) == 0 {
				continue
			}
			if first || s[0].T < h.Start {
				h.Start = s[0].T
			}
			if first || s[len(s)-1].T > h.End {
				h.End = s[len(s)-1].T
			}
			first = false
		}
	}
	for _, c := range byID {
		sort.Slice(c.Streams, func(i, j int) bool { return c.Streams[i].Pod < c.Streams[j].Pod })
		h.Containers = append(h.Containers, c)
	}
	sort.Slice(h.Containers, func(i, j int) bool { return h.Containers[i].ID() < h.Containers[j].ID() })
	h.Step = medianStep(h.Containers)
	return h, nil
}

// container returns the Container of pod key k, creating it with its
// current requests, limits and HPA; kind and wl come from labels on the
// usage series when present, else from the owner join.
func (b *Builder) container(byID map[string]*Container, k podKey, kind, wl string) *Container {
	if wl == "" {
		if o, ok := b.owners[nsName{k.ns, k.pod}]; ok && o.name != "" {
			kind, wl = o.kind, o.name
		} else {
			kind, wl = "Pod", k.pod
		}
	}
	c := &Container{Namespace: k.ns, WorkloadKind: kind, Workload: wl, Name: k.container,
		Requests: map[string]float64{}, Limits: map[string]float64{}}
	if old := byID[c.ID()]; old != nil {
		c = old
	} else {
		byID[c.ID()] = c
		hn := c.Workload
		for hk, target := range b.hpaTarget {
			if hk.ns == c.Namespace && target == c.Workload {
				hn = hk.name
			}
		}
		if u, ok := b.hpas[nsName{c.Namespace, hn}]; ok {
			c.HPA = &HPA{Name: hn, TargetCPUUtilization: u}
		}
		c.newest = map[string]int64{}
	}
	// The newest request and limit of any pod is the workload's current one.
	for _, m := range []struct {
		dst map[string]float64
		src map[string]Sample
		tag string
	}{{c.Requests, b.requests[k], "req/"}, {c.Limits, b.limits[k], "lim/"}} {
		for r, s := range m.src {
			if t, ok := c.newest[m.tag+r]; !ok || s.T >= t {
				c.newest[m.tag+r] = s.T
				m.dst[r] = s.V
			}
		}
	}
	return c
}

// oomMemory is the memory a container held when OOM-killed: its limit, or
// the most it was seen using when that is more (or no limit is known).
func (b *Builder) oomMemory(k podKey, seen float64) float64 {
	if l, ok := b.limits[k][Memory]; ok && l.V > seen {
		return l.V
	}
	return seen
}

func sortSamples(s []Sample) {
	if !sort.SliceIsSorted(s, func(i, j int) bool { return s[i].T < s[j].T }) {
		sort.SliceStable(s, func(i, j int) bool { return s[i].T < s[j].T })
	}
}

func maxOf(s []Sample) float64 {
	m := 0.0
	for _, x := range s {
		if x.V > m {
			m = x.V
		}
	}
	return m
}

// ErrNoUsage is matched (errors.Is) by the error History and Recommend
// return when the data holds no usage series at all.
var ErrNoUsage = errors.New("no usage samples")

type noUsageError struct{ msg string }

func (e noUsageError) Error() string        { return e.msg }
func (e noUsageError) Is(target error) bool { return target == ErrNoUsage }

func (b *Builder) noUsage() error {
	return noUsageError{fmt.Sprintf("no samples of %s or %s (is --source=%s right for this data?)", b.src.CPU, b.src.Memory, b.src.Name)}
}
