package tuning

import (
	"fmt"
	"math"
	"time"
)

// Options are the knobs of the kubepulse recommender. DefaultOptions
// explains each default.
type Options struct {
	// HalfLife of the decaying histograms: a sample this old counts half as
	// much as one taken now.
	HalfLife time.Duration
	// CPUPercentile (0..1) of decayed CPU usage, then CPUMargin (a
	// fraction) on top.
	CPUPercentile, CPUMargin float64
	// MemoryInterval is the span of which each pod's peak working set is
	// one histogram sample; MemoryPercentile of those peaks plus
	// MemoryMargin is the request.
	MemoryInterval           time.Duration
	MemoryPercentile         float64
	MemoryMargin             float64
	MemoryHorizon            time.Duration
	OOMBumpRatio, OOMMinBump float64
	MinCPU, MinMemory        float64
	CPULimit, MemoryLimit    LimitPolicy
	MinHistory               time.Duration
	MinSamples               int
	// From and To (Unix ms) restrict the history used; zero means all.
	From, To int64
}

// DefaultOptions are the defaults of `kubepulse tune`.
func DefaultOptions() Options {
	return Options{
		// One day, as the VPA recommender: a diurnal cycle is a day, so the
		// last day's peak still counts fully while last week's fades.
		HalfLife: 24 * time.Hour,
		// CPU is compressible: usage above the request is throttled only
		// when the node is busy, so a high percentile (not the max) keeps
		// throttling rare without paying for every spike. p95 matches KRR
		// simple; the 10% margin covers growth between two runs of tune.
		CPUPercentile: 0.95,
		CPUMargin:     0.10,
		// Memory is not compressible: above the limit the kernel kills.
		// Hourly peaks per pod keep the spikes a 1m sample would still
		// see, and p99 of them (not the max) lets one freak hour out of a
		// week decay away. VPA's 15% margin.
		MemoryInterval:   time.Hour,
		MemoryPercentile: 0.99,
		MemoryMargin:     0.15,
		// A working set that keeps growing (a leak) is projected this far
		// ahead, the usual interval between two runs of tune.
		MemoryHorizon: 24 * time.Hour,
		// After an OOM kill the memory the container held is known to be
		// too little: the VPA recommender's documented bump (x1.2, at
		// least +100MiB).
		OOMBumpRatio: 1.2,
		OOMMinBump:   100 * mi,
		// Floors well under VPA's 25m/250Mi: those are per pod, and a
		// sidecar using 15Mi would be given 250Mi each.
		MinCPU:    0.01,
		MinMemory: 32 * mi,
		// No CPU limit: a limit throttles a container even on an idle node.
		// Memory limit = request: a pod that exceeds its request is the
		// first evicted under pressure anyway; the limit makes it fail
		// alone and visibly (OOMKilled) instead of its neighbours.
		CPULimit:    LimitPolicy{Kind: "none"},
		MemoryLimit: LimitPolicy{Kind: "request"},
		// Less than one diurnal cycle says nothing about the peak hour, and
		// a p95 of fewer than 60 samples rests on its 3 largest.
		MinHistory: 24 * time.Hour,
		MinSamples: 60,
	}
}

// Recommendation is the advice for one resource of one container.
// Quantities are in base units (cores, bytes); nil means unset (current)
// or no recommendation (insufficient data) or no limit.
type Recommendation struct {
	Namespace          string   `json:"namespace" yaml:"namespace"`
	WorkloadKind       string   `json:"workload_kind" yaml:"workload_kind"`
	Workload           string   `json:"workload" yaml:"workload"`
	Container          string   `json:"container" yaml:"container"`
	Resource           string   `json:"resource" yaml:"resource"`
	CurrentRequest     *float64 `json:"current_request" yaml:"current_request"`
	CurrentLimit       *float64 `json:"current_limit" yaml:"current_limit"`
	RecommendedRequest *float64 `json:"recommended_request" yaml:"recommended_request"`
	RecommendedLimit   *float64 `json:"recommended_limit" yaml:"recommended_limit"`
	Reason             string   `json:"reason" yaml:"reason"`
	// Risk is low, medium or high (empty without a recommendation): how
	// likely the recommendation throttles (CPU) or OOM-kills (memory).
	Risk string `json:"risk" yaml:"risk"`
	// Pods is the average number of pods running the container, which
	// turns per-pod request changes into workload totals.
	Pods float64 `json:"pods" yaml:"pods"`
	// Usage is the mean usage per pod over the window.
	Usage float64 `json:"usage" yaml:"usage"`
}

// Recommend returns two recommendations (CPU, then memory) per container
// of h, in the order of h.Containers. It is the API the CLI and the demo
// page share.
func Recommend(h *History, o Options) []Recommendation {
	from, to := o.From, o.To
	if from == 0 && to == 0 {
		from, to = h.Start-1, h.End
	}
	out := make([]Recommendation, 0, 2*len(h.Containers))
	for _, c := range h.Containers {
		cpu, mem := recommendContainer(c, o, from, to, h.Step)
		out = append(out, cpu, mem)
	}
	return out
}

func ptr(v float64) *float64 { return &v }

func current(m map[string]float64, r string) *float64 {
	if v, ok := m[r]; ok {
		return ptr(v)
	}
	return nil
}

// usage collects the samples of one resource of all pods in (from, to].
func usage(c *Container, r string, from, to int64) (all [][]Sample, n int, first, last int64) {
	first, last = math.MaxInt64, math.MinInt64
	for _, s := range c.Streams {
		src := s.CPU
		if r == Memory {
			src = s.Memory
		}
		w := Window(src, from, to)
		if len(w) == 0 {
			continue
		}
		all = append(all, w)
		n += len(w)
		first = min(first, w[0].T)
		last = max(last, w[len(w)-1].T)
	}
	return all, n, first, last
}

func recommendContainer(c *Container, o Options, from, to, step int64) (Recommendation, Recommendation) {
	cpu, mem, pods := fold(c, o, from, to)
	return recommendFrom(c, cpu, mem, pods, o, to)
}

// fold turns the samples of c in (from, to] into the accumulators a
// recommendation is made from, with the same per-stream code the streaming
// Aggregator uses, so both give the same answer.
func fold(c *Container, o Options, from, to int64) (cpu, mem *accum, pods float64) {
	cpu, mem = newAccum(CPU, o), newAccum(Memory, o)
	iv := o.MemoryInterval.Milliseconds()
	for _, s := range c.Streams {
		for _, x := range Window(s.CPU, from, to) {
			cpu.usage(x)
		}
		var ps peakState
		for _, x := range Window(s.Memory, from, to) {
			mem.usage(x)
			ps.add(x, iv, mem)
		}
		ps.flush(mem)
		pods += streamPods(Window(s.Memory, from, to), from, to)
		for _, oom := range Window(s.OOMs, from, to) {
			mem.ooms = append(mem.ooms, podSample{s.Pod, oom})
		}
	}
	return cpu, mem, pods
}

// streamPods is the share of (from, to] a pod's samples cover: the
// average number of pods of a workload is the sum over its pods.
func streamPods(w []Sample, from, to int64) float64 {
	if len(w) == 0 || to <= from {
		return 0
	}
	step := int64(math.MaxInt64)
	for i := 1; i < len(w); i++ {
		step = min(step, w[i].T-w[i-1].T)
	}
	if len(w) == 1 {
		step = 0
	}
	return float64(int64(len(w))*step) / float64(to-from)
}

func recommendFrom(c *Container, cpuAcc, memAcc *accum, pods float64, o Options, to int64) (Recommendation, Recommendation) {
	base := Recommendation{Namespace: c.Namespace, WorkloadKind: c.WorkloadKind, Workload: c.Workload, Container: c.Name,
		Pods: math.Round(pods*1000) / 1000}
	cpu, mem := base, base
	cpu.Resource, mem.Resource = CPU, Memory
	cpu.CurrentRequest, cpu.CurrentLimit = current(c.Requests, CPU), current(c.Limits, CPU)
	mem.CurrentRequest, mem.CurrentLimit = current(c.Requests, Memory), current(c.Limits, Memory)
	recommendCPU(&cpu, c, cpuAcc, o)
	recommendMemory(&mem, memAcc, o, to)
	return cpu, mem
}

// insufficient fills the reason when the window cannot support a
// recommendation; a guess from an hour of data would be worse than none.
func insufficient(r *Recommendation, o Options, a *accum) bool {
	span := time.Duration(a.last-a.first) * time.Millisecond
	switch {
	case a.n == 0:
		r.Reason = "insufficient data: no samples in the window"
	case span < o.MinHistory:
		r.Reason = fmt.Sprintf("insufficient data: %s of history, need %s", dur(span.Round(time.Minute)), dur(o.MinHistory))
	case a.n < o.MinSamples:
		r.Reason = fmt.Sprintf("insufficient data: %d samples, need %d", a.n, o.MinSamples)
	default:
		return false
	}
	return true
}

func recommendCPU(r *Recommendation, c *Container, a *accum, o Options) {
	// Micro-cores: sums in another order differ in the last bits.
	r.Usage = math.Round(a.mean()*1e6) / 1e6
	if insufficient(r, o, a) {
		return
	}
	p := a.h.Percentile(o.CPUPercentile)
	req := RoundUp(CPU, math.Max(p*(1+o.CPUMargin), o.MinCPU))
	r.Reason = fmt.Sprintf("p%g of usage %s (half-life %s) + %g%%", o.CPUPercentile*100, formatCores(p), dur(o.HalfLife), o.CPUMargin*100)
	if c.HPA != nil && r.CurrentRequest != nil {
		// The HPA divides usage by this request: shrinking it to the usage
		// percentile would read as high utilization, add replicas, lower
		// per-pod usage, and the next run would shrink it again (KRR issue
		// #80). Keep the request, and so the utilization the HPA targets.
		r.Reason = fmt.Sprintf("kept: HPA %s scales on %g%% CPU utilization of this request; changing it changes the replica count, not the slack (usage alone would give %s)",
			c.HPA.Name, c.HPA.TargetCPUUtilization, formatCores(req))
		req = *r.CurrentRequest
	}
	r.RecommendedRequest = &req
	r.RecommendedLimit = o.CPULimit.Limit(CPU, req)
	// CPU above the request is throttled only under contention, so the
	// risk is the (decayed) share of time it would have been above it.
	switch f := a.h.FractionAbove(req); {
	case f < 0.01:
		r.Risk = "low"
	case f < 0.05:
		r.Risk = "medium"
	default:
		r.Risk = "high"
	}
}

func recommendMemory(r *Recommendation, a *accum, o Options, to int64) {
	r.Usage = math.Round(a.mean())
	if insufficient(r, o, a) {
		return
	}
	p := a.h.Percentile(o.MemoryPercentile)
	base := p
	r.Reason = fmt.Sprintf("p%g of %s peaks %s + %g%%", o.MemoryPercentile*100, dur(o.MemoryInterval), formatBytes(p), o.MemoryMargin*100)
	risk := "low"
	// A working set that grows steadily will pass any percentile of its
	// past: project it to the end of the horizon instead.
	if slope, ok := a.trend.leak(p); ok {
		proj := a.trend.at(to) + slope*float64(o.MemoryHorizon.Milliseconds())
		if proj > base {
			base = proj
			r.Reason = fmt.Sprintf("grows %s/day (leak?): projected %s in %s + %g%%", formatBytes(slope*864e5), formatBytes(proj), dur(o.MemoryHorizon), o.MemoryMargin*100)
			risk = "high"
		}
	}
	req := math.Max(base*(1+o.MemoryMargin), o.MinMemory)
	// An OOM kill proves the memory then held was too little, whatever the
	// percentile says.
	for _, oom := range a.ooms {
		bump := math.Max(oom.s.V*o.OOMBumpRatio, oom.s.V+o.OOMMinBump)
		if bump > req {
			req = bump
			r.Reason = fmt.Sprintf("OOM-killed at %s in pod %s: +%.0f%% (at least +%s)", formatBytes(oom.s.V), oom.pod, (o.OOMBumpRatio-1)*100, formatBytes(o.OOMMinBump))
		}
		risk = "high"
	}
	req = RoundUp(Memory, req)
	r.RecommendedRequest = &req
	r.RecommendedLimit = o.MemoryLimit.Limit(Memory, req)
	lim := req
	if r.RecommendedLimit != nil {
		lim = *r.RecommendedLimit
	}
	// The largest peak is the largest sample: any sample above the limit
	// would have been an OOM kill.
	if risk == "low" && a.h.Max() > lim {
		risk = "medium"
	}
	r.Risk = risk
}

// intervalPeaks returns the largest sample of each interval of length iv
// (aligned to the epoch, so all pods share boundaries), stamped at the
// interval's end.
func intervalPeaks(w []Sample, iv int64) []Sample {
	var out []Sample
	for _, s := range w {
		b := (s.T-1)/iv*iv + iv
		if len(out) > 0 && out[len(out)-1].T == b {
			out[len(out)-1].V = math.Max(out[len(out)-1].V, s.V)
			continue
		}
		out = append(out, Sample{b, s.V})
	}
	return out
}

// trendFit is a least-squares line through memory peaks. x is in ms from
// a fixed reference (not the first sample), so fits of different pods,
// fed in any order, add up.
type trendFit struct {
	n                     float64
	sx, sy, sxx, sxy, syy float64
}

// trendRef is 2025-01-01; ms from it stay small enough for exact sums.
const trendRef = 1735689600000

func (f *trendFit) add(s Sample) {
	x := float64(s.T - trendRef)
	f.n++
	f.sx += x
	f.sy += s.V
	f.sxx += x * x
	f.sxy += x * s.V
	f.syy += s.V * s.V
}

func (f *trendFit) slope() float64 {
	d := f.n*f.sxx - f.sx*f.sx
	if d == 0 {
		return 0
	}
	return (f.n*f.sxy - f.sx*f.sy) / d
}

func (f *trendFit) at(t int64) float64 {
	b := f.slope()
	a := (f.sy - b*f.sx) / f.n
	return a + b*float64(t-trendRef)
}

// leak reports a growth that explains most of the variation (R² >= 0.8)
// and adds at least 5% of level a day: noise and a flat diurnal pattern
// do neither.
func (f *trendFit) leak(level float64) (float64, bool) {
	if f.n < 24 {
		return 0, false
	}
	b := f.slope()
	vx := f.n*f.sxx - f.sx*f.sx
	vy := f.n*f.syy - f.sy*f.sy
	if b <= 0 || vx <= 0 || vy <= 0 {
		return 0, false
	}
	r := (f.n*f.sxy - f.sx*f.sy)
	r2 := r * r / (vx * vy)
	return b, r2 >= 0.8 && b*864e5 >= 0.05*level
}
