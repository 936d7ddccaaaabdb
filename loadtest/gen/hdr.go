package gen

import (
	"math"
	"math/bits"
	"sync/atomic"
	"time"
)

// Hist is an HDR-style log-linear latency histogram in nanoseconds: values
// below 512 ns get their own bucket, above that each power of two is split
// into 256 equal buckets, so a bucket is at most 1/256 (0.4%) of its value
// wide and a reported percentile (the bucket midpoint) is within 0.2% of the
// true one. Record is lock-free (atomic adds), so progress can read while
// workers write; workers use shards to keep cache lines apart.
type Hist struct {
	counts [histBuckets]atomic.Uint64
	sum    atomic.Uint64 // ns; overflows after ~580 years of summed latency
	max    atomic.Uint64
	min    atomic.Uint64 // stored as ^v so that zero means "none"
}

const (
	subBits     = 8
	subCount    = 1 << subBits // buckets per power of two
	maxShift    = 32           // values up to 2^41 ns (~36 min) are resolved
	histBuckets = subCount*(maxShift+1) + subCount
)

func bucketOf(v uint64) int {
	n := bits.Len64(v)
	if n <= subBits+1 {
		return int(v)
	}
	shift := n - subBits - 1
	if shift > maxShift {
		return histBuckets - 1
	}
	return shift*subCount + int(v>>uint(shift))
}

// bucketRange returns the lowest value of bucket i and its width.
func bucketRange(i int) (low, width uint64) {
	if i < 2*subCount {
		return uint64(i), 1
	}
	shift := i/subCount - 1
	sub := uint64(i - shift*subCount)
	return sub << uint(shift), 1 << uint(shift)
}

// Record adds one latency.
func (h *Hist) Record(d time.Duration) {
	v := uint64(0)
	if d > 0 {
		v = uint64(d)
	}
	h.counts[bucketOf(v)].Add(1)
	h.sum.Add(v)
	for {
		m := h.max.Load()
		if v <= m || h.max.CompareAndSwap(m, v) {
			break
		}
	}
	for {
		m := h.min.Load()
		if (m != 0 && ^m <= v) || h.min.CompareAndSwap(m, ^v) {
			break
		}
	}
}

// Snapshot is a point-in-time copy of one or more histograms, used for
// percentiles and for differences between two progress ticks.
type Snapshot struct {
	Counts []uint64
	N      uint64
	Sum    uint64
	Max    uint64
	Min    uint64
}

// NewSnapshot returns an empty snapshot.
func NewSnapshot() *Snapshot { return &Snapshot{Counts: make([]uint64, histBuckets)} }

// AddFrom adds the current contents of h to s.
func (s *Snapshot) AddFrom(h *Hist) {
	for i := range h.counts {
		if c := h.counts[i].Load(); c != 0 {
			s.Counts[i] += c
			s.N += c
		}
	}
	s.Sum += h.sum.Load()
	if m := h.max.Load(); m > s.Max {
		s.Max = m
	}
	if m := h.min.Load(); m != 0 && (s.Min == 0 || ^m < s.Min) {
		s.Min = ^m
	}
}

// Sub returns s minus an earlier snapshot of the same histograms. Min and max
// are not recoverable from a difference; they are kept from s.
func (s *Snapshot) Sub(prev *Snapshot) *Snapshot {
	out := &Snapshot{Counts: make([]uint64, len(s.Counts)), N: s.N - prev.N, Sum: s.Sum - prev.Sum, Max: s.Max, Min: s.Min}
	for i := range s.Counts {
		out.Counts[i] = s.Counts[i] - prev.Counts[i]
	}
	return out
}

// Quantile returns the q-quantile (0..1) as the midpoint of the bucket that
// holds it, clamped to the recorded max. Zero when empty.
func (s *Snapshot) Quantile(q float64) time.Duration {
	if s.N == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(s.N)))
	if rank < 1 {
		rank = 1
	}
	var seen uint64
	for i, c := range s.Counts {
		seen += c
		if seen >= rank {
			low, w := bucketRange(i)
			v := low + w/2
			if s.Max != 0 && v > s.Max {
				v = s.Max
			}
			if v < s.Min {
				v = s.Min
			}
			return time.Duration(v)
		}
	}
	return time.Duration(s.Max)
}

// Mean returns the mean latency.
func (s *Snapshot) Mean() time.Duration {
	if s.N == 0 {
		return 0
	}
	return time.Duration(s.Sum / s.N)
}

// CountAbove returns how many recorded values are at or above d (to bucket
// precision).
func (s *Snapshot) CountAbove(d time.Duration) uint64 {
	var n uint64
	for i := bucketOf(uint64(d)); i < len(s.Counts); i++ {
		n += s.Counts[i]
	}
	return n
}
