package gen

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Stage is one segment of an arrival-rate profile: the rate moves linearly
// from the previous stage's target (or the start rate) to Target over
// Duration, as in k6's ramping-arrival-rate executor.
type Stage struct {
	Duration time.Duration
	Target   float64 // requests per second at the end of the stage
}

// ParseStages parses "30s:100,2m:500,30s:0".
func ParseStages(s string) ([]Stage, error) {
	var out []Stage
	for i, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		d, r, ok := strings.Cut(part, ":")
		if !ok {
			return nil, fmt.Errorf("stage %d %q: want DURATION:RATE, for example 30s:100", i+1, part)
		}
		dur, err := time.ParseDuration(strings.TrimSpace(d))
		if err != nil || dur <= 0 {
			return nil, fmt.Errorf("stage %d %q: duration %q must be positive, like 30s or 2m", i+1, part, d)
		}
		rate, err := strconv.ParseFloat(strings.TrimSpace(r), 64)
		if err != nil || rate < 0 || math.IsInf(rate, 0) || math.IsNaN(rate) {
			return nil, fmt.Errorf("stage %d %q: rate %q must be a number of requests per second >= 0", i+1, part, r)
		}
		out = append(out, Stage{Duration: dur, Target: rate})
	}
	return out, nil
}

// Schedule maps request numbers to intended send times. The global request
// j (0-based) is due when the integral of the rate reaches j + 1/2; shard s
// of n takes the requests j = s, s+n, s+2n, … so shards together follow the
// profile exactly and never fire at the same instants.
type Schedule struct {
	stages []segment
	total  float64 // integral of the whole profile
	shard  int
	shards int
}

type segment struct {
	start time.Duration // offset of the segment
	dur   float64       // seconds
	r0    float64       // rate at start
	r1    float64       // rate at end
	cum0  float64       // integral before the segment
}

// NewSchedule builds a schedule from a start rate and stages, for shard
// (0-based) of shards.
func NewSchedule(startRate float64, stages []Stage, shard, shards int) *Schedule {
	if shards < 1 {
		shards = 1
	}
	s := &Schedule{shard: shard, shards: shards}
	var off time.Duration
	r0 := startRate
	for _, st := range stages {
		d := st.Duration.Seconds()
		s.stages = append(s.stages, segment{start: off, dur: d, r0: r0, r1: st.Target, cum0: s.total})
		s.total += (r0 + st.Target) / 2 * d
		off += st.Duration
		r0 = st.Target
	}
	return s
}

// Duration is the length of the profile.
func (s *Schedule) Duration() time.Duration {
	if len(s.stages) == 0 {
		return 0
	}
	last := s.stages[len(s.stages)-1]
	return last.start + time.Duration(last.dur*float64(time.Second))
}

// Total returns how many requests this shard schedules.
func (s *Schedule) Total() int64 {
	// global requests j with j + 0.5 <= total: floor(total + 0.5) of them.
	g := int64(math.Floor(s.total + 0.5))
	if g <= int64(s.shard) {
		return 0
	}
	return (g-int64(s.shard)-1)/int64(s.shards) + 1
}

// Cumulative returns the integral of the rate from 0 to t (whole profile,
// all shards), i.e. how many requests are due by t.
func (s *Schedule) Cumulative(t time.Duration) float64 {
	x := t.Seconds()
	for _, g := range s.stages {
		end := g.start.Seconds() + g.dur
		if x <= end {
			tau := x - g.start.Seconds()
			if tau < 0 {
				tau = 0
			}
			return g.cum0 + g.r0*tau + (g.r1-g.r0)*tau*tau/(2*g.dur)
		}
	}
	return s.total
}

// At returns the intended offset of this shard's request i (0-based) and
// false when the profile has no such request.
func (s *Schedule) At(i int64) (time.Duration, bool) {
	if i < 0 || i >= s.Total() {
		return 0, false
	}
	x := float64(i*int64(s.shards)+int64(s.shard)) + 0.5
	for _, g := range s.stages {
		if x > g.cum0+(g.r0+g.r1)/2*g.dur {
			continue
		}
		// Solve r0*τ + (r1-r0)/(2d)*τ² = x - cum0 in the stable form.
		y := x - g.cum0
		a := (g.r1 - g.r0) / (2 * g.dur)
		disc := g.r0*g.r0 + 4*a*y
		if disc < 0 {
			disc = 0
		}
		den := g.r0 + math.Sqrt(disc)
		tau := 0.0
		if den > 0 {
			tau = 2 * y / den
		}
		if tau > g.dur {
			tau = g.dur
		}
		return g.start + time.Duration(tau*float64(time.Second)), true
	}
	return s.Duration(), true
}

// FirstAtOrAfter returns the smallest request number whose intended offset
// is at or after t; used to count, in one step, requests that are too late.
func (s *Schedule) FirstAtOrAfter(t time.Duration) int64 {
	c := s.Cumulative(t) - 0.5 - float64(s.shard)
	i := int64(math.Ceil(c / float64(s.shards)))
	if i < 0 {
		i = 0
	}
	// Correct floating-point edges against At, which is authoritative.
	for i > 0 {
		if at, ok := s.At(i - 1); ok && at >= t {
			i--
			continue
		}
		break
	}
	for {
		at, ok := s.At(i)
		if !ok || at >= t {
			return i
		}
		i++
	}
}
