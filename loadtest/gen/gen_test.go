package gen

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/csv"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/kubepulse/kubepulse/loadtest"
	"github.com/kubepulse/kubepulse/loadtest/parse"
)

// arrivals is a test server that records when requests arrive.
type arrivals struct {
	mu          sync.Mutex
	times       []time.Time
	traceparent []string
	inFlight    atomic.Int64
	maxInFlight atomic.Int64
	conns       atomic.Int64
}

func (a *arrivals) note(r *http.Request) {
	a.mu.Lock()
	a.times = append(a.times, time.Now())
	a.traceparent = append(a.traceparent, r.Header.Get("Traceparent"))
	a.mu.Unlock()
}

func (a *arrivals) count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.times)
}

func newServer(t *testing.T, a *arrivals, h func(w http.ResponseWriter, r *http.Request)) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := a.inFlight.Add(1)
		defer a.inFlight.Add(-1)
		for {
			m := a.maxInFlight.Load()
			if n <= m || a.maxInFlight.CompareAndSwap(m, n) {
				break
			}
		}
		a.note(r)
		if h != nil {
			h(w, r)
			return
		}
		_, _ = io.WriteString(w, "ok")
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			a.conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

func target(t *testing.T, url string) *Target {
	t.Helper()
	tg, err := NewTarget("GET", url, nil, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	return tg
}

func run(t *testing.T, cfg Config) (*Runner, *Summary) {
	t.Helper()
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	return r, r.Run(ctx)
}

func constant(rate float64, d time.Duration) *Schedule {
	return NewSchedule(rate, []Stage{{d, rate}}, 0, 1)
}

// The tolerance check: a fixed rate is achieved within 2%, counted at
// the server.
func TestAchievedRateWithinTwoPercent(t *testing.T) {
	var a arrivals
	srv := newServer(t, &a, nil)
	const rate, secs = 500, 4
	_, sum := run(t, Config{
		Targets: []*Target{target(t, srv.URL+"/rate")}, Schedule: constant(rate, secs*time.Second),
		MaxInFlight: 64, KeepAlive: true, MaxDelay: time.Second, Run: "rate",
	})
	n := a.count()
	if want := rate * secs; math.Abs(float64(n-want)) > 0.02*float64(want) {
		t.Fatalf("server saw %d requests, want %d ±2%%", n, want)
	}
	if int64(n) != sum.Completed || sum.Failed != 0 {
		t.Errorf("summary completed %d failed %d, server saw %d", sum.Completed, sum.Failed, n)
	}
	// The rate between the 1st and the 99th percentile of arrival times, so
	// that a scheduling hiccup on a busy machine at either end of the run
	// does not stretch the span.
	a.mu.Lock()
	times := append([]time.Time(nil), a.times...)
	a.mu.Unlock()
	sort.Slice(times, func(i, j int) bool { return times[i].Before(times[j]) })
	lo, hi := n/100, n-1-n/100
	span := times[hi].Sub(times[lo]).Seconds()
	achieved := float64(hi-lo) / span
	if math.Abs(achieved-rate)/rate > 0.02 {
		t.Errorf("achieved %.1f req/s over %.3fs at the server, want %d ±2%%", achieved, span, rate)
	}
}

// stallServer stalls every request that arrives in a one-second window
// opened by the first request after `after`, until the window ends.
func stallServer(t *testing.T, a *arrivals, after time.Duration) *httptest.Server {
	var (
		mu         sync.Mutex
		start      time.Time
		stallUntil time.Time
	)
	return newServer(t, a, func(w http.ResponseWriter, _ *http.Request) {
		now := time.Now()
		mu.Lock()
		if start.IsZero() {
			start = now
		}
		if stallUntil.IsZero() && now.Sub(start) >= after {
			stallUntil = now.Add(time.Second)
		}
		until := stallUntil
		mu.Unlock()
		if now.Before(until) {
			time.Sleep(until.Sub(now))
		}
		_, _ = io.WriteString(w, "ok")
	})
}

// A one-second stall shows in the open model's p99, while a closed loop of
// the same server hides it (coordinated omission): far fewer slow samples.
func TestStallShowsInOpenModelNotClosedLoop(t *testing.T) {
	const slow = 500 * time.Millisecond // half the stall
	var ao, ac arrivals
	open := stallServer(t, &ao, 500*time.Millisecond)
	ro, so := run(t, Config{
		Targets: []*Target{target(t, open.URL)}, Schedule: constant(200, 3*time.Second),
		MaxInFlight: 1000, KeepAlive: true, MaxDelay: 5 * time.Second, Run: "open",
	})
	closed := stallServer(t, &ac, 500*time.Millisecond)
	rc, sc := run(t, Config{
		Targets: []*Target{target(t, closed.URL)}, Duration: 3 * time.Second,
		MaxInFlight: 4, KeepAlive: true, Run: "closed",
	})
	openSlow := ro.Stats().Hist.CountAbove(slow)
	closedSlow := rc.Stats().Hist.CountAbove(slow)
	t.Logf("open: %d requests (%d dropped), %d >= %v, p99 %.3fs; closed: %d requests, %d >= %v, p99 %.3fs",
		so.Completed, so.Dropped, openSlow, slow, so.Latency.P99, sc.Completed, closedSlow, slow, sc.Latency.P99)
	if so.Latency.P99 < slow.Seconds() {
		t.Errorf("open-model p99 %.3fs does not include the 1s stall", so.Latency.P99)
	}
	if openSlow < 50 {
		t.Errorf("open model: %d samples >= %v, want the ~100 requests due in the first half of the stall", openSlow, slow)
	}
	// With 4 connections at most 4 closed-loop requests can be stalled; the
	// relation below leaves room for a scheduling hiccup on a busy machine.
	if openSlow < 10*max(closedSlow, 1) {
		t.Errorf("open model %d slow samples vs closed loop %d: want at least 10x", openSlow, closedSlow)
	}
	if sc.Latency.P99 >= so.Latency.P99 {
		t.Errorf("closed-loop p99 %.3fs >= open-model p99 %.3fs", sc.Latency.P99, so.Latency.P99)
	}
}

func TestDroppedWhenMaxInFlightTooLow(t *testing.T) {
	var a arrivals
	srv := newServer(t, &a, func(w http.ResponseWriter, _ *http.Request) {
		time.Sleep(50 * time.Millisecond)
		_, _ = io.WriteString(w, "slow")
	})
	m := NewMetrics()
	r, sum := run(t, Config{
		Targets: []*Target{target(t, srv.URL)}, Schedule: constant(200, 2*time.Second),
		MaxInFlight: 2, KeepAlive: true, Run: "drop", Metrics: m,
	})
	if sum.Planned != 400 {
		t.Fatalf("planned %d, want 400", sum.Planned)
	}
	if sum.Dropped+sum.Completed != sum.Planned {
		t.Errorf("dropped %d + completed %d != planned %d", sum.Dropped, sum.Completed, sum.Planned)
	}
	// Two workers at 50ms each can send at most 80 of the 400 requests.
	if sum.Dropped < 300 || sum.Completed > 100 {
		t.Errorf("dropped %d, completed %d: want most of the 400 dropped", sum.Dropped, sum.Completed)
	}
	if int64(a.count()) != sum.Completed || a.maxInFlight.Load() > 2 {
		t.Errorf("server saw %d requests (summary %d), up to %d at once (max 2)", a.count(), sum.Completed, a.maxInFlight.Load())
	}
	if got := counterValue(t, m.Dropped.WithLabelValues("drop")); got != float64(sum.Dropped) {
		t.Errorf("%s = %v, summary says %d", DroppedDef.Name, got, sum.Dropped)
	}
	_ = r
}

func counterValue(t *testing.T, c prometheus.Collector) float64 {
	t.Helper()
	ch := make(chan prometheus.Metric, 1)
	c.Collect(ch)
	var m dto.Metric
	if err := (<-ch).Write(&m); err != nil {
		t.Fatal(err)
	}
	if m.Counter != nil {
		return m.Counter.GetValue()
	}
	return m.Gauge.GetValue()
}

func TestClosedLoopBoundsConcurrency(t *testing.T) {
	var a arrivals
	srv := newServer(t, &a, nil)
	_, sum := run(t, Config{Targets: []*Target{target(t, srv.URL)}, Duration: 500 * time.Millisecond, MaxInFlight: 4, KeepAlive: true})
	if sum.Completed == 0 || int64(a.count()) != sum.Completed {
		t.Errorf("completed %d, server saw %d", sum.Completed, a.count())
	}
	if a.maxInFlight.Load() > 4 || a.conns.Load() > 4 {
		t.Errorf("server saw %d concurrent requests on %d connections, want at most 4", a.maxInFlight.Load(), a.conns.Load())
	}
	if sum.Mode != "closed" || sum.Dropped != 0 {
		t.Errorf("mode %s dropped %d", sum.Mode, sum.Dropped)
	}
}

func TestKeepAliveAndNoKeepAlive(t *testing.T) {
	for _, keep := range []bool{true, false} {
		var a arrivals
		srv := newServer(t, &a, nil)
		_, sum := run(t, Config{Targets: []*Target{target(t, srv.URL)}, Schedule: constant(100, time.Second), MaxInFlight: 8, KeepAlive: keep, MaxDelay: time.Second})
		conns := a.conns.Load()
		if sum.Completed != 100 || sum.Failed != 0 {
			t.Fatalf("keep-alive %v: completed %d failed %d", keep, sum.Completed, sum.Failed)
		}
		if keep && conns > 8 {
			t.Errorf("keep-alive: %d connections for 100 requests, want at most 8", conns)
		}
		if !keep && conns != 100 {
			t.Errorf("no keep-alive: %d connections for 100 requests, want 100", conns)
		}
	}
}

// A kept-alive connection that the server closes between requests is
// retried once on a new connection and is not an error.
func TestStaleKeepAliveConnectionIsRetried(t *testing.T) {
	var a arrivals
	var n atomic.Int64
	srv := newServer(t, &a, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "2") // a complete response even when flushed early
		_, _ = io.WriteString(w, "ok")
		if n.Add(1)%3 == 0 {
			// Close after the response without telling the client.
			if hj, ok := w.(http.Hijacker); ok {
				w.(http.Flusher).Flush()
				c, _, _ := hj.Hijack()
				c.Close()
			}
		}
	})
	_, sum := run(t, Config{Targets: []*Target{target(t, srv.URL)}, Schedule: constant(50, time.Second), MaxInFlight: 1, KeepAlive: true, MaxDelay: time.Second})
	if sum.Failed != 0 || sum.Completed != 50 {
		t.Errorf("completed %d, failed %d (%v), want 50 without errors", sum.Completed, sum.Failed, sum.Errors)
	}
}

func TestErrorsAreCountedByKind(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "http://" + l.Addr().String() + "/"
	l.Close()
	var a arrivals
	slow := newServer(t, &a, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(2 * time.Second):
		case <-r.Context().Done():
		}
	})
	// A lookup that never leaves the machine: the resolver's server is unreachable.
	noDNS := &net.Resolver{PreferGo: true, Dial: func(context.Context, string, string) (net.Conn, error) {
		return nil, errors.New("no DNS server in this test")
	}}
	cases := []struct {
		name, url string
		timeout   time.Duration
		resolver  *net.Resolver
		kind      string
		example   string
	}{
		{"refused", refused, time.Second, nil, "connection refused", "connection refused"},
		{"timeout", slow.URL, 100 * time.Millisecond, nil, "timeout", "i/o timeout"},
		{"dns", "http://nosuch.invalid/", time.Second, noDNS, "dns", "lookup nosuch.invalid"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, sum := run(t, Config{Targets: []*Target{target(t, c.url)}, Schedule: constant(20, 500*time.Millisecond), MaxInFlight: 20, Timeout: c.timeout, KeepAlive: true, MaxDelay: time.Second, Resolver: c.resolver})
			if sum.Completed != 10 || sum.Failed != 10 || sum.Errors[c.kind] != 10 {
				t.Errorf("completed %d failed %d errors %v, want 10 %q", sum.Completed, sum.Failed, sum.Errors, c.kind)
			}
			if ex := sum.ErrorExamples[c.kind]; !strings.Contains(ex, c.example) {
				t.Errorf("example of %q errors %q, want it to contain %q", c.kind, ex, c.example)
			}
			var text strings.Builder
			sum.WriteText(&text)
			if !strings.Contains(text.String(), c.kind+": ") {
				t.Errorf("summary text does not show a %s error:\n%s", c.kind, text.String())
			}
		})
	}
}

func TestTLSOptions(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "tls") }))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // rejected handshakes are the point of one case
	srv.StartTLS()
	defer srv.Close()
	pool := srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		tls     *tls.Config
		wantErr bool
	}{
		{"system roots reject the test CA", nil, true},
		{"insecure", &tls.Config{InsecureSkipVerify: true}, false},
		{"test CA", &tls.Config{RootCAs: pool}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, sum := run(t, Config{Targets: []*Target{target(t, srv.URL)}, Schedule: constant(20, 500*time.Millisecond), MaxInFlight: 10, TLS: c.tls, KeepAlive: true, MaxDelay: 5 * time.Second})
			if c.wantErr && (sum.Completed == 0 || sum.Errors["tls"] != sum.Completed || sum.Succeeded != 0) {
				t.Errorf("completed %d, errors %v, want all tls", sum.Completed, sum.Errors)
			}
			if !c.wantErr && (sum.Succeeded != 10 || sum.Status["200"] != 10) {
				t.Errorf("succeeded %d status %v errors %v, want 10x 200", sum.Succeeded, sum.Status, sum.Errors)
			}
		})
	}
}

func TestCancelStopsGracefully(t *testing.T) {
	var a arrivals
	hang := make(chan struct{})
	defer close(hang)
	var n atomic.Int64
	srv := newServer(t, &a, func(w http.ResponseWriter, _ *http.Request) {
		if n.Add(1) > 20 {
			<-hang // later requests never answer: they must be interrupted
		}
		_, _ = io.WriteString(w, "ok")
	})
	r, err := New(Config{Targets: []*Target{target(t, srv.URL)}, Schedule: constant(100, time.Minute), MaxInFlight: 50, KeepAlive: true, ShutdownGrace: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan *Summary)
	go func() { done <- r.Run(ctx) }()
	for a.count() < 30 {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	var sum *Summary
	select {
	case sum = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	if sum.Succeeded != 20 || sum.InterruptedRequests < 1 || sum.Failed != 0 || !sum.Interrupted {
		t.Errorf("succeeded %d interrupted %d failed %d: want the 20 answered, the hung ones interrupted and not failed", sum.Succeeded, sum.InterruptedRequests, sum.Failed)
	}
	if sum.Planned != 6000 || sum.Scheduled >= sum.Planned {
		t.Errorf("planned %d scheduled %d: the run should stop early", sum.Planned, sum.Scheduled)
	}
}

func TestWeightedTargets(t *testing.T) {
	var a arrivals
	srv := newServer(t, &a, nil)
	ts, err := ParseTargets("inline", strings.NewReader(fmt.Sprintf("{\"url\":%q,\"weight\":3,\"label\":\"a\"}\n{\"url\":%q,\"label\":\"b\"}\n", srv.URL+"/a", srv.URL+"/b")))
	if err != nil {
		t.Fatal(err)
	}
	m := NewMetrics()
	_, sum := run(t, Config{Targets: ts, Schedule: constant(400, time.Second), MaxInFlight: 32, KeepAlive: true, Metrics: m, Run: "w", MaxDelay: 5 * time.Second})
	na := counterValue(t, m.Requests.WithLabelValues("w", "a", "200", "success"))
	nb := counterValue(t, m.Requests.WithLabelValues("w", "b", "200", "success"))
	if na+nb != float64(sum.Completed) || sum.Completed < 200 {
		t.Fatalf("a %v + b %v, completed %d", na, nb, sum.Completed)
	}
	if share := na / (na + nb); share < 0.6 || share > 0.9 {
		t.Errorf("weight 3:1 gave share %.2f to a", share)
	}
}

// Every request carries a traceparent, and the latency histogram's exemplars
// are trace ids the server saw.
func TestTraceparentExemplars(t *testing.T) {
	var a arrivals
	srv := newServer(t, &a, nil)
	m := NewMetrics()
	r, sum := run(t, Config{Targets: []*Target{target(t, srv.URL)}, Schedule: constant(200, time.Second), MaxInFlight: 16, KeepAlive: true, Metrics: m, Run: "tp", MaxDelay: time.Second})
	seen := map[string]bool{}
	a.mu.Lock()
	for _, tp := range a.traceparent {
		mm := traceparentRE.FindStringSubmatch(tp)
		if mm == nil {
			t.Fatalf("request without a valid traceparent: %q", tp)
		}
		if seen[mm[1]] {
			t.Fatalf("trace id %s sent twice", mm[1])
		}
		seen[mm[1]] = true
	}
	a.mu.Unlock()
	r.UpdateGauges()
	reg := prometheus.NewRegistry()
	reg.MustRegister(m)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	exemplars := 0
	var count uint64
	names := map[string]bool{}
	for _, mf := range mfs {
		names[mf.GetName()] = true
		if mf.GetName() != loadtest.DurationDef.Name {
			continue
		}
		for _, met := range mf.Metric {
			h := met.GetHistogram()
			count += h.GetSampleCount()
			var exs []*dto.Exemplar
			for _, b := range h.Bucket {
				if b.Exemplar != nil {
					exs = append(exs, b.Exemplar)
				}
			}
			exs = append(exs, h.Exemplars...)
			for _, ex := range exs {
				for _, lp := range ex.Label {
					if lp.GetName() == "trace_id" {
						exemplars++
						if !seen[lp.GetValue()] {
							t.Errorf("exemplar trace id %s was never sent", lp.GetValue())
						}
					}
				}
			}
			if h.GetSchema() == 0 && len(h.PositiveSpan) == 0 {
				t.Error("latency histogram has no native buckets")
			}
		}
	}
	if count != uint64(sum.Completed) || exemplars == 0 {
		t.Errorf("histogram count %d (completed %d), %d exemplars", count, sum.Completed, exemplars)
	}
	for _, name := range []string{loadtest.RequestsDef.Name, loadtest.BytesReceivedDef.Name, loadtest.BytesSentDef.Name, loadtest.ActiveUsersDef.Name, loadtest.LastSampleDef.Name} {
		if !names[name] {
			t.Errorf("metric %s missing", name)
		}
	}
}

// sink totals what the ingestion parser reads back from a JTL file.
type sink struct {
	n, failed, bytesIn, bytesSent int64
	elapsed                       time.Duration
	errs                          []string
	labels                        map[string]int64
}

func (s *sink) Sample(x *loadtest.Sample) {
	s.n++
	if !x.Success {
		s.failed++
	}
	s.elapsed += x.Elapsed
	s.bytesIn += x.BytesReceived
	s.bytesSent += x.BytesSent
	s.labels[x.Label]++
}
func (s *sink) Users(string, float64, time.Time)              {}
func (s *sink) Bytes(string, string, int64, int64, time.Time) {}
func (s *sink) Error(e *parse.Error)                          { s.errs = append(s.errs, e.Error()) }

// The JTL file is valid CSV with JMeter's 17 columns and the run, and its totals match
// the summary, read both with encoding/csv and with kubepulse's own parser.
func TestJTLMatchesSummary(t *testing.T) {
	var a arrivals
	var n atomic.Int64
	srv := newServer(t, &a, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/missing":
			http.NotFound(w, r)
		case n.Add(1)%5 == 0:
			http.Error(w, "boom", http.StatusInternalServerError)
		default:
			_, _ = io.WriteString(w, "hello")
		}
	})
	ts, err := ParseTargets("inline", strings.NewReader(fmt.Sprintf(
		"{\"url\":%q,\"label\":\"say \\\"hi\\\", please\",\"weight\":4}\n{\"url\":%q,\"label\":\"missing\"}\n",
		srv.URL+"/hi?a=1,b=2", srv.URL+"/missing")))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	out.WriteString(JTLHeader)
	_, sum := run(t, Config{Targets: ts, Schedule: constant(200, time.Second), MaxInFlight: 16, KeepAlive: true, JTL: &out, Run: "jtl, run", MaxDelay: time.Second})
	if sum.Completed != 200 || sum.Failed == 0 || sum.Succeeded == 0 {
		t.Fatalf("completed %d failed %d succeeded %d", sum.Completed, sum.Failed, sum.Succeeded)
	}

	rows, err := csv.NewReader(bytes.NewReader(out.Bytes())).ReadAll()
	if err != nil {
		t.Fatalf("JTL is not valid CSV: %v", err)
	}
	const jmeterDefault = "timeStamp,elapsed,label,responseCode,responseMessage,threadName,dataType,success,failureMessage,bytes,sentBytes,grpThreads,allThreads,URL,Latency,IdleTime,Connect"
	if got := strings.Join(rows[0], ","); got != jmeterDefault+",kubepulse_run" || len(rows[0]) != 18 {
		t.Fatalf("header %q: want JMeter's default 17 columns and the run", got)
	}
	col := map[string]int{}
	for i, c := range rows[0] {
		col[c] = i
	}
	var ok, failed, bytesIn, sent, elapsedMS int64
	labels := map[string]int64{}
	for _, row := range rows[1:] {
		if len(row) != 18 || row[col["kubepulse_run"]] != "jtl, run" {
			t.Fatalf("row with %d fields, want 18 ending in the run: %q", len(row), row)
		}
		if row[col["success"]] == "true" {
			ok++
		} else {
			failed++
		}
		b, _ := strconv.ParseInt(row[col["bytes"]], 10, 64)
		s, _ := strconv.ParseInt(row[col["sentBytes"]], 10, 64)
		e, _ := strconv.ParseInt(row[col["elapsed"]], 10, 64)
		bytesIn += b
		sent += s
		elapsedMS += e
		labels[row[col["label"]]]++
		if _, err := strconv.ParseInt(row[col["timeStamp"]], 10, 64); err != nil {
			t.Errorf("timeStamp %q", row[col["timeStamp"]])
		}
	}
	if int64(len(rows)-1) != sum.Completed || ok != sum.Succeeded || failed != sum.Failed || bytesIn != sum.BytesReceived || sent != sum.BytesSent {
		t.Errorf("JTL rows %d ok %d failed %d bytes %d sent %d; summary %d %d %d %d %d",
			len(rows)-1, ok, failed, bytesIn, sent, sum.Completed, sum.Succeeded, sum.Failed, sum.BytesReceived, sum.BytesSent)
	}
	if labels[`say "hi", please`]+labels["missing"] != sum.Completed {
		t.Errorf("labels %v", labels)
	}
	// elapsed is whole milliseconds, truncated: within 1ms per row of the mean.
	sumMS := sum.Latency.Mean * 1000 * float64(sum.Completed)
	if float64(elapsedMS) > sumMS+1 || float64(elapsedMS) < sumMS-float64(sum.Completed)-1 {
		t.Errorf("sum of elapsed %dms, summary mean x count %.1fms", elapsedMS, sumMS)
	}

	s := &sink{labels: map[string]int64{}}
	format, err := parse.Parse(bytes.NewReader(out.Bytes()), parse.Options{File: "out.jtl", Run: "jtl"}, s)
	if err != nil || format != parse.FormatJMeterCSV {
		t.Fatalf("ingestion parser: format %q, %v", format, err)
	}
	if len(s.errs) > 0 {
		t.Fatalf("ingestion parser reported bad rows: %v", s.errs)
	}
	if s.n != sum.Completed || s.failed != sum.Failed || s.bytesIn != sum.BytesReceived || s.bytesSent != sum.BytesSent ||
		s.elapsed != time.Duration(elapsedMS)*time.Millisecond {
		t.Errorf("ingested %d samples, %d failed, %d/%d bytes, elapsed %v; want %d %d %d/%d %v",
			s.n, s.failed, s.bytesIn, s.bytesSent, s.elapsed, sum.Completed, sum.Failed, sum.BytesReceived, sum.BytesSent, time.Duration(elapsedMS)*time.Millisecond)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	tg := target(t, "http://127.0.0.1:1/")
	cases := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no target", Config{MaxInFlight: 1, Duration: time.Second}, "no target"},
		{"no workers", Config{Targets: []*Target{tg}, Duration: time.Second}, "--max-in-flight"},
		{"closed loop without duration", Config{Targets: []*Target{tg}, MaxInFlight: 1}, "--duration"},
	}
	for _, c := range cases {
		if _, err := New(c.cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err %v, want %q", c.name, err, c.want)
		}
	}
}
