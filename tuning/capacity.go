package tuning

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/kubepulse/kubepulse/loadtest"
	"github.com/kubepulse/kubepulse/loadtest/parse"
)

// LoadWindow is one fixed window of a load test: what the clients saw and
// what the pods used.
type LoadWindow struct {
	Start            time.Time
	Requests, Errors int
	P99              time.Duration
	RPS              float64
	Pods             float64 // pods with CPU samples in the window
	CPUPerPod        float64 // cores, mean over the pods
}

// RPSPerPod is the throughput each pod carried.
func (w LoadWindow) RPSPerPod() float64 {
	if w.Pods == 0 {
		return 0
	}
	return w.RPS / w.Pods
}

// LoadCollector is a parse.Sink that keeps what capacity needs of each
// request: end time, latency and verdict. Bad rows are counted.
type LoadCollector struct {
	samples []loadSample
	Errors  []string
}

type loadSample struct {
	t  time.Time
	d  time.Duration
	ok bool
}

// Sample implements parse.Sink.
func (c *LoadCollector) Sample(s *loadtest.Sample) {
	c.samples = append(c.samples, loadSample{s.Time, s.Elapsed, s.Success})
}

// Users implements parse.Sink; capacity does not need it.
func (c *LoadCollector) Users(string, float64, time.Time) {}

// Bytes implements parse.Sink; capacity does not need it.
func (c *LoadCollector) Bytes(string, string, int64, int64, time.Time) {}

// Error implements parse.Sink.
func (c *LoadCollector) Error(e *parse.Error) { c.Errors = append(c.Errors, e.Error()) }

// Span is the time range of the collected requests.
func (c *LoadCollector) Span() (time.Time, time.Time) {
	if len(c.samples) == 0 {
		return time.Time{}, time.Time{}
	}
	lo, hi := c.samples[0].t, c.samples[0].t
	for _, s := range c.samples {
		if s.t.Before(lo) {
			lo = s.t
		}
		if s.t.After(hi) {
			hi = s.t
		}
	}
	return lo, hi
}

// Windows cuts the requests into fixed windows and adds the pods' CPU
// (all containers of the workload, summed per pod) from containers.
func (c *LoadCollector) Windows(window time.Duration, containers []*Container) []LoadWindow {
	lo, _ := c.Span()
	lo = lo.Truncate(window)
	byIdx := map[int][]loadSample{}
	for _, s := range c.samples {
		i := int(s.t.Sub(lo) / window)
		byIdx[i] = append(byIdx[i], s)
	}
	idx := make([]int, 0, len(byIdx))
	for i := range byIdx {
		idx = append(idx, i)
	}
	sort.Ints(idx)
	out := make([]LoadWindow, 0, len(idx))
	for _, i := range idx {
		ss := byIdx[i]
		w := LoadWindow{Start: lo.Add(time.Duration(i) * window), Requests: len(ss)}
		ds := make([]time.Duration, len(ss))
		for k, s := range ss {
			ds[k] = s.d
			if !s.ok {
				w.Errors++
			}
		}
		sort.Slice(ds, func(a, b int) bool { return ds[a] < ds[b] })
		w.P99 = ds[int(math.Ceil(0.99*float64(len(ds))))-1]
		w.RPS = float64(len(ss)) / window.Seconds()
		from, to := w.Start.UnixMilli(), w.Start.Add(window).UnixMilli()
		perPod := map[string]float64{}
		for _, ct := range containers {
			for _, st := range ct.Streams {
				win := Window(st.CPU, from, to)
				if len(win) == 0 {
					// CPU scraped less often than the window: the rate whose
					// interval covers the window's middle stands for it.
					mid := (from + to) / 2
					i := sort.Search(len(st.CPU), func(i int) bool { return st.CPU[i].T >= mid })
					if i == 0 || i == len(st.CPU) {
						continue
					}
					win = st.CPU[i : i+1]
				}
				var sum float64
				for _, x := range win {
					sum += x.V
				}
				perPod[st.Pod] += sum / float64(len(win))
			}
		}
		for _, v := range perPod {
			w.CPUPerPod += v
		}
		w.Pods = float64(len(perPod))
		if w.Pods > 0 {
			w.CPUPerPod /= w.Pods
		}
		out = append(out, w)
	}
	return out
}

// CapacityOptions are the SLO and the traffic to plan for.
type CapacityOptions struct {
	SLOLatency    time.Duration
	SLOErrorRatio float64
	PeakRPS       float64
	TroughRPS     float64
	// CPURequest is the pod's CPU request (cores, all containers), the
	// denominator of the HPA's utilization.
	CPURequest float64
	// MinRequests is how many requests a window needs for its p99 to mean
	// something (100 puts the p99 on at least one request).
	MinRequests int
	// Reaction is the share of headroom between the HPA target and the
	// knee, for the time the HPA needs to see load and start pods.
	Reaction float64
}

// CapacityResult is the recommendation with the numbers behind it.
type CapacityResult struct {
	Knee              LoadWindow
	KneeUtilization   float64 // percent of the CPU request at the knee
	TargetUtilization int     // percent, for the HPA
	CapacityPerPod    float64 // rps per pod at the target utilization
	MinReplicas       int
	MaxReplicas       int
	Reasoning         []string
}

// Capacity finds the knee, the highest per-pod throughput whose window
// kept p99 latency and errors within the SLO, and sizes an HPA from it.
func Capacity(ws []LoadWindow, o CapacityOptions) (CapacityResult, error) {
	var r CapacityResult
	if o.CPURequest <= 0 {
		return r, errors.New("no CPU request for the workload: give --cpu.request (the HPA's utilization is relative to it)")
	}
	if o.PeakRPS <= 0 || o.TroughRPS < 0 || o.TroughRPS > o.PeakRPS {
		return r, fmt.Errorf("--peak-rps %g and --trough-rps %g: want 0 <= trough <= peak, peak > 0", o.PeakRPS, o.TroughRPS)
	}
	found, withCPU := false, 0
	for _, w := range ws {
		if w.Requests < o.MinRequests || w.Pods == 0 {
			continue
		}
		withCPU++
		if w.P99 > o.SLOLatency || float64(w.Errors) > o.SLOErrorRatio*float64(w.Requests) {
			continue
		}
		if !found || w.RPSPerPod() > r.Knee.RPSPerPod() {
			r.Knee, found = w, true
		}
	}
	switch {
	case withCPU == 0:
		return r, fmt.Errorf("no window of the load test has both %d+ requests and pod CPU samples: is the CPU history for the test's time range and workload?", o.MinRequests)
	case !found:
		return r, fmt.Errorf("no window of the load test met the SLO (p99 <= %s, errors <= %g%%): the knee is below the lowest load tested", o.SLOLatency, 100*o.SLOErrorRatio)
	}
	k := r.Knee
	r.KneeUtilization = 100 * k.CPUPerPod / o.CPURequest
	// The HPA must act before the knee: target a share (1-Reaction) of the
	// knee's utilization, in whole 5% steps, down.
	r.TargetUtilization = int(math.Floor(r.KneeUtilization*(1-o.Reaction)/5) * 5)
	if r.TargetUtilization < 5 {
		return r, fmt.Errorf("the knee is at %.0f%% CPU utilization of the %s request, too low for a CPU HPA: lower the request (see tune resources) or scale on requests per second", r.KneeUtilization, formatCores(o.CPURequest))
	}
	// CPU grows with throughput, so a pod held at the target carries
	// this share of the knee's throughput.
	r.CapacityPerPod = k.RPSPerPod() * float64(r.TargetUtilization) / r.KneeUtilization
	// N+1: at the peak (and at the trough) one pod can be lost, to a node
	// failure or a rollout, without the rest passing the target.
	r.MaxReplicas = int(math.Ceil(o.PeakRPS/r.CapacityPerPod)) + 1
	r.MinReplicas = max(2, int(math.Ceil(o.TroughRPS/r.CapacityPerPod))+1)
	r.Reasoning = []string{
		fmt.Sprintf("knee: %.1f rps per pod (%.1f rps on %.0f pods) in the window at %s, p99 %s <= %s, errors %.2f%% <= %g%%",
			k.RPSPerPod(), k.RPS, k.Pods, k.Start.UTC().Format(time.RFC3339), k.P99, o.SLOLatency, 100*float64(k.Errors)/float64(k.Requests), 100*o.SLOErrorRatio),
		fmt.Sprintf("CPU per pod at the knee: %s = %.0f%% of the %s request", formatCores(k.CPUPerPod), r.KneeUtilization, formatCores(o.CPURequest)),
		fmt.Sprintf("target utilization: %.0f%% x (1 - %.0f%% reaction headroom) = %d%% (5%% steps, down)", r.KneeUtilization, 100*o.Reaction, r.TargetUtilization),
		fmt.Sprintf("capacity per pod at the target: %.1f x %d/%.0f = %.1f rps", k.RPSPerPod(), r.TargetUtilization, r.KneeUtilization, r.CapacityPerPod),
		fmt.Sprintf("maxReplicas: ceil(%g peak rps / %.1f) + 1 for N+1 = %d", o.PeakRPS, r.CapacityPerPod, r.MaxReplicas),
		fmt.Sprintf("minReplicas: max(2, ceil(%g trough rps / %.1f) + 1 for N+1) = %d", o.TroughRPS, r.CapacityPerPod, r.MinReplicas),
	}
	return r, nil
}

// HPAManifest renders an autoscaling/v2 HorizontalPodAutoscaler with the
// reasoning as comments.
func HPAManifest(namespace, kind, name string, r CapacityResult) []byte {
	var b strings.Builder
	b.WriteString("# Generated by kubepulse tune capacity.\n")
	for _, l := range r.Reasoning {
		b.WriteString("# " + l + "\n")
	}
	fmt.Fprintf(&b, `apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: %s
  namespace: %s
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: %s
    name: %s
  minReplicas: %d
  maxReplicas: %d
  metrics:
  - type: Resource
    resource:
      name: cpu
      target:
        type: Utilization
        averageUtilization: %d
`, name, namespace, kind, name, r.MinReplicas, r.MaxReplicas, r.TargetUtilization)
	return []byte(b.String())
}
