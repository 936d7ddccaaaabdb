// Package rulesbench measures how long each generated recording-rule group
// takes to evaluate on a large cluster: it appends synthetic kubepulse series
// for a whole cluster into an in-process Prometheus TSDB and evaluates the
// groups of prometheus_rules.yaml with the real promql engine and rules
// manager, as a Prometheus server would.
package rulesbench

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"time"

	"github.com/prometheus/common/promslog"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb"
	"golang.org/x/sync/errgroup"
)

// Scale is the shape of the synthetic cluster.
type Scale struct {
	Nodes            int
	Pods             int
	ContainersPerPod int
	Workloads        int // pods are spread evenly over workloads
	Namespaces       int
	HPAs             int // the first HPAs workloads are autoscaled
	// ErrorContainersPct is the share of containers (0-100) that log errors
	// (kubepulse_log_matches_total{rule="error"} grows).
	ErrorContainersPct int
	LoadTestRuns       int
	Job                string // job label of every series
}

// FullScale is the 150k-pod cluster of the benchmark.
var FullScale = Scale{
	Nodes: 5000, Pods: 150000, ContainersPerPod: 2, Workloads: 15000, Namespaces: 500,
	HPAs: 3000, ErrorContainersPct: 20, LoadTestRuns: 2, Job: "kubepulse",
}

// MediumScale is 1/5 of the full size: large enough that per-series costs
// dominate (linear extrapolation to FullScale is x5), small enough to keep
// in the head (about 1 million series).
var MediumScale = Scale{
	Nodes: 1000, Pods: 30000, ContainersPerPod: 2, Workloads: 3000, Namespaces: 100,
	HPAs: 600, ErrorContainersPct: 20, LoadTestRuns: 2, Job: "kubepulse",
}

// SmallScale is for tests: the same shape, 1/50 of the size.
var SmallScale = Scale{
	Nodes: 100, Pods: 3000, ContainersPerPod: 2, Workloads: 300, Namespaces: 10,
	HPAs: 60, ErrorContainersPct: 20, LoadTestRuns: 1, Job: "kubepulse",
}

// kind says how a series' value moves over time.
type kind uint8

const (
	constant kind = iota // base
	wave                 // base * (1 + 0.2*sin(step/7 + phase))
	counter              // base + rate * seconds since start
)

// series is one synthetic series as emitted by Scale.each.
type series struct {
	lset labels.Labels
	kind kind
	base float64
	rate float64 // counter: per second; wave: phase
}

const (
	gib = 1 << 30
	mib = 1 << 20
)

var (
	conditions = []string{"true", "false", "unknown"}
)

// each calls emit for every series of the cluster, in a fixed order, so two
// runs build the same data. Metric names and labels are the exporter's
// (issue 2 and 4 schemas); TestSynthMatchesCatalogue checks them
// against the metric catalogue.
func (s Scale) each(emit func(series)) {
	job := s.Job
	cluster := "kubepulse-0:9850" // the Deployment exporter's instance
	put := func(k kind, base, rate float64, kv ...string) {
		kv = append(kv, "job", job)
		hasInstance := false
		for i := 0; i < len(kv); i += 2 {
			if kv[i] == "instance" {
				hasInstance = true
			}
		}
		if !hasInstance {
			kv = append(kv, "instance", cluster)
		}
		emit(series{lset: labels.FromStrings(kv...), kind: k, base: base, rate: rate})
	}
	// Node requests and limits are the sums over the node's pods, so compute
	// them from the same per-container figures as below.
	nodeReqCPU := make([]float64, s.Nodes)
	nodeReqMem := make([]float64, s.Nodes)
	nodeLimCPU := make([]float64, s.Nodes)
	nodeLimMem := make([]float64, s.Nodes)
	nodeUseCPU := make([]float64, s.Nodes)
	nodeUseMem := make([]float64, s.Nodes)
	type ctr struct{ reqCPU, reqMem, limCPU, limMem, useCPU, useMem float64 }
	containerFigures := func(p, c int) ctr {
		h := hash(uint64(p*8 + c))
		reqCPU := 0.05 + float64(h%20)*0.05 // 50m..1
		reqMem := float64(64+(h>>8)%960) * mib
		// Usage mostly well below requests (the seed's waste), a few near limits.
		useFrac := 0.1 + float64((h>>20)%80)/100
		return ctr{reqCPU, reqMem, reqCPU * 2, reqMem * 1.5, reqCPU * useFrac, reqMem * useFrac}
	}
	for p := 0; p < s.Pods; p++ {
		n := p % s.Nodes
		for c := 0; c < s.ContainersPerPod; c++ {
			f := containerFigures(p, c)
			nodeReqCPU[n] += f.reqCPU
			nodeReqMem[n] += f.reqMem
			nodeLimCPU[n] += f.limCPU
			nodeLimMem[n] += f.limMem
			nodeUseCPU[n] += f.useCPU
			nodeUseMem[n] += f.useMem
		}
	}
	for n := 0; n < s.Nodes; n++ {
		node := fmt.Sprintf("node-%05d", n)
		for _, r := range []struct {
			res, unit             string
			capv, alloc, req, lim float64
		}{
			{"cpu", "core", 16, 15.5, nodeReqCPU[n], nodeLimCPU[n]},
			{"memory", "byte", 64 * gib, 60 * gib, nodeReqMem[n], nodeLimMem[n]},
			{"pods", "integer", 110, 110, 0, 0},
		} {
			put(constant, r.capv, 0, "__name__", "kubepulse_node_capacity", "node", node, "resource", r.res, "unit", r.unit)
			put(constant, r.alloc, 0, "__name__", "kubepulse_node_allocatable", "node", node, "resource", r.res, "unit", r.unit)
			if r.res != "pods" {
				put(constant, r.req, 0, "__name__", "kubepulse_node_requests", "node", node, "resource", r.res, "unit", r.unit)
				put(constant, r.lim, 0, "__name__", "kubepulse_node_limits", "node", node, "resource", r.res, "unit", r.unit)
			}
		}
		for _, cond := range []string{"Ready", "MemoryPressure", "DiskPressure", "PIDPressure"} {
			for _, st := range conditions {
				v := 0.0
				if (cond == "Ready") == (st == "true") && st != "unknown" {
					v = 1
				}
				put(constant, v, 0, "__name__", "kubepulse_node_condition", "node", node, "condition", cond, "status", st)
			}
		}
		put(constant, 0, 0, "__name__", "kubepulse_node_unschedulable", "node", node)
		put(constant, 1, 0, "__name__", "kubepulse_node_info", "node", node, "kubelet_version", "v1.37.2",
			"container_runtime", "containerd://2.1.0", "os_image", "Ubuntu 24.04", "zone", fmt.Sprintf("zone-%d", n%3), "instance_type", "m7i.4xlarge")
		put(counter, 0, 0, "__name__", "kubepulse_kubelet_scrape_errors_total", "node", node)
		// The node's own usage: its containers plus system daemons.
		put(counter, 1e6, nodeUseCPU[n]+0.5, "__name__", "kubepulse_node_cpu_usage_seconds_total", "node", node)
		put(wave, nodeUseMem[n]+2*gib, float64(n), "__name__", "kubepulse_node_memory_working_set_bytes", "node", node)
		// Per-node DaemonSet exporter (logs collector): its own health.
		inst := fmt.Sprintf("10.%d.%d.%d:9850", n/65536, (n/256)%256, n%256)
		put(wave, 2*float64(s.Pods/s.Nodes), float64(n), "__name__", "kubepulse_log_files_open", "instance", inst)
		put(wave, 1000, float64(n), "__name__", "kubepulse_log_lag_bytes", "instance", inst)
		put(counter, 0, 0, "__name__", "kubepulse_log_rotations_total", "instance", inst)
		put(counter, 0, 0, "__name__", "kubepulse_log_truncations_total", "instance", inst)
		put(constant, 1, 0, "__name__", "kubepulse_scrape_collector_success", "instance", inst, "collector", "logs")
		put(wave, 0.01, float64(n), "__name__", "kubepulse_scrape_collector_duration_seconds", "instance", inst, "collector", "logs")
	}
	for _, c := range []string{"node", "pod", "hpa", "usage"} {
		put(constant, 1, 0, "__name__", "kubepulse_scrape_collector_success", "collector", c)
		put(wave, 0.2, 1, "__name__", "kubepulse_scrape_collector_duration_seconds", "collector", c)
	}
	for _, src := range []string{"hpas", "jobs", "nodes", "pods", "replicasets"} {
		put(constant, 1, 0, "__name__", "kubepulse_source_up", "source", src)
		put(counter, 1.7e9, 1, "__name__", "kubepulse_source_last_sync_timestamp_seconds", "source", src)
	}

	podsPerWorkload := (s.Pods + s.Workloads - 1) / s.Workloads
	// Per-workload sums, exported by the exporter next to the container
	// series (kubepulse_workload_*).
	type wlSum struct {
		ns, kind, name                 string
		pods                           int
		reqCPU, reqMem, limCPU, limMem float64
		mem, podMaxMem                 float64
	}
	var wlSums []wlSum
	for p := 0; p < s.Pods; p++ {
		w := p / podsPerWorkload
		ns := fmt.Sprintf("ns-%03d", w%s.Namespaces)
		wl := fmt.Sprintf("app-%05d", w)
		wkind, okind, oname := "Deployment", "ReplicaSet", wl+"-7d9f8b6c5"
		switch w % 20 {
		case 18:
			wkind, okind, oname = "StatefulSet", "StatefulSet", wl
		case 19:
			wkind, okind, oname = "DaemonSet", "DaemonSet", wl
		}
		// Names as Kubernetes makes them: StatefulSet ordinals, otherwise a
		// 5-character suffix from the apiserver's alphabet.
		pod := fmt.Sprintf("%s-%d", oname, p%podsPerWorkload)
		if wkind != "StatefulSet" {
			pod = oname + "-" + podSuffix(p)
		}
		node := fmt.Sprintf("node-%05d", p%s.Nodes)
		n := p % s.Nodes
		inst := fmt.Sprintf("10.%d.%d.%d:9850", n/65536, (n/256)%256, n%256)
		put(constant, 1, 0, "__name__", "kubepulse_pod_owner", "namespace", ns, "pod", pod,
			"owner_kind", okind, "owner_name", oname, "workload_kind", wkind, "workload", wl)
		if len(wlSums) <= w {
			wlSums = append(wlSums, wlSum{ns: ns, kind: wkind, name: wl})
		}
		ws := &wlSums[w]
		ws.pods++
		podKV := []string{"namespace", ns, "pod", pod, "workload_kind", wkind, "workload", wl}
		// One pod in 200 waits for the scheduler (as if it were Pending;
		// its other series stay, the bench's shape needs no gap).
		if p%200 == 7 {
			put(constant, 1.7e9, 0, append([]string{"__name__", "kubepulse_pod_pending_since_timestamp_seconds"}, podKV...)...)
			put(constant, 1, 0, append([]string{"__name__", "kubepulse_pod_unschedulable"}, podKV...)...)
		}
		// The exporter writes the current phase only, value 1.
		put(constant, 1, 0, "__name__", "kubepulse_pod_phase", "namespace", ns, "pod", pod, "phase", "Running")
		podMem := 0.0
		for c := 0; c < s.ContainersPerPod; c++ {
			ctrName := "app"
			if c > 0 {
				ctrName = fmt.Sprintf("sidecar-%d", c)
			}
			f := containerFigures(p, c)
			ws.reqCPU += f.reqCPU
			ws.reqMem += f.reqMem
			ws.limCPU += f.limCPU
			ws.limMem += f.limMem
			ws.mem += f.useMem
			podMem += f.useMem
			// Every container series carries its workload (the exporter
			// does the join).
			base := []string{"namespace", ns, "pod", pod, "container", ctrName, "workload_kind", wkind, "workload", wl}
			withNode := append(append([]string{}, base...), "node", node)
			for _, r := range []struct {
				res, unit string
				req, lim  float64
			}{{"cpu", "core", f.reqCPU, f.limCPU}, {"memory", "byte", f.reqMem, f.limMem}} {
				put(constant, r.req, 0, append([]string{"__name__", "kubepulse_container_resource_requests", "resource", r.res, "unit", r.unit}, withNode...)...)
				put(constant, r.lim, 0, append([]string{"__name__", "kubepulse_container_resource_limits", "resource", r.res, "unit", r.unit}, withNode...)...)
			}
			put(counter, 1000*f.useCPU, f.useCPU, append([]string{"__name__", "kubepulse_container_cpu_usage_seconds_total"}, withNode...)...)
			put(wave, f.useMem, float64(p), append([]string{"__name__", "kubepulse_container_memory_working_set_bytes"}, withNode...)...)
			// The exporter's per-container ratios against the limits.
			put(wave, f.useMem/f.limMem, float64(p), append([]string{"__name__", "kubepulse_container_memory_working_set_limit_ratio"}, base...)...)
			put(wave, f.useCPU/f.limCPU, float64(p), append([]string{"__name__", "kubepulse_container_cpu_usage_limit_ratio"}, base...)...)
			h := hash(uint64(p*8 + c + 3))
			if h%100 == 1 {
				put(constant, 1, 0, append([]string{"__name__", "kubepulse_container_waiting_reason", "reason", "CrashLoopBackOff"}, base...)...)
			}
			restarts := 0.0
			if h%100 == 0 {
				restarts = float64(1 + h%7)
				put(constant, 1, 0, append([]string{"__name__", "kubepulse_container_last_terminated_reason", "reason", "OOMKilled"}, base...)...)
				put(constant, 1.7e9, 0, append([]string{"__name__", "kubepulse_container_last_terminated_timestamp_seconds", "reason", "OOMKilled"}, base...)...)
			}
			put(constant, restarts, 0, append([]string{"__name__", "kubepulse_container_restarts_total"}, base...)...)
			// Log counters come from the node's DaemonSet exporter, which
			// creates every stream and rule series of a container at once.
			logKV := append(append([]string{}, base...), "instance", inst)
			lines := float64(1 + h%20)
			put(counter, 1e4, lines, append([]string{"__name__", "kubepulse_log_lines_total", "stream", "stdout"}, logKV...)...)
			put(counter, 1e2, lines/10, append([]string{"__name__", "kubepulse_log_lines_total", "stream", "stderr"}, logKV...)...)
			put(counter, 1e6, lines*120, append([]string{"__name__", "kubepulse_log_bytes_total"}, logKV...)...)
			errRate := 0.0
			if int(h>>12%100) < s.ErrorContainersPct {
				errRate = lines * 0.01
			}
			// The default rule set is the one rule "error".
			put(counter, 10, errRate, append([]string{"__name__", "kubepulse_log_matches_total", "rule", "error"}, logKV...)...)
		}
		ws.podMaxMem = max(ws.podMaxMem, podMem)
	}
	for _, ws := range wlSums {
		kv := []string{"namespace", ws.ns, "workload_kind", ws.kind, "workload", ws.name}
		put(constant, float64(ws.pods), 0, append([]string{"__name__", "kubepulse_workload_pods"}, kv...)...)
		for _, r := range []struct {
			res, unit string
			req, lim  float64
		}{{"cpu", "core", ws.reqCPU, ws.limCPU}, {"memory", "byte", ws.reqMem, ws.limMem}} {
			put(constant, r.req, 0, append([]string{"__name__", "kubepulse_workload_resource_requests", "resource", r.res, "unit", r.unit}, kv...)...)
			put(constant, r.lim, 0, append([]string{"__name__", "kubepulse_workload_resource_limits", "resource", r.res, "unit", r.unit}, kv...)...)
		}
		// The usage collector's per-workload memory.
		put(wave, ws.mem, float64(len(ws.name)), append([]string{"__name__", "kubepulse_workload_memory_working_set_bytes"}, kv...)...)
		put(wave, ws.podMaxMem, float64(len(ws.name)), append([]string{"__name__", "kubepulse_workload_pod_max_memory_working_set_bytes"}, kv...)...)
	}
	for i := 0; i < s.HPAs && i < s.Workloads; i++ {
		ns := fmt.Sprintf("ns-%03d", i%s.Namespaces)
		hpa := fmt.Sprintf("app-%05d", i)
		put(constant, 2, 0, "__name__", "kubepulse_hpa_min_replicas", "namespace", ns, "hpa", hpa)
		put(constant, 20, 0, "__name__", "kubepulse_hpa_max_replicas", "namespace", ns, "hpa", hpa)
		put(constant, float64(podsPerWorkload), 0, "__name__", "kubepulse_hpa_current_replicas", "namespace", ns, "hpa", hpa)
		put(constant, float64(podsPerWorkload), 0, "__name__", "kubepulse_hpa_desired_replicas", "namespace", ns, "hpa", hpa)
		put(constant, 70, 0, "__name__", "kubepulse_hpa_target_metric", "namespace", ns, "hpa", hpa, "metric_name", "cpu", "metric_target_type", "utilization")
		put(wave, 55, float64(i), "__name__", "kubepulse_hpa_current_metric", "namespace", ns, "hpa", hpa, "metric_name", "cpu", "metric_target_type", "utilization")
		for _, cond := range []string{"AbleToScale", "ScalingActive", "ScalingLimited"} {
			for _, st := range conditions {
				v := 0.0
				if (cond != "ScalingLimited") == (st == "true") && st != "unknown" {
					v = 1
				}
				put(constant, v, 0, "__name__", "kubepulse_hpa_condition", "namespace", ns, "hpa", hpa, "condition", cond, "status", st)
			}
		}
	}
	for r := 0; r < s.LoadTestRuns; r++ {
		run := fmt.Sprintf("run-%d", r)
		for l := 0; l < 5; l++ {
			label := fmt.Sprintf("GET /api/%d", l)
			put(counter, 0, 200, "__name__", "kubepulse_loadtest_requests_total", "run", run, "label", label, "code", "200", "result", "success")
			put(counter, 0, 1, "__name__", "kubepulse_loadtest_requests_total", "run", run, "label", label, "code", "500", "result", "failure")
			le := []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}
			for i, b := range le {
				// Cumulative share of requests at or below b.
				share := 1 - math.Exp(-float64(i+1)/4)
				put(counter, 0, 201*share, "__name__", "kubepulse_loadtest_request_duration_seconds_bucket", "run", run, "label", label, "le", fmt.Sprint(b))
			}
			put(counter, 0, 201, "__name__", "kubepulse_loadtest_request_duration_seconds_bucket", "run", run, "label", label, "le", "+Inf")
			put(counter, 0, 201, "__name__", "kubepulse_loadtest_request_duration_seconds_count", "run", run, "label", label)
			put(counter, 0, 201*0.08, "__name__", "kubepulse_loadtest_request_duration_seconds_sum", "run", run, "label", label)
		}
		put(wave, 100, float64(r), "__name__", "kubepulse_loadtest_active_users", "run", run)
	}
}

// hash is splitmix64: cheap, deterministic spread for synthetic figures.
func hash(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// LoadStats describes what WriteBlocks wrote.
type LoadStats struct {
	Series  int
	Samples int
	Blocks  int
	Names   map[string]int // series per metric name
	Took    time.Duration
}

// WriteBlocks writes the cluster's series, steps samples each, interval apart
// from start, as TSDB blocks in dir. Series go in batches of batchSeries per
// block, so memory stays bounded by one batch instead of the whole cluster;
// the blocks overlap in time and Open compacts them into one, as Prometheus
// does with backfilled blocks.
func WriteBlocks(ctx context.Context, dir string, s Scale, start time.Time, steps int, interval time.Duration, batchSeries int) (LoadStats, error) {
	began := time.Now()
	st := LoadStats{Names: map[string]int{}}
	// Batches are written by one writer per core; memory is bounded by
	// (cores + 1) batches.
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(runtime.GOMAXPROCS(0))
	var batch []series
	flush := func() {
		if len(batch) == 0 {
			return
		}
		b := batch
		batch = nil
		st.Blocks++
		g.Go(func() error { return writeBlock(gctx, dir, b, start, steps, interval) })
	}
	s.each(func(se series) {
		if gctx.Err() != nil {
			return
		}
		st.Series++
		st.Names[se.lset.Get(labels.MetricName)]++
		batch = append(batch, se)
		if len(batch) >= batchSeries {
			flush()
		}
	})
	flush()
	err := g.Wait()
	st.Samples = st.Series * steps
	st.Took = time.Since(began)
	return st, err
}

func writeBlock(ctx context.Context, dir string, batch []series, start time.Time, steps int, interval time.Duration) error {
	// One block must hold the whole range: 2 h blocks aligned like Prometheus's.
	w, err := tsdb.NewBlockWriter(promslog.NewNopLogger(), dir, (2 * time.Hour).Milliseconds())
	if err != nil {
		return err
	}
	defer w.Close()
	if err := appendSeries(ctx, w, batch, start, steps, interval); err != nil {
		return err
	}
	_, err = w.Flush(ctx)
	return err
}

// LoadHead appends the cluster's series straight into db's head (in memory),
// as a live Prometheus holds recent data. It needs memory for every series
// at once, so it is for the small scale: it calibrates how much slower the
// block path that WriteBlocks feeds is than the head.
func LoadHead(ctx context.Context, db storage.Appendable, s Scale, start time.Time, steps int, interval time.Duration) (LoadStats, error) {
	began := time.Now()
	st := LoadStats{Names: map[string]int{}}
	var all []series
	s.each(func(se series) {
		st.Series++
		st.Names[se.lset.Get(labels.MetricName)]++
		all = append(all, se)
	})
	err := appendSeries(ctx, db, all, start, steps, interval)
	st.Samples = st.Series * steps
	st.Took = time.Since(began)
	return st, err
}

// appendSeries appends every sample of batch, series by series, committing
// every 200k samples.
func appendSeries(ctx context.Context, db storage.Appendable, batch []series, start time.Time, steps int, interval time.Duration) error {
	const commitEvery = 200000
	app := db.Appender(ctx)
	pending := 0
	t0 := start.UnixMilli()
	for _, se := range batch {
		var ref storage.SeriesRef
		for step := 0; step < steps; step++ {
			t := t0 + int64(step)*interval.Milliseconds()
			var err error
			ls := se.lset
			if ref != 0 {
				ls = labels.EmptyLabels()
			}
			ref, err = app.Append(ref, ls, t, value(se.kind, se.base, se.rate, step, float64(step)*interval.Seconds()))
			if err != nil {
				_ = app.Rollback()
				return fmt.Errorf("append %s: %w", se.lset, err)
			}
			if pending++; pending >= commitEvery {
				if err := app.Commit(); err != nil {
					return err
				}
				app = db.Appender(ctx)
				pending = 0
			}
		}
	}
	return app.Commit()
}

func value(k kind, base, rate float64, step int, secs float64) float64 {
	switch k {
	case wave:
		return base * (1 + 0.2*math.Sin(float64(step)/7+rate))
	case counter:
		return base + rate*secs
	}
	return base
}

// podSuffixAlphabet is the apiserver's generateName alphabet (no vowels,
// no 0, 1, 3).
const podSuffixAlphabet = "bcdfghjklmnpqrstvwxz2456789"

// podSuffix is a deterministic, well-mixed 5-character suffix for pod p.
func podSuffix(p int) string {
	h := uint64(p)*0x9E3779B97F4A7C15 + 0x632BE59BD9B4E019
	var b [5]byte
	for i := range b {
		h ^= h >> 29
		h *= 0xBF58476D1CE4E5B9
		b[i] = podSuffixAlphabet[h%uint64(len(podSuffixAlphabet))]
	}
	return string(b[:])
}
