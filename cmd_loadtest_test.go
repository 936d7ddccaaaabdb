package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"

	ltcollector "github.com/kubepulse/kubepulse/collector/loadtest"
	"github.com/kubepulse/kubepulse/internal/testutil"
)

var freePort = func(t *testing.T) string { return testutil.FreeAddr(t) }

// TestLoadtestCommandEndToEnd runs `kubepulse loadtest` through main's run
// against a loopback server and checks what a user sees and gets.
func TestLoadtestCommandEndToEnd(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if r.Header.Get("X-Test") != "yes" || r.Header.Get("Traceparent") == "" {
			http.Error(w, "missing header", http.StatusBadRequest)
			return
		}
		_, _ = io.WriteString(w, "ok")
	}))
	defer srv.Close()
	dir := t.TempDir()
	jtl, sumFile := filepath.Join(dir, "out.jtl"), filepath.Join(dir, "summary.json")
	metricsAddr := freePort(t)

	out := &testutil.SyncBuffer{}
	loadtestStdout = out
	defer func() { loadtestStdout = os.Stdout }()
	var stderr testutil.SyncBuffer

	scraped := make(chan string, 1)
	go func() {
		for i := 0; i < 200; i++ {
			resp, err := http.Get("http://" + metricsAddr + "/metrics")
			if err == nil {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if strings.Contains(string(b), "kubepulse_loadtest_requests_total") {
					scraped <- string(b)
					return
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
		scraped <- ""
	}()

	code := run(context.Background(), []string{"loadtest", srv.URL + "/e2e",
		"--rate", "100", "--duration", "2s", "--header", "X-Test: yes", "--run", "e2e",
		"--progress", "plain", "--progress.interval", "500ms",
		"--out", jtl, "--summary-json", sumFile, "--web.listen-address", metricsAddr}, &stderr)
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, stderr.String())
	}
	text := out.String()
	for _, want := range []string{"elapsed ", "remaining ", "req/s", "p50 ", "p99 ", "dropped 0",
		"Summary of run e2e (open model)", "200 completed, 200 succeeded, 0 failed, 0 dropped (of 200 planned)",
		"throughput", "p90 ", "p95 ", "status       200=200"} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
	if n := strings.Count(text, "| ok "); n < 2 {
		t.Errorf("%d progress lines, want at least 2 in 2s at 500ms:\n%s", n, text)
	}
	var sum struct {
		Completed int64            `json:"completed_requests"`
		Status    map[string]int64 `json:"status_codes"`
		Latency   map[string]float64
	}
	b, err := os.ReadFile(sumFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &sum); err != nil {
		t.Fatalf("summary JSON: %v\n%s", err, b)
	}
	if sum.Completed != 200 || hits.Load() != 200 || sum.Status["200"] != 200 {
		t.Errorf("summary completed %d, status %v, server saw %d", sum.Completed, sum.Status, hits.Load())
	}
	rows, err := os.ReadFile(jtl)
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Count(string(rows), "\n"); lines != 201 || !strings.HasPrefix(string(rows), "timeStamp,elapsed,label,") {
		t.Errorf("JTL has %d lines, want header + 200", lines)
	}
	metrics := <-scraped
	for _, want := range []string{`kubepulse_loadtest_requests_total{code="200",label="GET /e2e",result="success",run="e2e"}`,
		"kubepulse_loadtest_request_duration_seconds_bucket", "kubepulse_loadtest_active_users", "kubepulse_loadtest_dropped_requests_total"} {
		if !strings.Contains(metrics, want) {
			t.Errorf("live /metrics lacks %s:\n%.2000s", want, metrics)
		}
	}
}

func TestLoadtestCommandInterruptStillReports(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") }))
	defer srv.Close()
	jtl := filepath.Join(t.TempDir(), "out.jtl")
	out := &testutil.SyncBuffer{}
	loadtestStdout = out
	defer func() { loadtestStdout = os.Stdout }()
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for !strings.Contains(out.String(), "| ok ") { // first progress line: requests are flowing
			time.Sleep(10 * time.Millisecond)
		}
		cancel() // what SIGINT does through main's signal.NotifyContext
	}()
	var stderr testutil.SyncBuffer
	sumFile := filepath.Join(t.TempDir(), "summary.json")
	code := run(ctx, []string{"loadtest", srv.URL, "--rate", "50", "--duration", "1h", "--progress", "plain", "--progress.interval", "200ms", "--out", jtl, "--run", "int", "--summary-json", sumFile}, &stderr)
	if code != exitInterrupted {
		t.Fatalf("exit %d, want %d: %s", code, exitInterrupted, stderr.String())
	}
	var sum struct {
		Interrupted *bool `json:"interrupted"`
	}
	if b, err := os.ReadFile(sumFile); err != nil || json.Unmarshal(b, &sum) != nil || sum.Interrupted == nil || !*sum.Interrupted {
		t.Errorf("summary JSON does not say the run was interrupted: %v %v", err, sum.Interrupted)
	}
	if !strings.Contains(out.String(), "Summary of run int") || !strings.Contains(stderr.String(), "interrupted") {
		t.Errorf("no summary after interrupt:\n%s\n%s", out, stderr.String())
	}
	b, err := os.ReadFile(jtl)
	if err != nil || strings.Count(string(b), "\n") < 2 {
		t.Errorf("JTL after interrupt: %v, %d lines", err, strings.Count(string(b), "\n"))
	}
}

func TestLoadtestCommandRejectsBadInput(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "t.jsonl")
	if err := os.WriteFile(bad, []byte("{\"url\":\"http://127.0.0.1:1/\"}\n{\"nope\":1}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"loadtest"}, 1, "no target: give the URL"},
		{[]string{"loadtest", "http://127.0.0.1:1/", "--shard", "3/3"}, 1, "want i/n with 0 <= i < n"},
		{[]string{"loadtest", "http://127.0.0.1:1/", "--stages", "10s"}, 1, "want DURATION:RATE"},
		{[]string{"loadtest", "http://127.0.0.1:1/", "--rate=-1"}, 1, "--rate -1: the rate is requests per second and must be >= 0"},
		{[]string{"loadtest", "http://127.0.0.1:1/", "--rate", "-5"}, 2, "--rate -5: the rate is requests per second and must be >= 0"},
		{[]string{"loadtest", "http://127.0.0.1:1/", "--timeout", "-5s"}, 2, "--timeout -5s: a value starting with '-' is read as a flag; write --timeout=-5s"},
		{[]string{"loadtest", "http://127.0.0.1:1/", "--rate=NaN"}, 1, "--rate NaN: the rate is requests per second"},
		{[]string{"loadtest", "http://127.0.0.1:1/", "--duration=-1s"}, 1, "--duration -1s: the duration must be positive"},
		{[]string{"loadtest", "http://127.0.0.1:1/", "--duration=0s", "--rate=0"}, 1, "--duration 0s: the duration must be positive"},
		{[]string{"loadtest", "http://127.0.0.1:1/", "--rate=0.1", "--duration=1s"}, 1, "the profile plans no request"},
		{[]string{"loadtest", "http://127.0.0.1:1/", "--stages=10s:5", "--duration=1m"}, 1, "--stages replaces --rate and --duration"},
		{[]string{"loadtest", "http://127.0.0.1:1/", "--stages=10s:5", "--start-rate=-2"}, 1, "--start-rate -2: the rate is requests per second"},
		{[]string{"loadtest", "http://127.0.0.1:1/", "--threshold", "p99<fast"}, 1, `is not a duration; write it like 500ms`},
		{[]string{"loadtest", "http://127.0.0.1:1/", "--threshold", "p99{label=nope}<1s"}, 1, `no target has label`},
		{[]string{"loadtest", "--targets", bad}, 1, fmt.Sprintf("%s:2: not a JSON target object", bad)},
		{[]string{"loadtest", "--targets", bad, "http://127.0.0.1:1/"}, 1, "not both"},
		{[]string{"loadtest", "http://127.0.0.1:1/", "--ca-file", filepath.Join(dir, "none.pem")}, 1, "--ca-file"},
		{[]string{"loadtest", "http://127.0.0.1:1/", "--progress", "fancy"}, 2, "enum value"},
	}
	for _, c := range cases {
		var stderr testutil.SyncBuffer
		if code := run(context.Background(), c.args, &stderr); code != c.code || !strings.Contains(stderr.String(), c.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", c.args, code, stderr.String(), c.code, c.want)
		}
	}
}

// TestLoadtestBodyFromFile sends the documented `--body @FILE` forms end to
// end: the server must receive the file's content (or the literal text).
func TestLoadtestBodyFromFile(t *testing.T) {
	var got atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got.Store(r.Method + " " + string(b))
	}))
	defer srv.Close()
	// Several lines: kingpin's @-file expansion made each one an argument.
	const payload = "{\n  \"name\": \"x\"\n}\n"
	body := filepath.Join(t.TempDir(), "payload.json")
	if err := os.WriteFile(body, []byte(payload), 0o644); err != nil {
		t.Fatal(err)
	}
	loadtestStdout = io.Discard
	defer func() { loadtestStdout = os.Stdout }()
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"--body @FILE", []string{"--body", "@" + body}, "POST " + payload},
		{"--body=@FILE", []string{"--body=@" + body}, "POST " + payload},
		{"literal body", []string{"--body", "hello"}, "POST hello"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got.Store("")
			var stderr testutil.SyncBuffer
			args := append([]string{"loadtest", "--method", "POST"}, c.args...)
			args = append(args, "--rate", "5", "--duration", "200ms", "--progress", "none", srv.URL)
			if code := run(context.Background(), args, &stderr); code != 0 {
				t.Fatalf("exit %d: %s", code, stderr.String())
			}
			if got.Load() != c.want {
				t.Errorf("server received %q, want %q", got.Load(), c.want)
			}
		})
	}
}

// TestLoadtestExitCodes checks the documented exit codes and the checked
// thresholds in the summary JSON.
func TestLoadtestExitCodes(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/flaky" && n.Add(1)%2 == 0 {
			http.Error(w, "boom", http.StatusInternalServerError)
			return
		}
		_, _ = io.WriteString(w, "ok")
	}))
	defer srv.Close()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "http://" + l.Addr().String() + "/"
	l.Close()
	loadtestStdout = io.Discard
	defer func() { loadtestStdout = os.Stdout }()
	cases := []struct {
		name       string
		args       []string
		code       int
		log        string
		thresholds map[string]bool
	}{
		{"all pass", []string{srv.URL, "--threshold", "p99<30s", "--threshold", "errors<1%", "--threshold", "rps>0"}, 0, "",
			map[string]bool{"p99<30s": true, "errors<1%": true, "rps>0": true}},
		{"every request refused", []string{refused}, exitNoSuccess, "no request succeeded", nil},
		{"refused, with a threshold that passes", []string{refused, "--threshold", "p99<30s"}, exitNoSuccess, "no request succeeded",
			map[string]bool{"p99<30s": true}},
		{"errors over the threshold", []string{srv.URL + "/flaky", "--threshold", "errors<=10%", "--threshold", "p95<30s"}, exitThresholds,
			"thresholds failed", map[string]bool{"errors<=10%": false, "p95<30s": true}},
		{"a latency threshold nothing can meet", []string{srv.URL, "--threshold", "max<0ms"}, exitThresholds, "failed=max<0ms",
			map[string]bool{"max<0ms": false}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sumFile := filepath.Join(t.TempDir(), "summary.json")
			var stderr testutil.SyncBuffer
			args := append([]string{"loadtest", "--rate", "20", "--duration", "500ms", "--progress", "none", "--summary-json", sumFile}, c.args...)
			if code := run(context.Background(), args, &stderr); code != c.code || !strings.Contains(stderr.String(), c.log) {
				t.Fatalf("exit %d, want %d with %q in\n%s", code, c.code, c.log, stderr.String())
			}
			var sum struct {
				Thresholds []struct {
					Threshold string
					OK        bool
				}
			}
			b, err := os.ReadFile(sumFile)
			if err != nil || json.Unmarshal(b, &sum) != nil {
				t.Fatalf("summary JSON: %v\n%s", err, b)
			}
			got := map[string]bool{}
			for _, r := range sum.Thresholds {
				got[r.Threshold] = r.OK
			}
			if fmt.Sprint(got) != fmt.Sprint(c.thresholds) && (len(got) > 0 || len(c.thresholds) > 0) {
				t.Errorf("thresholds in the summary %v, want %v", got, c.thresholds)
			}
		})
	}
}

// TestLoadtestPerEndpointSummary runs a targets file with two labels: the
// summary breaks the run down per label, in text and JSON, and a threshold
// can name one label.
func TestLoadtestPerEndpointSummary(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			http.Error(w, "no", http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "ok")
	}))
	defer srv.Close()
	dir := t.TempDir()
	targets, sumFile := filepath.Join(dir, "targets.jsonl"), filepath.Join(dir, "summary.json")
	lines := fmt.Sprintf("{\"url\":%q,\"label\":\"home\",\"weight\":3}\n{\"url\":%q,\"method\":\"POST\",\"label\":\"create\"}\n", srv.URL+"/", srv.URL+"/items")
	if err := os.WriteFile(targets, []byte(lines), 0o644); err != nil {
		t.Fatal(err)
	}
	out := &testutil.SyncBuffer{}
	loadtestStdout = out
	defer func() { loadtestStdout = os.Stdout }()
	var stderr testutil.SyncBuffer
	code := run(context.Background(), []string{"loadtest", "--targets", targets, "--rate", "100", "--duration", "1s", "--progress", "none",
		"--summary-json", sumFile, "--threshold", "errors{label=home}<1%", "--threshold", "errors{label=create}<1%"}, &stderr)
	if code != exitThresholds {
		t.Fatalf("exit %d, want %d (the create threshold fails): %s", code, exitThresholds, stderr.String())
	}
	var sum struct {
		Completed int64 `json:"completed_requests"`
		Endpoints []struct {
			Label     string           `json:"label"`
			Completed int64            `json:"completed_requests"`
			Failed    int64            `json:"failed"`
			Status    map[string]int64 `json:"status_codes"`
		}
		Thresholds []struct {
			Threshold string
			OK        bool
		}
	}
	b, err := os.ReadFile(sumFile)
	if err != nil || json.Unmarshal(b, &sum) != nil {
		t.Fatalf("summary JSON: %v\n%s", err, b)
	}
	if len(sum.Endpoints) != 2 {
		t.Fatalf("endpoints %+v, want home and create", sum.Endpoints)
	}
	var total int64
	for _, e := range sum.Endpoints {
		total += e.Completed
		switch e.Label {
		case "home":
			if e.Failed != 0 || e.Status["200"] != e.Completed || e.Completed == 0 {
				t.Errorf("home: %+v", e)
			}
		case "create":
			if e.Failed != e.Completed || e.Status["503"] != e.Completed || e.Completed == 0 {
				t.Errorf("create: %+v", e)
			}
		default:
			t.Errorf("unexpected endpoint %+v", e)
		}
	}
	if total != sum.Completed || total != 100 {
		t.Errorf("endpoints add up to %d, the run completed %d (want 100)", total, sum.Completed)
	}
	if len(sum.Thresholds) != 2 || !sum.Thresholds[0].OK || sum.Thresholds[1].OK {
		t.Errorf("thresholds %+v, want home ok and create failed", sum.Thresholds)
	}
	text := out.String()
	for _, want := range []string{"per endpoint", "create ", "home ", "503=", "thresholds", "FAILED  errors{label=create}<1%"} {
		if !strings.Contains(text, want) {
			t.Errorf("summary text lacks %q:\n%s", want, text)
		}
	}
}

// TestLoadtestOutRunLabelRoundTrip: without --run, the live metrics of
// `kubepulse loadtest --out results.jtl` and the exporter reading the file
// back label the run the same (the file's name says "results").
func TestLoadtestOutRunLabelRoundTrip(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") }))
	defer srv.Close()
	jtl := filepath.Join(t.TempDir(), "results.jtl")
	metricsAddr := freePort(t)
	loadtestStdout = io.Discard
	defer func() { loadtestStdout = os.Stdout }()
	runLabel := regexp.MustCompile(`kubepulse_loadtest_requests_total\{[^}]*run="([^"]+)"[^}]*\} [0-9]`)
	live := make(chan string, 1)
	go func() {
		for i := 0; i < 200; i++ {
			if resp, err := http.Get("http://" + metricsAddr + "/metrics"); err == nil {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if m := runLabel.FindSubmatch(b); m != nil {
					live <- string(m[1])
					return
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
		live <- ""
	}()
	var stderr testutil.SyncBuffer
	if code := run(context.Background(), []string{"loadtest", srv.URL, "--rate", "50", "--duration", "2s", "--progress", "none",
		"--out", jtl, "--web.listen-address", metricsAddr}, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	liveRun := <-live
	if !strings.HasPrefix(liveRun, "loadtest-127.0.0.1-") {
		t.Fatalf("live run label %q, want the default loadtest-127.0.0.1-…", liveRun)
	}
	c, err := ltcollector.New(log.NewNopLogger(), ltcollector.Config{Files: []string{jtl}, Poll: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(c.Metrics())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	var runs map[string]float64
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		runs = map[string]float64{}
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() != "kubepulse_loadtest_requests_total" {
				continue
			}
			for _, m := range mf.GetMetric() {
				for _, lp := range m.GetLabel() {
					if lp.GetName() == "run" {
						runs[lp.GetValue()] += m.GetCounter().GetValue()
					}
				}
			}
		}
		if runs[liveRun] == 100 {
			break
		}
	}
	if len(runs) != 1 || runs[liveRun] != 100 {
		t.Errorf("the exporter reads the file back as runs %v, want all 100 requests under the live run %q", runs, liveRun)
	}
}
