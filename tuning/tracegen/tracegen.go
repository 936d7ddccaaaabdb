// Package tracegen writes synthetic usage histories, deterministic from a
// seed, in the OpenMetrics text that `promtool tsdb dump-openmetrics`
// writes. The shapes are the ones a tuner must get right: diurnal web
// traffic, a web tier under a CPU HPA, bursts, a slow memory leak, a
// nightly batch job, an idle service and a container that was OOM-killed.
// Current requests are set the way people set them by hand: generous,
// round, and sometimes wrong in the other direction.
package tracegen

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"time"
)

// Config says what to generate.
type Config struct {
	Seed     uint64
	Start    time.Time
	Duration time.Duration
	Step     time.Duration
	// Source is "kubepulse" (default) or "cadvisor" for the standard
	// stack's names.
	Source string
	// WorkloadLabels puts workload_kind/workload on the usage series, as
	// newer kubepulse versions do, instead of only the pod_owner join.
	WorkloadLabels bool
	// Replicas multiplies the pods of every replicated workload (for scale
	// runs); 0 means 1.
	Replicas int
	// Namespaces repeats the whole set of workloads in this many
	// namespaces (for scale runs); 0 means 1.
	Namespaces int
}

const (
	mi = 1 << 20
	gi = 1 << 30
)

type pod struct {
	ns, name, container, kind, workload, ownerKind, owner string
	cpuReq, memReq, memLim                                float64
	from, to                                              time.Duration // lifetime within the trace
	cpu, mem                                              func(t time.Time, r *rand.Rand) float64
	oomAt                                                 time.Duration // 0: never
	sidecar                                               bool          // a second container: the pod's series are written once
}

type hpa struct {
	ns, name string
	target   float64
}

// diurnal is 0 at 04:00 and 1 at 16:00 UTC.
func diurnal(t time.Time) float64 {
	h := float64(t.Hour()) + float64(t.Minute())/60
	return (1 - math.Cos(2*math.Pi*(h-4)/24)) / 2
}

func noise(r *rand.Rand, sd float64) float64 { return r.NormFloat64() * sd }

func workloads(c Config, ns string, nsIdx int) ([]pod, []hpa) {
	reps := max(c.Replicas, 1)
	d := c.Duration
	var ps []pod
	add := func(p pod, n int) {
		for i := 0; i < n; i++ {
			q := p
			q.ns = ns
			switch p.kind {
			case "Deployment":
				q.ownerKind, q.owner = "ReplicaSet", p.workload+"-7d9f8b6c5d"
				q.name = fmt.Sprintf("%s-%05d", q.owner, nsIdx*100000+i)
			case "StatefulSet":
				q.ownerKind, q.owner = "StatefulSet", p.workload
				q.name = fmt.Sprintf("%s-%d", p.workload, i)
			}
			ps = append(ps, q)
		}
	}
	add(pod{container: "app", kind: "Deployment", workload: "web", cpuReq: 1, memReq: gi, memLim: gi, to: d,
		cpu: func(t time.Time, r *rand.Rand) float64 { return math.Max(0.01, 0.08+0.32*diurnal(t)+noise(r, 0.03)) },
		mem: func(t time.Time, r *rand.Rand) float64 { return 300*mi + 90*mi*diurnal(t) + noise(r, 8*mi) },
	}, 3*reps)
	// Under an HPA at 70%: per-pod usage hovers at 60-75% of the request
	// whatever the traffic, because replicas follow it.
	add(pod{container: "app", kind: "Deployment", workload: "api", cpuReq: 0.5, memReq: 512 * mi, memLim: 512 * mi, to: d,
		cpu: func(t time.Time, r *rand.Rand) float64 { return math.Max(0.05, 0.33+0.04*diurnal(t)+noise(r, 0.03)) },
		mem: func(t time.Time, r *rand.Rand) float64 { return 220*mi + noise(r, 6*mi) },
	}, 2*reps)
	add(pod{container: "istio-proxy", sidecar: true, kind: "Deployment", workload: "api", cpuReq: 0.1, memReq: 128 * mi, memLim: 128 * mi, to: d,
		cpu: func(t time.Time, r *rand.Rand) float64 { return math.Max(0.002, 0.01+0.02*diurnal(t)+noise(r, 0.003)) },
		mem: func(t time.Time, r *rand.Rand) float64 { return 45*mi + noise(r, mi) },
	}, 2*reps)
	add(pod{container: "ingest", kind: "Deployment", workload: "ingest", cpuReq: 0.5, memReq: 768 * mi, memLim: 768 * mi, to: d,
		cpu: burst(0.04, 0.9, 0.02), mem: burstMem(160*mi, 140*mi),
	}, 2*reps)
	add(pod{container: "cache", kind: "StatefulSet", workload: "cache", cpuReq: 0.25, memReq: 1536 * mi, memLim: 1536 * mi, to: d,
		cpu: func(t time.Time, r *rand.Rand) float64 { return math.Max(0.005, 0.03+noise(r, 0.005)) },
		mem: leak(c.Start, 200*mi, 70*mi),
	}, 1)
	add(pod{container: "worker", kind: "Deployment", workload: "worker", cpuReq: 0.2, memReq: 256 * mi, memLim: 256 * mi, to: d,
		cpu: func(t time.Time, r *rand.Rand) float64 { return math.Max(0.005, 0.05+0.05*diurnal(t)+noise(r, 0.01)) },
		mem: func(t time.Time, r *rand.Rand) float64 { return 170*mi + 60*mi*diurnal(t) + noise(r, 5*mi) },
		// Killed once at its 256Mi limit on the third afternoon.
		oomAt: 2*24*time.Hour + 16*time.Hour,
	}, 1)
	add(pod{container: "admin", kind: "Deployment", workload: "admin", cpuReq: 0.1, memReq: 256 * mi, memLim: 256 * mi, to: d,
		cpu: func(t time.Time, r *rand.Rand) float64 { return math.Max(0.0005, 0.002+noise(r, 0.0005)) },
		mem: func(t time.Time, r *rand.Rand) float64 { return 38*mi + noise(r, 0.5*mi) },
	}, 1)
	// A nightly CronJob: one pod per night from 01:00 to 03:00.
	for day := 0; time.Duration(day)*24*time.Hour < d; day++ {
		start := time.Duration(day)*24*time.Hour + time.Hour
		if start >= d {
			break
		}
		job := fmt.Sprintf("report-%d", 29000000+day)
		ps = append(ps, pod{ns: ns, name: job + "-x7k2p", container: "report", kind: "CronJob", workload: "report",
			ownerKind: "Job", owner: job, cpuReq: 2, memReq: 2 * gi, memLim: 2 * gi, from: start, to: min(start+2*time.Hour, d),
			cpu: func(t time.Time, r *rand.Rand) float64 { return math.Max(0.1, 1.3+noise(r, 0.15)) },
			mem: func(t time.Time, r *rand.Rand) float64 {
				el := t.Sub(c.Start) - start
				return 300*mi + 900*mi*math.Min(1, el.Hours()/1.5) + noise(r, 10*mi)
			}})
	}
	return ps, []hpa{{ns, "api", 70}}
}

// burst is a low base with bursts of about 20 minutes, a few a day.
func burst(base, peak, sd float64) func(time.Time, *rand.Rand) float64 {
	return func(t time.Time, r *rand.Rand) float64 {
		if inBurst(t) {
			return math.Max(0.005, peak+noise(r, 0.1))
		}
		return math.Max(0.005, base+noise(r, sd))
	}
}

func burstMem(base, extra float64) func(time.Time, *rand.Rand) float64 {
	return func(t time.Time, r *rand.Rand) float64 {
		if inBurst(t) {
			return base + extra + noise(r, 5*mi)
		}
		return base + noise(r, 3*mi)
	}
}

// inBurst is a deterministic function of the time (a hash of the 20-minute
// slot), so every pod of the workload bursts together, as they do when
// one upstream queue fills.
func inBurst(t time.Time) bool {
	slot := uint64(t.Unix() / 1200)
	x := slot*0x9E3779B97F4A7C15 + 0x632BE59BD9B4E019
	x ^= x >> 31
	x *= 0xBF58476D1CE4E5B9
	x ^= x >> 29
	return x%100 < 6
}

func leak(start time.Time, base, perDay float64) func(time.Time, *rand.Rand) float64 {
	return func(t time.Time, r *rand.Rand) float64 {
		return base + perDay*t.Sub(start).Hours()/24 + noise(r, 3*mi)
	}
}

type names struct {
	cpu, mem, req, lim, owner, term, hpa string
}

func namesFor(src string) (names, error) {
	switch src {
	case "", "kubepulse":
		return names{"kubepulse_container_cpu_usage_seconds_total", "kubepulse_container_memory_working_set_bytes",
			"kubepulse_container_resource_requests", "kubepulse_container_resource_limits", "kubepulse_pod_owner",
			"kubepulse_container_last_terminated_reason", "kubepulse_hpa_target_metric"}, nil
	case "cadvisor":
		return names{"container_cpu_usage_seconds_total", "container_memory_working_set_bytes",
			"kube_pod_container_resource_requests", "kube_pod_container_resource_limits", "kube_pod_owner",
			"kube_pod_container_status_last_terminated_reason", "kube_horizontalpodautoscaler_spec_target_metric"}, nil
	}
	return names{}, fmt.Errorf("source %q: want kubepulse or cadvisor", src)
}

// Write writes the trace of c to w.
func Write(w io.Writer, c Config) error {
	n, err := namesFor(c.Source)
	if err != nil {
		return err
	}
	if c.Step <= 0 || c.Duration < c.Step {
		return fmt.Errorf("step %s and duration %s: want 0 < step <= duration", c.Step, c.Duration)
	}
	bw := bufio.NewWriterSize(w, 1<<16)
	nsCount := max(c.Namespaces, 1)
	hourly := max(time.Hour/c.Step, 1)
	for k := 0; k < nsCount; k++ {
		ns := "shop"
		if nsCount > 1 {
			ns = fmt.Sprintf("team-%04d", k)
		}
		ps, hs := workloads(c, ns, k)
		for i := range ps {
			writePod(bw, c, n, &ps[i], uint64(k)<<32|uint64(i), int(hourly))
		}
		for _, h := range hs {
			hl := fmt.Sprintf(`{hpa="%s",metric_name="cpu",metric_target_type="utilization",namespace="%s"}`, h.name, h.ns)
			if c.Source == "cadvisor" {
				hl = fmt.Sprintf(`{horizontalpodautoscaler="%s",metric_name="cpu",metric_target_type="utilization",namespace="%s"}`, h.name, h.ns)
			}
			for t := time.Duration(0); t <= c.Duration; t += time.Duration(hourly) * c.Step {
				fmt.Fprintf(bw, "%s%s %g %s\n", n.hpa, hl, h.target, ts(c.Start.Add(t)))
			}
		}
	}
	fmt.Fprintln(bw, "# EOF")
	return bw.Flush()
}

func ts(t time.Time) string { return fmt.Sprintf("%.3f", float64(t.UnixMilli())/1000) }

// labelString renders labels sorted by name, as promtool does.
func labelString(kv ...string) string {
	type p struct{ k, v string }
	var l []p
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			l = append(l, p{kv[i], kv[i+1]})
		}
	}
	sort.Slice(l, func(i, j int) bool { return l[i].k < l[j].k })
	var b strings.Builder
	b.WriteByte('{')
	for i, x := range l {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%s=%q", x.k, x.v)
	}
	b.WriteByte('}')
	return b.String()
}

func writePod(w *bufio.Writer, c Config, n names, p *pod, id uint64, hourly int) {
	r := rand.New(rand.NewPCG(c.Seed, id))
	wk, wl := "", ""
	if c.WorkloadLabels {
		wk, wl = p.kind, p.workload
	}
	base := []string{"container", p.container, "namespace", p.ns, "pod", p.name, "workload_kind", wk, "workload", wl}
	if c.Source == "cadvisor" {
		base = append(base, "image", "registry.example/"+p.container+":1")
	} else {
		base = append(base, "node", "node-1")
	}
	cpuL, memL := labelString(base...), labelString(base...)
	var cpuLines, memLines strings.Builder
	counter := 0.0
	var oomDone bool
	for t := p.from; t < p.to; t += c.Step {
		at := c.Start.Add(t)
		u := p.cpu(at, r)
		counter += u * c.Step.Seconds()
		m := p.mem(at, r)
		if p.oomAt > 0 && !oomDone && t >= p.oomAt {
			// The kill: usage hit the limit; the restarted container
			// starts over, and its CPU counter with it.
			m, oomDone, counter = p.memLim, true, 0
		}
		fmt.Fprintf(&cpuLines, "%s%s %.6g %s\n", n.cpu, cpuL, counter, ts(at))
		fmt.Fprintf(&memLines, "%s%s %.0f %s\n", n.mem, memL, math.Max(m, mi), ts(at))
	}
	w.WriteString(cpuLines.String())
	w.WriteString(memLines.String())
	every := time.Duration(hourly) * c.Step
	meta := func(name string, kv []string, v float64, from time.Duration) {
		l := labelString(kv...)
		for t := from; t < p.to; t += every {
			fmt.Fprintf(w, "%s%s %g %s\n", name, l, v, ts(c.Start.Add(t)))
		}
	}
	ck := []string{"container", p.container, "namespace", p.ns, "pod", p.name}
	for _, x := range []struct {
		name, res, unit string
		v               float64
	}{{n.req, "cpu", "core", p.cpuReq}, {n.req, "memory", "byte", p.memReq}, {n.lim, "memory", "byte", p.memLim}} {
		meta(x.name, append(ck[:len(ck):len(ck)], "resource", x.res, "unit", x.unit), x.v, p.from)
	}
	owner := []string{"namespace", p.ns, "pod", p.name, "owner_kind", p.ownerKind, "owner_name", p.owner}
	if c.Source != "cadvisor" {
		owner = append(owner, "workload_kind", p.kind, "workload", p.workload)
	}
	if !p.sidecar {
		meta(n.owner, owner, 1, p.from)
	}
	if p.oomAt > 0 {
		meta(n.term, append(ck[:len(ck):len(ck)], "reason", "OOMKilled"), 1, (p.oomAt/every+1)*every)
	}
}
