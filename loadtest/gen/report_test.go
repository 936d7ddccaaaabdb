package gen

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

func TestProgressLine(t *testing.T) {
	prev := &Stats{Hist: NewSnapshot(), Elapsed: time.Second}
	cur := &Stats{Hist: NewSnapshot(), Elapsed: 3 * time.Second, OK: 7, Failed: 2, Dropped: 1, InFlight: 4}
	var h Hist
	for i := 0; i < 100; i++ {
		h.Record(time.Duration(i+1) * time.Millisecond)
	}
	cur.Hist.AddFrom(&h)
	cases := []struct {
		tty         bool
		total       time.Duration
		prefix, end string
		remaining   string
	}{
		{true, 10 * time.Second, "\r\x1b[2K", "in-flight 4", "remaining 7s"},
		{false, 10 * time.Second, "elapsed 3s", "in-flight 4\n", "remaining 7s"},
		{false, 0, "elapsed 3s", "\n", "remaining -"},
	}
	for _, c := range cases {
		line := progressLine(cur, prev, c.total, c.tty)
		if !strings.HasPrefix(line, c.prefix) || !strings.HasSuffix(line, c.end) || strings.Count(line, "\n") > 1 {
			t.Errorf("tty=%v: %q", c.tty, line)
		}
		for _, want := range []string{c.remaining, "50.0 req/s", "p50 50ms", "p99 98.96ms", "ok 7 errors 2 dropped 1"} {
			if !strings.Contains(line, want) {
				t.Errorf("tty=%v: %q lacks %q", c.tty, line, want)
			}
		}
	}
}

// Stats must not wait for the scheduling token, which its holder keeps while
// it sleeps until the next intended time (10 s here).
func TestStatsDoNotBlockOnSlowSchedule(t *testing.T) {
	srv := newServer(t, &arrivals{}, nil)
	r, err := New(Config{Targets: []*Target{target(t, srv.URL)}, Schedule: NewSchedule(0.1, []Stage{{time.Minute, 0.1}}, 0, 1), MaxInFlight: 2, KeepAlive: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan *Summary)
	go func() { done <- r.Run(ctx) }()
	for r.scheduled.Load() < 1 {
		time.Sleep(10 * time.Millisecond)
	}
	got := make(chan *Stats)
	go func() { got <- r.Stats() }()
	select {
	case st := <-got:
		if st.Scheduled != 1 {
			t.Errorf("scheduled %d, want 1", st.Scheduled)
		}
	case <-time.After(3 * time.Second):
		t.Error("Stats blocked behind the scheduling token")
	}
	cancel()
	sum := <-done
	var buf bytes.Buffer
	sum.WriteText(&buf)
	if !strings.Contains(buf.String(), "(of 6 planned)") {
		t.Errorf("summary:\n%s", buf.String())
	}
}
