package tuning

import (
	"fmt"
	"sort"

	"github.com/prometheus/prometheus/model/labels"
)

// NewAggregator returns a Builder that folds usage into per-pod
// accumulators as it arrives instead of keeping samples: memory stays
// proportional to the number of pods, not to pods x samples, which is what
// a week of a very large cluster needs. Samples of each series must arrive
// in time order (across calls too); only those in (from, to] count.
// Finish it with Recommend. Recommendations equal those of Recommend on a
// History of the same samples.
func NewAggregator(src Source, o Options, from, to int64) *Builder {
	b := NewBuilder(src)
	b.agg = &aggregation{o: o, from: from, to: to, iv: o.MemoryInterval.Milliseconds(), pods: map[podKey]*podAgg{}}
	return b
}

type aggregation struct {
	o        Options
	from, to int64
	iv       int64
	pods     map[podKey]*podAgg
	// OutOfOrder counts samples older than their series' previous one,
	// which are skipped.
	outOfOrder int
	// The first and last sample in the window: the raw path measures
	// from its data too, not from the edges of the query.
	minSeen, maxSeen int64
}

func (a *aggregation) seen(t int64) {
	if a.minSeen == 0 || t < a.minSeen {
		a.minSeen = t
	}
	a.maxSeen = max(a.maxSeen, t)
}

type podAgg struct {
	kind, workload string
	r              rater
	ps             peakState
	cpu, mem       *accum
	lastCPU        int64
	lastMem        int64
	memMinGap      int64
	seenMax        float64
}

func (a *aggregation) add(k podKey, ls labels.Labels, isCPU bool, samples []Sample) {
	p := a.pods[k]
	if p == nil {
		p = &podAgg{cpu: newAccum(CPU, a.o), mem: newAccum(Memory, a.o), lastCPU: -1 << 62, lastMem: -1 << 62}
		a.pods[k] = p
	}
	if p.workload == "" {
		if wk := ls.Get("workload"); wk != "" {
			p.kind, p.workload = ls.Get("workload_kind"), wk
		}
	}
	for _, s := range samples {
		if isCPU {
			if s.T <= p.lastCPU {
				a.outOfOrder++
				continue
			}
			p.lastCPU = s.T
			if x, ok := p.r.next(s); ok && x.T > a.from && x.T <= a.to {
				p.cpu.usage(x)
				a.seen(x.T)
			}
			continue
		}
		if s.T <= p.lastMem {
			a.outOfOrder++
			continue
		}
		if p.lastMem > -1<<62 {
			if g := s.T - p.lastMem; p.memMinGap == 0 || g < p.memMinGap {
				p.memMinGap = g
			}
		}
		p.lastMem = s.T
		p.seenMax = max(p.seenMax, s.V)
		if s.T > a.from && s.T <= a.to {
			a.seen(s.T)
			p.mem.usage(s)
			p.ps.add(s, a.iv, p.mem)
		}
	}
}

// Recommend finishes an aggregating Builder: pods are grouped into
// workload containers (now that every owner series has been seen), their
// accumulators merged, and one CPU and one memory recommendation made per
// container, sorted as Recommend sorts them.
func (b *Builder) Recommend() ([]Recommendation, error) {
	a := b.agg
	if a == nil {
		return nil, fmt.Errorf("Recommend needs a Builder from NewAggregator")
	}
	if len(a.pods) == 0 {
		return nil, b.noUsage()
	}
	type group struct {
		c        *Container
		cpu, mem *accum
		pods     float64
	}
	from, to := max(a.from, a.minSeen-1), min(a.to, a.maxSeen)
	byID := map[string]*Container{}
	groups := map[*Container]*group{}
	for k, p := range a.pods {
		p.ps.flush(p.mem)
		if t, ok := b.ooms[k]; ok && t > from && t <= to {
			p.mem.ooms = append(p.mem.ooms, podSample{k.pod, Sample{t, b.oomMemory(k, p.seenMax)}})
		}
		c := b.container(byID, k, p.kind, p.workload)
		g := groups[c]
		if g == nil {
			g = &group{c: c, cpu: newAccum(CPU, a.o), mem: newAccum(Memory, a.o)}
			groups[c] = g
		}
		g.cpu.merge(p.cpu)
		g.mem.merge(p.mem)
		if p.mem.n > 1 && to > from {
			g.pods += float64(int64(p.mem.n)*p.memMinGap) / float64(to-from)
		}
	}
	gs := make([]*group, 0, len(groups))
	for _, g := range groups {
		gs = append(gs, g)
	}
	sort.Slice(gs, func(i, j int) bool { return gs[i].c.ID() < gs[j].c.ID() })
	out := make([]Recommendation, 0, 2*len(gs))
	for _, g := range gs {
		cpu, mem := recommendFrom(g.c, g.cpu, g.mem, g.pods, a.o, to)
		out = append(out, cpu, mem)
	}
	return out, nil
}
