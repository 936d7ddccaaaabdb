package tuning

import (
	"math"
	"sort"
	"time"
)

// Rec is one strategy's request and limit for one resource; nil is none
// (for a request: no recommendation).
type Rec struct{ Request, Limit *float64 }

// Strategy recommends CPU and memory for a container from (from, to].
type Strategy struct {
	Name      string
	Recommend func(c *Container, from, to, step int64) (cpu, mem Rec)
}

// KubepulseStrategy is the recommender of this package with options o.
func KubepulseStrategy(o Options) Strategy {
	return Strategy{Name: "kubepulse", Recommend: func(c *Container, from, to, step int64) (Rec, Rec) {
		cpu, mem := recommendContainer(c, o, from, to, step)
		return Rec{cpu.RecommendedRequest, cpu.RecommendedLimit}, Rec{mem.RecommendedRequest, mem.RecommendedLimit}
	}}
}

// CurrentStrategy keeps the requests and limits the container runs with.
func CurrentStrategy() Strategy {
	return Strategy{Name: "current", Recommend: func(c *Container, _, _, _ int64) (Rec, Rec) {
		return Rec{current(c.Requests, CPU), current(c.Limits, CPU)}, Rec{current(c.Requests, Memory), current(c.Limits, Memory)}
	}}
}

// KRRSimpleStrategy is KRR's "simple" strategy as the issue defines the
// baseline: CPU request at the exact p95 of the window and no CPU limit;
// memory request and limit at the window's max plus 15%.
func KRRSimpleStrategy() Strategy {
	return Strategy{Name: "krr-simple", Recommend: func(c *Container, from, to, _ int64) (Rec, Rec) {
		cs, _, _, _ := usage(c, CPU, from, to)
		ms, _, _, _ := usage(c, Memory, from, to)
		var cpu, mem Rec
		if v, ok := exactPercentile(cs, 0.95); ok {
			cpu.Request = ptr(v)
		}
		if v, ok := exactPercentile(ms, 1); ok {
			mem.Request = ptr(v * 1.15)
			mem.Limit = mem.Request
		}
		return cpu, mem
	}}
}

// VPAStrategy is the VPA recommender's target with its default flags:
// p90 of a decaying histogram (24h half-life) plus a 15% margin, memory
// from daily peaks per pod, floors of 25m and 250Mi, and limits scaled in
// proportion to the current limit/request ratio (its default
// RequestsAndLimits mode).
func VPAStrategy() Strategy {
	return Strategy{Name: "vpa", Recommend: func(c *Container, from, to, _ int64) (Rec, Rec) {
		var cpu, mem Rec
		cs, cn, _, _ := usage(c, CPU, from, to)
		ms, mn, _, _ := usage(c, Memory, from, to)
		if cn > 0 {
			h := NewHistogram(0.01, 1.05, 1000, 24*time.Hour)
			for _, w := range cs {
				for _, s := range w {
					h.Add(s.V, 1, s.T)
				}
			}
			cpu.Request = ptr(math.Max(h.Percentile(0.9)*1.15, 0.025))
			cpu.Limit = proportional(c, CPU, *cpu.Request)
		}
		if mn > 0 {
			h := NewHistogram(1e7, 1.05, 1<<40, 24*time.Hour)
			for _, w := range ms {
				for _, p := range intervalPeaks(w, 24*3600*1000) {
					h.Add(p.V, 1, p.T)
				}
			}
			mem.Request = ptr(math.Max(h.Percentile(0.9)*1.15, 250*mi))
			mem.Limit = proportional(c, Memory, *mem.Request)
		}
		return cpu, mem
	}}
}

func proportional(c *Container, r string, req float64) *float64 {
	cr, okr := c.Requests[r]
	cl, okl := c.Limits[r]
	if !okr || !okl || cr <= 0 {
		return nil
	}
	return ptr(req * cl / cr)
}

// exactPercentile is the nearest-rank percentile of all samples.
func exactPercentile(all [][]Sample, p float64) (float64, bool) {
	var v []float64
	for _, w := range all {
		for _, s := range w {
			v = append(v, s.V)
		}
	}
	if len(v) == 0 {
		return 0, false
	}
	sort.Float64s(v)
	i := int(math.Ceil(p*float64(len(v)))) - 1
	return v[max(0, min(i, len(v)-1))], true
}

// BacktestOptions set the rolling windows.
type BacktestOptions struct {
	Train, Test, Step time.Duration
}

// Score is what one strategy did on the test windows of one container (or
// in total).
type Score struct {
	// Slack is request minus usage, summed over pods and time while usage
	// was below the request: core-hours for CPU, GiB-hours for memory.
	CPUSlack, MemorySlack float64
	// Shortfall is the fraction of pod-samples with usage above the request.
	CPUShortfall, MemoryShortfall float64
	// OverLimit counts memory samples above the recommended limit: each is
	// an OOM kill the limit would have caused.
	OverLimit int
	// Changes counts windows whose request moved more than 10% from the
	// previous window's, CPU and memory together.
	Changes int
	// Windows is the number of test windows with a recommendation.
	Windows int

	cpuN, cpuShort, memN, memShort int
}

// ContainerScores holds the scores of every strategy for one container.
type ContainerScores struct {
	ID     string
	Scores map[string]*Score
}

// BacktestResult is the per-container and total outcome.
type BacktestResult struct {
	Strategies []string
	Containers []ContainerScores
	Total      map[string]*Score
	Folds      int
}

// Backtest recommends on each training window and measures the result on
// the test window right after it, rolling forward by Step. A strategy
// without a recommendation for a window (too little data) is measured as
// keeping the current request, which is what a user would do.
func Backtest(h *History, bo BacktestOptions, strategies []Strategy) BacktestResult {
	res := BacktestResult{Total: map[string]*Score{}}
	for _, s := range strategies {
		res.Strategies = append(res.Strategies, s.Name)
		res.Total[s.Name] = &Score{}
	}
	train, test, stepW := bo.Train.Milliseconds(), bo.Test.Milliseconds(), bo.Step.Milliseconds()
	cur := CurrentStrategy()
	for _, c := range h.Containers {
		cs := ContainerScores{ID: c.ID(), Scores: map[string]*Score{}}
		for _, s := range strategies {
			sc := &Score{}
			cs.Scores[s.Name] = sc
			var prevCPU, prevMem *float64
			folds := 0
			// Windows are left-open; starting one ms early keeps the first sample.
			for t := h.Start - 1 + train; t+test <= h.End+h.Step; t += stepW {
				folds++
				cpu, mem := s.Recommend(c, t-train, t, h.Step)
				ccpu, cmem := cur.Recommend(c, 0, 0, 0)
				if cpu.Request == nil {
					cpu = ccpu
				}
				if mem.Request == nil {
					mem = cmem
				}
				if cpu.Request != nil || mem.Request != nil {
					sc.Windows++
				}
				if changed(prevCPU, cpu.Request) || changed(prevMem, mem.Request) {
					sc.Changes++
				}
				prevCPU, prevMem = cpu.Request, mem.Request
				measure(sc, c, cpu, mem, t, t+test, h.Step)
			}
			res.Folds = max(res.Folds, folds)
			addScore(res.Total[s.Name], sc)
		}
		res.Containers = append(res.Containers, cs)
	}
	for _, sc := range res.Total {
		finish(sc)
	}
	for _, cs := range res.Containers {
		for _, sc := range cs.Scores {
			finish(sc)
		}
	}
	return res
}

func changed(prev, cur *float64) bool {
	if prev == nil || cur == nil {
		return false
	}
	return math.Abs(*cur-*prev) > 0.1*math.Max(*prev, 1e-9)
}

func measure(sc *Score, c *Container, cpu, mem Rec, from, to, step int64) {
	hours := float64(step) / 3.6e6
	for _, st := range c.Streams {
		for _, s := range Window(st.CPU, from, to) {
			sc.cpuN++
			if cpu.Request == nil {
				continue
			}
			if s.V > *cpu.Request {
				sc.cpuShort++
			} else {
				sc.CPUSlack += (*cpu.Request - s.V) * hours
			}
		}
		for _, s := range Window(st.Memory, from, to) {
			sc.memN++
			if mem.Request != nil {
				if s.V > *mem.Request {
					sc.memShort++
				} else {
					sc.MemorySlack += (*mem.Request - s.V) / gi * hours
				}
			}
			if mem.Limit != nil && s.V > *mem.Limit {
				sc.OverLimit++
			}
		}
	}
}

func addScore(dst, src *Score) {
	dst.CPUSlack += src.CPUSlack
	dst.MemorySlack += src.MemorySlack
	dst.OverLimit += src.OverLimit
	dst.Changes += src.Changes
	dst.Windows += src.Windows
	dst.cpuN += src.cpuN
	dst.cpuShort += src.cpuShort
	dst.memN += src.memN
	dst.memShort += src.memShort
}

func finish(sc *Score) {
	if sc.cpuN > 0 {
		sc.CPUShortfall = float64(sc.cpuShort) / float64(sc.cpuN)
	}
	if sc.memN > 0 {
		sc.MemoryShortfall = float64(sc.memShort) / float64(sc.memN)
	}
}
