package tuning

import (
	"math"
	"sort"
	"testing"
	"time"
)

func TestHistogramPercentileAccuracy(t *testing.T) {
	// Values spread over three decades: the exponential buckets must keep
	// the relative error within the 5% bucket growth at every scale.
	var vals []float64
	for i := 0; i < 5000; i++ {
		vals = append(vals, 0.002*math.Pow(1000, float64(i)/4999))
	}
	h := NewHistogram(0.001, 1.05, 1000, 0)
	for _, v := range vals {
		h.Add(v, 1, 0)
	}
	sort.Float64s(vals)
	for _, p := range []float64{0.1, 0.5, 0.9, 0.95, 0.99} {
		want := vals[int(p*float64(len(vals)))-1]
		got := h.Percentile(p)
		if math.Abs(got-want)/want > 0.05 {
			t.Errorf("p%g = %g, want %g within 5%%", p*100, got, want)
		}
	}
	if h.Percentile(1) != vals[len(vals)-1] {
		t.Errorf("p100 = %g, want the max %g", h.Percentile(1), vals[len(vals)-1])
	}
}

func TestHistogramDecay(t *testing.T) {
	hl := 24 * time.Hour
	day := hl.Milliseconds()
	tests := []struct {
		name     string
		halfLife time.Duration
		samples  []Sample // V at T, weight 1 each
		p        float64
		want     float64 // within 5%
	}{
		// Equal counts: without decay the median is the lower value.
		{"no decay", 0, []Sample{{0, 1}, {0, 1}, {day, 10}}, 0.5, 1},
		// One half-life later a sample weighs twice as much: 1+1 vs 2+2.
		{"newer weighs double", hl, []Sample{{0, 1}, {0, 1}, {day, 10}, {day, 10}}, 0.4, 10},
		{"older still counts", hl, []Sample{{0, 1}, {0, 1}, {day, 10}, {day, 10}}, 0.3, 1},
		// Two hundred half-lives apart: weights are rescaled, not infinite,
		// and the old sample has decayed to nothing.
		{"rescaled far apart", hl, []Sample{{0, 1}, {200 * day, 10}}, 0.01, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := NewHistogram(0.001, 1.05, 1000, tt.halfLife)
			for _, s := range tt.samples {
				h.Add(s.V, 1, s.T)
			}
			got := h.Percentile(tt.p)
			if math.IsInf(got, 0) || math.IsNaN(got) || math.Abs(got-tt.want)/tt.want > 0.05 {
				t.Errorf("p%g = %g, want %g", tt.p*100, got, tt.want)
			}
		})
	}
}

func TestHistogramEdges(t *testing.T) {
	h := NewHistogram(0.001, 1.05, 10, 0)
	if !h.Empty() || h.Percentile(0.5) != 0 {
		t.Fatalf("empty histogram: Empty=%v p50=%g", h.Empty(), h.Percentile(0.5))
	}
	h.Add(-1, 1, 0)         // negative: ignored
	h.Add(math.NaN(), 1, 0) // NaN: ignored
	h.Add(5, 0, 0)          // zero weight: ignored
	if !h.Empty() {
		t.Fatal("invalid samples were counted")
	}
	h.Add(50, 1, 0) // above the range: lands in the last bucket, max kept
	if h.Max() != 50 || h.Percentile(0.5) > 50 {
		t.Errorf("over-range sample: max %g p50 %g", h.Max(), h.Percentile(0.5))
	}
}
