package gen

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"
	"time"
)

func TestBucketRoundTrip(t *testing.T) {
	for _, v := range []uint64{0, 1, 255, 256, 511, 512, 513, 1000, 1 << 20, 123456789, 1<<40 + 12345} {
		i := bucketOf(v)
		low, w := bucketRange(i)
		if v < low || v >= low+w {
			t.Errorf("value %d in bucket %d = [%d,%d)", v, i, low, low+w)
		}
		if v >= 512 && float64(w)/float64(low) > 1.0/256+1e-12 {
			t.Errorf("bucket %d of %d is %d wide: more than 1/256", i, v, w)
		}
	}
	if got := bucketOf(math.MaxUint64); got != histBuckets-1 {
		t.Errorf("huge value in bucket %d, want the last (%d)", got, histBuckets-1)
	}
}

func TestQuantilesWithinOnePercent(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	cases := []struct {
		name string
		gen  func() time.Duration
	}{
		{"lognormal around 2ms", func() time.Duration { return time.Duration(2e6 * math.Exp(rng.NormFloat64())) }},
		{"uniform 0-1s", func() time.Duration { return time.Duration(rng.Int64N(int64(time.Second))) }},
		{"bimodal 100us and 1s", func() time.Duration {
			if rng.IntN(100) < 3 {
				return time.Second + time.Duration(rng.Int64N(1e8))
			}
			return 100*time.Microsecond + time.Duration(rng.Int64N(1e4))
		}},
		{"sub-microsecond", func() time.Duration { return time.Duration(rng.Int64N(900)) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var h Hist
			vals := make([]time.Duration, 20000)
			for i := range vals {
				vals[i] = c.gen()
				h.Record(vals[i])
			}
			sort.Slice(vals, func(i, j int) bool { return vals[i] < vals[j] })
			s := NewSnapshot()
			s.AddFrom(&h)
			if s.N != uint64(len(vals)) || time.Duration(s.Max) != vals[len(vals)-1] || time.Duration(s.Min) != vals[0] {
				t.Fatalf("n=%d max=%d min=%d, want %d %d %d", s.N, s.Max, s.Min, len(vals), vals[len(vals)-1], vals[0])
			}
			for _, q := range []float64{.5, .9, .95, .99, .999, 1} {
				want := vals[int(math.Ceil(q*float64(len(vals))))-1]
				got := s.Quantile(q)
				if d := math.Abs(float64(got-want)) / math.Max(float64(want), 1); d > 0.01 && math.Abs(float64(got-want)) > 1 {
					t.Errorf("p%g = %v, exact %v: off by %.2f%%", q*100, got, want, d*100)
				}
			}
		})
	}
}

func TestSnapshotSubAndCountAbove(t *testing.T) {
	var h Hist
	for i := 0; i < 10; i++ {
		h.Record(time.Millisecond)
	}
	a := NewSnapshot()
	a.AddFrom(&h)
	for i := 0; i < 5; i++ {
		h.Record(time.Second)
	}
	b := NewSnapshot()
	b.AddFrom(&h)
	d := b.Sub(a)
	if d.N != 5 || d.Quantile(.5) < 990*time.Millisecond {
		t.Errorf("difference: n=%d p50=%v, want 5 samples around 1s", d.N, d.Quantile(.5))
	}
	if n := b.CountAbove(500 * time.Millisecond); n != 5 {
		t.Errorf("CountAbove(500ms) = %d, want 5", n)
	}
	if q := NewSnapshot().Quantile(.99); q != 0 {
		t.Errorf("empty quantile = %v", q)
	}
}
