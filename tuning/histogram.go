package tuning

import (
	"math"
	"time"
)

// Histogram is a decaying histogram with exponentially growing buckets, the
// model of the VPA recommender: bucket i covers
// [first*(ratio^i-1)/(ratio-1), first*(ratio^(i+1)-1)/(ratio-1)), so the
// relative error of a percentile is bounded by ratio-1 at every scale (a 2m
// idle sidecar and a 40-core batch job get the same 5% precision) with a few
// hundred buckets and no stored samples. A sample's weight doubles every
// half-life of its timestamp, which is the same as older samples halving:
// recent behaviour dominates, but a weekly peak is not forgotten at once.
type Histogram struct {
	first, ratio float64
	logRatio     float64
	halfLife     float64   // ms; 0 means no decay
	ref          int64     // ms; weights are relative to 2^((t-ref)/halfLife)
	weights      []float64 // grown on demand up to maxBuckets
	maxBuckets   int
	total        float64
	max          float64 // largest sample, for max-based strategies
}

// NewHistogram covers [0, maxValue] with a first bucket of width first and
// each next bucket ratio times wider. halfLife 0 turns decay off.
func NewHistogram(first, ratio, maxValue float64, halfLife time.Duration) *Histogram {
	h := &Histogram{first: first, ratio: ratio, logRatio: math.Log(ratio), halfLife: float64(halfLife.Milliseconds())}
	h.maxBuckets = h.bucket(maxValue) + 1
	return h
}

func (h *Histogram) bucket(v float64) int {
	if v <= 0 {
		return 0
	}
	i := int(math.Floor(math.Log(v*(h.ratio-1)/h.first+1) / h.logRatio))
	if h.maxBuckets > 0 && i >= h.maxBuckets {
		i = h.maxBuckets - 1
	}
	return i
}

// start is the lower bound of bucket i.
func (h *Histogram) start(i int) float64 {
	return h.first * (math.Pow(h.ratio, float64(i)) - 1) / (h.ratio - 1)
}

// maxExponent bounds 2^((t-ref)/halfLife) so weights stay finite; beyond it
// the reference moves forward and all weights are scaled down at once.
const maxExponent = 100

// Add records v with weight w at time t (ms).
func (h *Histogram) Add(v, w float64, t int64) {
	if w <= 0 || math.IsNaN(v) || v < 0 {
		return
	}
	if v > h.max {
		h.max = v
	}
	if h.halfLife > 0 {
		if h.total == 0 {
			h.ref = t
		}
		e := float64(t-h.ref) / h.halfLife
		if e > maxExponent {
			h.shiftRef(t)
			e = 0
		}
		w *= math.Exp2(e)
	}
	i := h.bucket(v)
	// Most containers use a few dozen buckets: growing on demand keeps a
	// histogram per pod small enough for very large clusters.
	if i >= len(h.weights) {
		h.weights = append(h.weights, make([]float64, i+1-len(h.weights))...)
	}
	h.weights[i] += w
	h.total += w
}

// Merge adds the weights of o (same buckets and half-life) to h, both
// brought to the later reference time first.
func (h *Histogram) Merge(o *Histogram) {
	if o.total == 0 {
		return
	}
	h.max = math.Max(h.max, o.max)
	f := 1.0
	if h.halfLife > 0 {
		if h.total == 0 {
			h.ref = o.ref
		}
		if o.ref > h.ref {
			h.shiftRef(o.ref)
		}
		f = math.Exp2(-float64(h.ref-o.ref) / h.halfLife)
	}
	if len(o.weights) > len(h.weights) {
		h.weights = append(h.weights, make([]float64, len(o.weights)-len(h.weights))...)
	}
	for i, w := range o.weights {
		h.weights[i] += w * f
		h.total += w * f
	}
}

// FractionAbove is the share of the decayed weight above v, interpolated
// inside v's bucket as Percentile does.
func (h *Histogram) FractionAbove(v float64) float64 {
	if h.total == 0 || v >= h.max {
		return 0
	}
	i := h.bucket(v)
	var above float64
	for j := i + 1; j < len(h.weights); j++ {
		above += h.weights[j]
	}
	if i < len(h.weights) {
		lo, hi := h.start(i), h.start(i+1)
		above += h.weights[i] * math.Max(0, math.Min(1, (hi-v)/(hi-lo)))
	}
	return above / h.total
}

func (h *Histogram) shiftRef(t int64) {
	f := math.Exp2(-float64(t-h.ref) / h.halfLife)
	h.total = 0
	for i := range h.weights {
		h.weights[i] *= f
		if h.weights[i] < 1e-300 {
			h.weights[i] = 0
		}
		h.total += h.weights[i]
	}
	h.ref = t
}

// Empty reports whether no weight was added.
func (h *Histogram) Empty() bool { return h.total == 0 }

// Max is the largest sample added (not decayed: a peak is a fact).
func (h *Histogram) Max() float64 { return h.max }

// Percentile returns the value below which fraction p (0..1) of the decayed
// weight lies, interpolating linearly inside the bucket that crosses p. The
// bucket's upper bound would overstate every answer by up to ratio-1; the
// margin the callers add is the place for safety, not the histogram.
func (h *Histogram) Percentile(p float64) float64 {
	if h.total == 0 {
		return 0
	}
	if p >= 1 {
		return h.max
	}
	want := p * h.total
	var acc float64
	for i, w := range h.weights {
		if w == 0 {
			continue
		}
		if acc+w >= want {
			lo, hi := h.start(i), h.start(i+1)
			v := lo + (hi-lo)*(want-acc)/w
			return math.Min(v, h.max)
		}
		acc += w
	}
	return h.max
}
