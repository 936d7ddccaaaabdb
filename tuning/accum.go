package tuning

import "math"

// accum is one resource of one container folded from its samples: all a
// recommendation needs. Raw histories (fold) and streamed ones
// (Aggregator) fill it through the same methods, and pods' accumulators
// merge into their container's.
type accum struct {
	h           *Histogram // CPU usage, or memory interval peaks
	n           int        // raw samples
	first, last int64
	sum         float64
	trend       trendFit // memory peaks
	ooms        []podSample
}

type podSample struct {
	pod string
	s   Sample
}

func newAccum(resource string, o Options) *accum {
	a := &accum{first: math.MaxInt64, last: math.MinInt64}
	if resource == CPU {
		// 1m first bucket: idle containers use a few millicores, and a
		// 10m first bucket (VPA's) would floor them all at 10m.
		a.h = NewHistogram(0.001, 1.05, 1000, o.HalfLife)
	} else {
		a.h = NewHistogram(mi, 1.05, 1<<40, o.HalfLife)
	}
	return a
}

// usage records a raw sample; for CPU it is also the histogram sample.
func (a *accum) usage(s Sample) {
	a.n++
	a.sum += s.V
	a.first = min(a.first, s.T)
	a.last = max(a.last, s.T)
	if a.isCPU() {
		a.h.Add(s.V, 1, s.T)
	}
}

func (a *accum) isCPU() bool { return a.h.first < 1 }

// peak records one interval peak of memory.
func (a *accum) peak(s Sample) {
	a.h.Add(s.V, 1, s.T)
	a.trend.add(s)
}

func (a *accum) mean() float64 { return a.sum / float64(max(a.n, 1)) }

func (a *accum) merge(b *accum) {
	a.h.Merge(b.h)
	a.n += b.n
	a.sum += b.sum
	a.first = min(a.first, b.first)
	a.last = max(a.last, b.last)
	a.trend.n += b.trend.n
	a.trend.sx += b.trend.sx
	a.trend.sy += b.trend.sy
	a.trend.sxx += b.trend.sxx
	a.trend.sxy += b.trend.sxy
	a.trend.syy += b.trend.syy
	a.ooms = append(a.ooms, b.ooms...)
}

// peakState tracks the current interval's peak of one stream. Intervals
// are aligned to the epoch, so all pods share boundaries, and a peak is
// stamped at its interval's end.
type peakState struct {
	cur  Sample
	have bool
}

func (p *peakState) add(s Sample, iv int64, a *accum) {
	end := (s.T-1)/iv*iv + iv
	if p.have && p.cur.T == end {
		p.cur.V = math.Max(p.cur.V, s.V)
		return
	}
	p.flush(a)
	p.cur, p.have = Sample{end, s.V}, true
}

func (p *peakState) flush(a *accum) {
	if p.have {
		a.peak(p.cur)
		p.have = false
	}
}

// rater turns one stream's CPU counter into per-interval rates in cores.
// A decrease is a counter reset (the new value is the increase since the
// restart, as Prometheus' rate() assumes), and a gap over five times the
// stream's shortest interval is skipped: it would smear an outage or a
// restart into a fake average.
type rater struct {
	last   Sample
	have   bool
	minGap int64
}

func (r *rater) next(s Sample) (Sample, bool) {
	prev, had := r.last, r.have
	r.last, r.have = s, true
	if !had {
		return Sample{}, false
	}
	dt := s.T - prev.T
	if dt <= 0 {
		return Sample{}, false
	}
	if r.minGap == 0 || dt < r.minGap {
		r.minGap = dt
	}
	if dt > 5*r.minGap {
		return Sample{}, false
	}
	inc := s.V - prev.V
	if inc < 0 {
		inc = s.V
	}
	return Sample{T: s.T, V: inc / (float64(dt) / 1000)}, true
}
