// Package demo is `kubepulse demo`: a simulated cluster fed through the real
// collectors, an embedded Prometheus (TSDB head, PromQL engine, the rules
// `kubepulse generate` writes) with its query API, and one page that shows
// the whole loop.
//
// sim.go is the model only: workloads, pods and their usage as functions of
// simulated time. cluster.go, sources.go turn it into API objects, kubelet
// answers, CRI log files and load-test results.
package demo

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

const (
	mi = 1 << 20
	gi = 1 << 30
)

// workload is one simulated controller and what its pods do.
type workload struct {
	ns, name, kind, hash string
	container            string
	cpuReq, cpuLim       float64 // cores
	memReq, memLim       float64 // bytes
	replicas             int
	minR, maxR           int     // HPA bounds; maxR 0 means no HPA
	hpaTarget            int32   // HPA CPU utilisation target, percent
	logPerSec            float64 // info lines per pod per second
}

// simPod is one pod and its running state.
type simPod struct {
	w          *workload
	name, uid  string
	node       string
	created    time.Time
	started    time.Time // current container start
	cpuSec     float64
	mem        float64
	restarts   int32
	lastReason string // last terminated reason
	waiting    string // CrashLoopBackOff while backing off
	phase      string // Running, Pending, Succeeded
	logIdx     int    // N of the current N.log
	nextCrash  time.Time
	dirty      bool // the API object needs an update
}

// simNode is a node's fixed shape.
type simNode struct {
	name        string
	cpu, mem    float64
	allocCPU    float64
	allocMem    float64
	podCapacity int
	cordoned    bool
}

// Sim is the whole simulated cluster. It is driven by Step with simulated
// time and is not safe for concurrent use; Demo serialises access.
type Sim struct {
	rng       *rand.Rand
	start     time.Time // first simulated instant (history start)
	end       time.Time // end of the fast-forward (the real start time)
	nodes     []*simNode
	workloads []*workload
	pods      []*simPod
	removed   []*simPod // deleted since the last Drain
	lastScale time.Time
	web       *workload
	desired   int     // web HPA desired replicas
	webCPU    float64 // web total CPU demand, cores (for the HPA metric)
}

// Demo workloads' names, used by the page and the tests.
const (
	NSShop        = "shop"
	NSBatch       = "batch"
	WebName       = "web"
	APIName       = "api"
	WorkerName    = "worker"
	CrashName     = "payments-sync"
	JobName       = "db-migrate"
	PendingName   = "report-builder"
	webCPUMax     = 1.6 // cores of demand at the daily peak
	leakPerHour   = 130 * mi
	leakBase      = 200 * mi
	crashInterval = 3 * time.Minute
)

// NewSim builds the initial cluster at simulated time start; end is when
// the history fast-forward stops (used to place the memory leak so that the
// worker is near its limit when the page opens).
func NewSim(seed int64, start, end time.Time) *Sim {
	s := &Sim{rng: rand.New(rand.NewPCG(uint64(seed), 0x6b70)), start: start, end: end}
	for _, n := range []string{"node-a", "node-b", "node-c", "node-d"} {
		s.nodes = append(s.nodes, &simNode{name: n, cpu: 4, mem: 16 * gi, allocCPU: 3.8, allocMem: 15 * gi, podCapacity: 110,
			cordoned: n == "node-d"}) // drained for maintenance: no pods
	}
	s.web = &workload{ns: NSShop, name: WebName, kind: "Deployment", container: "nginx", cpuReq: 0.25, cpuLim: 0.5, memReq: 256 * mi, memLim: 512 * mi,
		replicas: 2, minR: 2, maxR: 8, hpaTarget: 60, logPerSec: 0.5}
	s.workloads = []*workload{
		s.web,
		{ns: NSShop, name: APIName, kind: "Deployment", container: "api", cpuReq: 1, cpuLim: 2, memReq: 2 * gi, memLim: 2 * gi, replicas: 3, logPerSec: 0.2},
		{ns: NSShop, name: WorkerName, kind: "Deployment", container: "worker", cpuReq: 0.5, cpuLim: 1, memReq: 512 * mi, memLim: 1 * gi, replicas: 1, logPerSec: 0.2},
		{ns: NSShop, name: CrashName, kind: "Deployment", container: "sync", cpuReq: 0.2, cpuLim: 0.5, memReq: 128 * mi, memLim: 256 * mi, replicas: 1},
		{ns: NSBatch, name: JobName, kind: "Job", container: "migrate", cpuReq: 0.5, cpuLim: 1, memReq: 256 * mi, memLim: 512 * mi, replicas: 1},
		{ns: NSBatch, name: PendingName, kind: "Deployment", container: "builder", cpuReq: 16, cpuLim: 16, memReq: 8 * gi, memLim: 8 * gi, replicas: 1},
	}
	for _, w := range s.workloads {
		w.hash = s.suffix(10)
		for i := 0; i < w.replicas; i++ {
			s.addPod(w, start)
		}
	}
	s.desired = s.web.replicas
	return s
}

const alnum = "bcdfghjklmnpqrstvwxz2456789"

func (s *Sim) suffix(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alnum[s.rng.IntN(len(alnum))]
	}
	return string(b)
}

func (s *Sim) addPod(w *workload, t time.Time) *simPod {
	p := &simPod{w: w, created: t, started: t, uid: fmt.Sprintf("%08x-0000-4000-8000-%012x", s.rng.Uint32(), s.rng.Uint64()&0xffffffffffff), phase: "Running", dirty: true}
	switch w.kind {
	case "Job":
		p.name = w.name + "-" + s.suffix(5)
		p.phase = "Succeeded"
	default:
		p.name = w.name + "-" + w.hash + "-" + s.suffix(5)
	}
	if w.name == CrashName {
		p.waiting = "CrashLoopBackOff"
		p.nextCrash = t.Add(crashInterval)
	}
	if node := s.place(w); node != "" {
		p.node = node
	} else {
		p.phase = "Pending"
	}
	s.pods = append(s.pods, p)
	return p
}

// place picks the node with the most free CPU requests that fits w.
func (s *Sim) place(w *workload) string {
	best, bestFree := "", -1.0
	for _, n := range s.nodes {
		if n.cordoned {
			continue
		}
		var used, usedMem float64
		for _, p := range s.pods {
			if p.node == n.name && p.phase == "Running" {
				used += p.w.cpuReq
				usedMem += p.w.memReq
			}
		}
		free := n.allocCPU - used
		if free >= w.cpuReq && n.allocMem-usedMem >= w.memReq && free > bestFree {
			best, bestFree = n.name, free
		}
	}
	return best
}

// dayFactor is 0 at 04:00 UTC and 1 at 16:00 UTC, plus a 45-minute ripple.
func dayFactor(t time.Time) float64 {
	h := float64(t.UTC().Hour()) + float64(t.UTC().Minute())/60 + float64(t.UTC().Second())/3600
	d := 0.5 * (1 - math.Cos(2*math.Pi*(h-4)/24))
	ripple := 0.15 * math.Sin(2*math.Pi*float64(t.Unix())/2700)
	return math.Max(0.05, math.Min(1.1, d+ripple))
}

// errorBurst is true during 12 minutes of every 80: the log error bursts and
// the load test's error spikes line up with them.
func errorBurst(t time.Time) bool { return t.Unix()%4800 < 720 }

// WebLatency is the service latency the load test sees at t, before noise.
func WebLatency(t time.Time) time.Duration {
	ms := 12 + 30*dayFactor(t)
	if errorBurst(t) {
		ms *= 3
	}
	return time.Duration(ms * float64(time.Millisecond))
}

// WebErrorRatio is the share of load-test requests the service fails at t.
func WebErrorRatio(t time.Time) float64 {
	if errorBurst(t) {
		return 0.06
	}
	return 0.002
}

// Step advances the model from the previous step to t (dt later): the HPA,
// CPU counters, memory, crash loops and the leak.
func (s *Sim) Step(t time.Time, dt time.Duration) {
	sec := dt.Seconds()
	s.webCPU = 0.15 + webCPUMax*dayFactor(t)
	if t.Sub(s.lastScale) >= 2*time.Minute {
		s.lastScale = t
		want := int(math.Ceil(s.webCPU / (s.web.cpuReq * float64(s.web.hpaTarget) / 100)))
		s.desired = want
		want = max(s.web.minR, min(s.web.maxR, want))
		s.scale(s.web, want, t)
	}
	webRunning := 0
	for _, p := range s.pods {
		if p.w == s.web && p.phase == "Running" {
			webRunning++
		}
	}
	for _, p := range s.pods {
		if p.phase != "Running" {
			continue
		}
		jit := 1 + 0.1*(s.rng.Float64()-0.5)
		var cpu float64
		switch p.w.name {
		case WebName:
			cpu = s.webCPU / float64(max(webRunning, 1)) * jit
			p.mem = (150*mi + 120*mi*dayFactor(t)) * jit
		case APIName:
			cpu = 0.06 * jit
			p.mem = 310 * mi * (1 + 0.02*(s.rng.Float64()-0.5))
		case WorkerName:
			cpu = 0.3 * jit
			p.mem = s.leak(t)
			if p.mem >= p.w.memLim {
				p.restarts++
				p.lastReason = "OOMKilled"
				p.started = t
				p.logIdx++
				p.dirty = true
				p.mem = leakBase
			}
		case CrashName:
			cpu = 0.01
			p.mem = 20 * mi
			if !t.Before(p.nextCrash) {
				p.restarts++
				p.lastReason = "Error"
				p.started = t
				p.logIdx++
				p.nextCrash = t.Add(crashInterval)
				p.dirty = true
			}
		}
		p.cpuSec += cpu * sec
	}
}

// leak is the worker's working set: it grows leakPerHour from leakBase and
// is placed so that it reaches 95% of its 1 GiB limit when history ends.
func (s *Sim) leak(t time.Time) float64 {
	span, near := float64(gi-leakBase), 0.95*gi-leakBase
	cycle := time.Duration(span / leakPerHour * float64(time.Hour))
	atEnd := time.Duration(near / leakPerHour * float64(time.Hour))
	d := t.Sub(s.end) + atEnd
	d = ((d % cycle) + cycle) % cycle
	return leakBase + leakPerHour*d.Hours()
}

func (s *Sim) scale(w *workload, n int, t time.Time) {
	var mine []*simPod
	for _, p := range s.pods {
		if p.w == w {
			mine = append(mine, p)
		}
	}
	for len(mine) < n {
		mine = append(mine, s.addPod(w, t))
	}
	if len(mine) > n {
		gone := map[*simPod]bool{}
		for _, p := range mine[n:] {
			gone[p] = true
			s.removed = append(s.removed, p)
		}
		kept := s.pods[:0]
		for _, p := range s.pods {
			if !gone[p] {
				kept = append(kept, p)
			}
		}
		s.pods = kept
	}
	w.replicas = n
}

// Drain returns the pods removed since the last call.
func (s *Sim) Drain() []*simPod {
	r := s.removed
	s.removed = nil
	return r
}
