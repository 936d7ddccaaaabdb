package gen

import (
	"strings"
	"testing"
	"time"
)

func TestParseStages(t *testing.T) {
	cases := []struct {
		in      string
		want    []Stage
		wantErr string
	}{
		{in: "30s:100,2m:500,30s:0", want: []Stage{{30 * time.Second, 100}, {2 * time.Minute, 500}, {30 * time.Second, 0}}},
		{in: " 1s : 2.5 ", want: []Stage{{time.Second, 2.5}}},
		{in: "30s", wantErr: "want DURATION:RATE"},
		{in: "x:10", wantErr: "must be positive"},
		{in: "0s:10", wantErr: "must be positive"},
		{in: "10s:-1", wantErr: ">= 0"},
		{in: "10s:fast", wantErr: ">= 0"},
		{in: "10s:10,", wantErr: "stage 2"},
	}
	for _, c := range cases {
		got, err := ParseStages(c.in)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("ParseStages(%q) error %v, want %q", c.in, err, c.wantErr)
			}
			continue
		}
		if err != nil || len(got) != len(c.want) {
			t.Fatalf("ParseStages(%q) = %v, %v", c.in, got, err)
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("ParseStages(%q)[%d] = %v, want %v", c.in, i, got[i], c.want[i])
			}
		}
	}
}

// countIn counts requests whose intended offset falls in [from, to).
func countIn(s *Schedule, from, to time.Duration) int64 {
	var n int64
	for i := int64(0); ; i++ {
		at, ok := s.At(i)
		if !ok {
			return n
		}
		if at >= from && at < to {
			n++
		}
	}
}

func TestScheduleStageCounts(t *testing.T) {
	cases := []struct {
		name      string
		startRate float64
		stages    string
		perStage  []int64 // requests intended in each stage
	}{
		{"constant", 100, "10s:100", []int64{1000}},
		{"ramp up from zero", 0, "10s:100", []int64{500}},
		{"ramp hold ramp down", 0, "10s:100,20s:100,10s:0", []int64{500, 2000, 500}},
		{"k6 example", 0, "30s:100,2m:500,30s:0", []int64{1500, 36000, 7500}},
		{"fractional", 0.5, "4s:0.5", []int64{2}}, // due when the integral reaches 0.5 and 1.5: at 1s and 3s
		{"idle stage", 0, "5s:0,5s:10", []int64{0, 25}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			stages, err := ParseStages(c.stages)
			if err != nil {
				t.Fatal(err)
			}
			s := NewSchedule(c.startRate, stages, 0, 1)
			var off time.Duration
			var sum int64
			for i, st := range stages {
				if got := countIn(s, off, off+st.Duration); got != c.perStage[i] {
					t.Errorf("stage %d (%v to %g/s): %d requests, want %d", i+1, st.Duration, st.Target, got, c.perStage[i])
				}
				off += st.Duration
				sum += c.perStage[i]
			}
			if s.Total() != sum {
				t.Errorf("Total = %d, want %d", s.Total(), sum)
			}
			if s.Duration() != off {
				t.Errorf("Duration = %v, want %v", s.Duration(), off)
			}
			prev := time.Duration(-1)
			for i := int64(0); i < s.Total(); i++ {
				at, _ := s.At(i)
				if at < prev {
					t.Fatalf("request %d at %v before request %d at %v", i, at, i-1, prev)
				}
				prev = at
			}
		})
	}
}

func TestScheduleConstantSpacing(t *testing.T) {
	s := NewSchedule(500, []Stage{{4 * time.Second, 500}}, 0, 1)
	for _, c := range []struct {
		i    int64
		want time.Duration
	}{{0, time.Millisecond}, {1, 3 * time.Millisecond}, {1999, 3999 * time.Millisecond}} {
		if at, ok := s.At(c.i); !ok || (at-c.want).Abs() > time.Microsecond {
			t.Errorf("At(%d) = %v, %v; want %v", c.i, at, ok, c.want)
		}
	}
	if _, ok := s.At(2000); ok {
		t.Error("At(2000) exists; the profile has 2000 requests")
	}
}

func TestShardsPartitionTheProfile(t *testing.T) {
	stages := []Stage{{2 * time.Second, 300}, {3 * time.Second, 50}}
	whole := NewSchedule(0, stages, 0, 1)
	for _, n := range []int{1, 2, 3, 7} {
		var all []time.Duration
		for sh := 0; sh < n; sh++ {
			s := NewSchedule(0, stages, sh, n)
			for i := int64(0); ; i++ {
				at, ok := s.At(i)
				if !ok {
					break
				}
				all = append(all, at)
			}
		}
		if int64(len(all)) != whole.Total() {
			t.Errorf("%d shards schedule %d requests, the whole profile %d", n, len(all), whole.Total())
		}
	}
	a, _ := NewSchedule(100, []Stage{{time.Second, 100}}, 0, 2).At(0)
	b, _ := NewSchedule(100, []Stage{{time.Second, 100}}, 1, 2).At(0)
	if a == b {
		t.Errorf("shards 0 and 1 both start at %v; they should interleave", a)
	}
}

func TestFirstAtOrAfter(t *testing.T) {
	s := NewSchedule(0, []Stage{{10 * time.Second, 100}, {5 * time.Second, 100}}, 1, 3)
	for _, off := range []time.Duration{0, time.Millisecond, 3 * time.Second, 10 * time.Second, 12345 * time.Millisecond, 15 * time.Second, time.Minute} {
		i := s.FirstAtOrAfter(off)
		if at, ok := s.At(i); ok && at < off {
			t.Errorf("FirstAtOrAfter(%v) = %d at %v: before", off, i, at)
		}
		if i > 0 {
			if at, ok := s.At(i - 1); ok && at >= off {
				t.Errorf("FirstAtOrAfter(%v) = %d, but %d at %v is not before", off, i, i-1, at)
			}
		}
	}
}

func FuzzParseStages(f *testing.F) {
	for _, s := range []string{"30s:100,2m:500,30s:0", "1s:1", "", ":", "1h:1e9", "5s:0.001,1ms:3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		stages, err := ParseStages(in)
		if err != nil {
			return
		}
		s := NewSchedule(0, stages, 0, 1)
		if s.Total() > 1e6 {
			return
		}
		prev := time.Duration(-1)
		for i := int64(0); i < s.Total(); i++ {
			at, ok := s.At(i)
			if !ok || at < prev || at > s.Duration() {
				t.Fatalf("%q: request %d at %v (ok %v), previous %v, duration %v", in, i, at, ok, prev, s.Duration())
			}
			prev = at
		}
	})
}
