package gen

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Stats is a point-in-time view of a running generator.
type Stats struct {
	Elapsed     time.Duration
	Hist        *Snapshot
	OK, Failed  int64
	Dropped     int64
	Interrupted int64
	InFlight    int64
	Scheduled   int64
	BytesIn     int64
	BytesOut    int64
	Codes       map[int]int64
	Errors      map[string]int64
}

// Stats reads the counters. It is safe while the run goes on.
func (r *Runner) Stats() *Stats {
	s := &Stats{Hist: NewSnapshot(), Codes: map[int]int64{}, Errors: map[string]int64{}}
	if ns := r.startNanos.Load(); ns != 0 {
		s.Elapsed = time.Since(time.Unix(0, ns))
	}
	for i := range r.shards {
		sh := &r.shards[i]
		s.Hist.AddFrom(&sh.hist)
		s.OK += sh.ok.Load()
		s.Failed += sh.fail.Load()
		s.BytesIn += sh.bytesIn.Load()
		s.BytesOut += sh.bytesOut.Load()
		for c := range sh.codes {
			if n := sh.codes[c].Load(); n > 0 {
				s.Codes[c] += n
			}
		}
		for k := errKind(1); k < numErrKinds; k++ {
			if n := sh.errs[k].Load(); n > 0 {
				s.Errors[k.String()] += n
			}
		}
	}
	s.Dropped = r.dropped.Load()
	s.Interrupted = r.interrupted.Load()
	s.InFlight = r.InFlight()
	s.Scheduled = r.scheduled.Load()
	return s
}

// Summary is the end-of-run report; it is also what --summary-json writes.
type Summary struct {
	Run       string    `json:"run"`
	Mode      string    `json:"mode"` // open or closed
	Targets   []string  `json:"targets"`
	Start     time.Time `json:"start"`
	Seconds   float64   `json:"duration_seconds"`
	Planned   int64     `json:"planned_requests,omitempty"` // open model: requests in the profile
	Scheduled int64     `json:"scheduled_requests"`         // sent or dropped
	Completed int64     `json:"completed_requests"`
	Succeeded int64     `json:"succeeded"`
	Failed    int64     `json:"failed"`
	Dropped   int64     `json:"dropped"`
	// Interrupted is set when a signal (ctx) stopped the run before its
	// profile or --duration was over; InterruptedRequests were in flight
	// then and got no answer.
	Interrupted         bool             `json:"interrupted"`
	InterruptedRequests int64            `json:"interrupted_requests"`
	Throughput          float64          `json:"throughput_rps"`
	Latency             LatencySummary   `json:"latency_seconds"`
	Status              map[string]int64 `json:"status_codes"`
	Errors              map[string]int64 `json:"errors"`
	// ErrorExamples holds the first message of each error kind.
	ErrorExamples map[string]string `json:"error_examples,omitempty"`
	BytesReceived int64             `json:"bytes_received"`
	BytesSent     int64             `json:"bytes_sent"`
	// Endpoints breaks the run down by label when there are several.
	Endpoints  []EndpointSummary `json:"endpoints,omitempty"`
	Thresholds []ThresholdResult `json:"thresholds,omitempty"`
}

// LatencySummary holds latency figures in seconds, measured from intended
// send times.
type LatencySummary struct {
	Min  float64 `json:"min"`
	Mean float64 `json:"mean"`
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P95  float64 `json:"p95"`
	P99  float64 `json:"p99"`
	Max  float64 `json:"max"`
}

// Summary builds the report from the counters.
func (r *Runner) Summary() *Summary {
	st := r.Stats()
	end := time.Unix(0, r.end.Load())
	for i := range r.shards {
		if v := r.shards[i].lastEnd.Load(); v > end.UnixNano() {
			end = time.Unix(0, v)
		}
	}
	s := &Summary{
		Run: r.cfg.Run, Mode: "closed", Start: r.start.UTC(),
		Seconds:   end.Sub(r.start).Seconds(),
		Scheduled: st.Scheduled, Completed: st.OK + st.Failed, Succeeded: st.OK, Failed: st.Failed,
		Dropped: st.Dropped, Interrupted: r.cancelled.Load(), InterruptedRequests: st.Interrupted,
		Status: map[string]int64{}, Errors: st.Errors,
		BytesReceived: st.BytesIn, BytesSent: st.BytesOut,
	}
	if r.cfg.Schedule != nil {
		s.Mode = "open"
		s.Planned = r.cfg.Schedule.Total()
	} else {
		s.Scheduled = s.Completed + s.InterruptedRequests
	}
	for _, t := range r.cfg.Targets {
		s.Targets = append(s.Targets, t.Method+" "+t.rawURL)
	}
	for c, n := range st.Codes {
		s.Status[strconv.Itoa(c)] = n
	}
	if s.Seconds > 0 {
		s.Throughput = float64(s.Completed) / s.Seconds
	}
	s.Latency = latencyOf(st.Hist)
	for k := range r.firstErr {
		if msg := r.firstErr[k].Load(); msg != nil {
			if s.ErrorExamples == nil {
				s.ErrorExamples = map[string]string{}
			}
			s.ErrorExamples[errKind(k).String()] = *msg
		}
	}
	for _, l := range r.labels {
		s.Endpoints = append(s.Endpoints, l.summary(s.Seconds))
	}
	return s
}

// WriteText prints the summary for people.
func (s *Summary) WriteText(w io.Writer) {
	d := func(x float64) string { return fmtDur(time.Duration(x * float64(time.Second))) }
	fmt.Fprintf(w, "\nSummary of run %s (%s model) against %s\n", s.Run, s.Mode, strings.Join(s.Targets, ", "))
	fmt.Fprintf(w, "  duration     %s\n", fmtDur(time.Duration(s.Seconds*float64(time.Second))))
	fmt.Fprintf(w, "  requests     %d completed, %d succeeded, %d failed", s.Completed, s.Succeeded, s.Failed)
	if s.Mode == "open" {
		fmt.Fprintf(w, ", %d dropped (of %d planned)", s.Dropped, s.Planned)
	}
	if s.InterruptedRequests > 0 {
		fmt.Fprintf(w, ", %d interrupted", s.InterruptedRequests)
	}
	if s.Interrupted {
		fmt.Fprintf(w, "; stopped early by a signal")
	}
	fmt.Fprintf(w, "\n  throughput   %.1f req/s\n", s.Throughput)
	fmt.Fprintf(w, "  latency      min %s  mean %s  p50 %s  p90 %s  p95 %s  p99 %s  max %s\n",
		d(s.Latency.Min), d(s.Latency.Mean), d(s.Latency.P50), d(s.Latency.P90), d(s.Latency.P95), d(s.Latency.P99), d(s.Latency.Max))
	if s.Mode == "open" {
		fmt.Fprintf(w, "               (measured from each request's intended send time)\n")
	}
	fmt.Fprintf(w, "  status       %s\n", fmtCounts(s.Status))
	if len(s.Errors) > 0 {
		fmt.Fprintf(w, "  errors       %s\n", fmtCounts(s.Errors))
		for _, k := range sortedKeys(s.ErrorExamples) {
			fmt.Fprintf(w, "               %s: %s\n", k, s.ErrorExamples[k])
		}
	}
	fmt.Fprintf(w, "  transfer     %d bytes received, %d bytes sent\n", s.BytesReceived, s.BytesSent)
	if len(s.Endpoints) > 0 {
		writeEndpoints(w, s.Endpoints)
	}
	if len(s.Thresholds) > 0 {
		writeThresholds(w, s.Thresholds)
	}
}

// WriteJSONFile writes the summary as JSON.
func (s *Summary) WriteJSONFile(name string) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(name, append(b, '\n'), 0o644)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func fmtCounts(m map[string]int64) string {
	if len(m) == 0 {
		return "none"
	}
	keys := sortedKeys(m)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%d", k, m[k])
	}
	return strings.Join(parts, " ")
}

func fmtDur(d time.Duration) string {
	switch {
	case d >= time.Second:
		return d.Round(time.Millisecond).String()
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond).String()
	default:
		return d.Round(time.Microsecond).String()
	}
}

// Progress prints the run's progress every interval until ctx ends. On a
// terminal the line is redrawn in place; otherwise each tick is a new line.
// total is the planned duration (0 when unknown).
func (r *Runner) Progress(ctx context.Context, w io.Writer, tty bool, interval, total time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	prev := r.Stats()
	for {
		select {
		case <-ctx.Done():
			if tty {
				fmt.Fprint(w, "\r\x1b[2K")
			}
			return
		case <-t.C:
		}
		cur := r.Stats()
		fmt.Fprint(w, progressLine(cur, prev, total, tty))
		prev = cur
	}
}

func progressLine(cur, prev *Stats, total time.Duration, tty bool) string {
	win := cur.Hist.Sub(prev.Hist)
	secs := (cur.Elapsed - prev.Elapsed).Seconds()
	rate := 0.0
	if secs > 0 {
		rate = float64(win.N) / secs
	}
	remaining := "-"
	if total > 0 {
		rem := total - cur.Elapsed
		if rem < 0 {
			rem = 0
		}
		remaining = rem.Round(time.Second).String()
	}
	line := fmt.Sprintf("elapsed %s remaining %s | %.1f req/s | p50 %s p99 %s | ok %d errors %d dropped %d in-flight %d",
		cur.Elapsed.Round(time.Second), remaining, rate, fmtDur(win.Quantile(.5)), fmtDur(win.Quantile(.99)),
		cur.OK, cur.Failed, cur.Dropped, cur.InFlight)
	if tty {
		return "\r\x1b[2K" + line
	}
	return line + "\n"
}
