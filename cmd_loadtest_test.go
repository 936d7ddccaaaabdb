package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

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
	code := run(ctx, []string{"loadtest", srv.URL, "--rate", "50", "--duration", "1h", "--progress", "plain", "--progress.interval", "200ms", "--out", jtl, "--run", "int"}, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
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
		{[]string{"loadtest", "http://127.0.0.1:1/", "--rate=-1"}, 1, "must be >= 0"},
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
