package loadtest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/kubepulse/kubepulse/collector"
	"github.com/kubepulse/kubepulse/internal/testutil"
	"github.com/kubepulse/kubepulse/loadtest"
	"github.com/kubepulse/kubepulse/loadtest/parse"
)

// value sums the samples of family name whose labels include want. For a
// histogram it sums sample counts.
func value(t *testing.T, g prometheus.Gatherer, name string, want map[string]string) float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metrics:
		for _, m := range mf.GetMetric() {
			have := map[string]string{}
			for _, lp := range m.GetLabel() {
				have[lp.GetName()] = lp.GetValue()
			}
			for k, v := range want {
				if have[k] != v {
					continue metrics
				}
			}
			switch mf.GetType() {
			case dto.MetricType_COUNTER:
				sum += m.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				sum += m.GetGauge().GetValue()
			case dto.MetricType_HISTOGRAM:
				sum += float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return sum
}

// waitFor polls cond until it holds or a generous deadline passes; the
// deadline only bounds a failing test, it asserts nothing about speed.
func waitFor(t *testing.T, what string, cond func() (float64, float64)) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		got, want := cond()
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: got %v, want %v", what, got, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

var appendFile = func(t *testing.T, path, s string) { testutil.AppendFile(t, path, s) }

const jmeterHeader = "timeStamp,elapsed,label,responseCode,responseMessage,threadName,dataType,success,failureMessage,bytes,sentBytes,grpThreads,allThreads,URL,Latency,IdleTime,Connect\n"

func jmeterRow(ts int64, elapsed int, label, code string, ok bool, threads int) string {
	return fmt.Sprintf("%d,%d,%s,%s,OK,TG 1-1,text,%v,,100,10,%d,%d,http://127.0.0.1/,1,0,0\n", ts, elapsed, label, code, ok, threads, threads)
}

func startCollector(t *testing.T, cfg Config) (*Collector, *prometheus.Registry) {
	t.Helper()
	cfg.Rescan = 20 * time.Millisecond
	cfg.Poll = 10 * time.Millisecond
	c, err := New(log.NewNopLogger(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(c.Metrics())
	ctx, cancel := context.WithCancel(context.Background())
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		if err := c.Stop(); err != nil {
			t.Error(err)
		}
	})
	return c, reg
}

// TestLiveTail appends to files while the collector runs, in steps; after
// each step the counters must reach the totals of everything written so far.
func TestLiveTail(t *testing.T) {
	dir := t.TempDir()
	jtl := filepath.Join(dir, "shop.jtl")
	appendFile(t, jtl, jmeterHeader+jmeterRow(1700000000000, 100, "home", "200", true, 3))
	_, reg := startCollector(t, Config{Files: []string{filepath.Join(dir, "*.jtl"), filepath.Join(dir, "*.log"), filepath.Join(dir, "*.json")}})

	req := func(lbl map[string]string) func() float64 {
		return func() float64 { return value(t, reg, "kubepulse_loadtest_requests_total", lbl) }
	}
	steps := []struct {
		name  string
		write func()
		check map[string]func() float64
		want  map[string]float64
	}{
		{
			name:  "rows present at start are read",
			write: func() {},
			check: map[string]func() float64{
				"shop requests": req(map[string]string{"run": "shop"}),
				"users": func() float64 {
					return value(t, reg, "kubepulse_loadtest_active_users", map[string]string{"run": "shop"})
				},
				"last sample": func() float64 {
					return value(t, reg, "kubepulse_loadtest_last_sample_timestamp_seconds", map[string]string{"run": "shop"})
				},
			},
			want: map[string]float64{"shop requests": 1, "users": 3, "last sample": 1700000000.1},
		},
		{
			name: "appended rows, a bad row and a row written in two parts",
			write: func() {
				appendFile(t, jtl, jmeterRow(1700000001000, 200, "cart", "500", false, 5))
				appendFile(t, jtl, "1700000002000,oops,cart,200,OK,TG 1-1,text,true,,1,1,1,5,u,1,0,0\n")
				row := jmeterRow(1700000003000, 300, "home", "200", true, 7)
				appendFile(t, jtl, row[:20])
				appendFile(t, jtl, row[20:])
			},
			check: map[string]func() float64{
				"shop requests": req(map[string]string{"run": "shop"}),
				"failures":      req(map[string]string{"run": "shop", "result": "failure", "code": "500", "label": "cart"}),
				"parse errors": func() float64 {
					return value(t, reg, "kubepulse_loadtest_parse_errors_total", map[string]string{"run": "shop", "reason": parse.ReasonNumber})
				},
				"users": func() float64 {
					return value(t, reg, "kubepulse_loadtest_active_users", map[string]string{"run": "shop"})
				},
				"duration": func() float64 {
					return value(t, reg, "kubepulse_loadtest_request_duration_seconds", map[string]string{"run": "shop", "label": "home"})
				},
				"bytes": func() float64 {
					return value(t, reg, "kubepulse_loadtest_bytes_received_total", map[string]string{"run": "shop"})
				},
			},
			want: map[string]float64{"shop requests": 3, "failures": 1, "parse errors": 1, "users": 7, "duration": 2, "bytes": 300},
		},
		{
			name: "a new Gatling file matching a glob is picked up, run from its RUN record",
			write: func() {
				appendFile(t, filepath.Join(dir, "simulation.log"),
					"RUN\tcom.Sim\tsim\t1561378506180\t \t3.4.2\nUSER\tscn\tSTART\t1561378507000\nREQUEST\t\tlogin\t1561378507000\t1561378507250\tKO\tboom\n")
			},
			check: map[string]func() float64{
				"gatling KO": req(map[string]string{"run": "sim-20190624121506180", "label": "login", "result": "failure"}),
				"users": func() float64 {
					return value(t, reg, "kubepulse_loadtest_active_users", map[string]string{"run": "sim-20190624121506180"})
				},
			},
			want: map[string]float64{"gatling KO": 1, "users": 1},
		},
		{
			name: "a k6 summary is rejected and counted, the tail goes on",
			write: func() {
				appendFile(t, filepath.Join(dir, "summary.json"), "{\n  \"metrics\": {}\n}\n")
				appendFile(t, jtl, jmeterRow(1700000004000, 50, "home", "200", true, 2))
			},
			check: map[string]func() float64{
				"rejected": func() float64 {
					return value(t, reg, "kubepulse_loadtest_parse_errors_total", map[string]string{"run": "summary", "reason": parse.ReasonUnsupported})
				},
				"shop requests": req(map[string]string{"run": "shop"}),
			},
			want: map[string]float64{"rejected": 1, "shop requests": 4},
		},
		{
			name: "truncated and rewritten: the new content is parsed from its header",
			write: func() {
				if err := os.WriteFile(jtl, []byte(jmeterHeader+jmeterRow(1700000009000, 10, "again", "200", true, 1)), 0o644); err != nil {
					t.Fatal(err)
				}
			},
			check: map[string]func() float64{
				"again": req(map[string]string{"run": "shop", "label": "again"}),
				"parse errors": func() float64 {
					return value(t, reg, "kubepulse_loadtest_parse_errors_total", map[string]string{"run": "shop"})
				},
			},
			want: map[string]float64{"again": 1, "parse errors": 1},
		},
	}
	for _, st := range steps {
		st.write()
		for name, f := range st.check {
			waitFor(t, st.name+": "+name, func() (float64, float64) { return f(), st.want[name] })
		}
	}
}

// TestFlags builds the collector the way the exporter does: kingpin flags,
// then collector.Build, and checks that Update sends the schema.
func TestFlags(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "r.jtl")
	appendFile(t, path, jmeterHeader+jmeterRow(1700000000000, 100, "home", "200", true, 1))
	app := kingpin.New("test", "")
	collector.AddFlags(app)
	if _, err := app.Parse([]string{"--collector.loadtest", "--loadtest.file=" + filepath.Join(dir, "*.jtl"),
		"--loadtest.run-label=fixed", "--loadtest.jmeter-transactions=include", "--loadtest.poll-interval=10ms"}); err != nil {
		t.Fatal(err)
	}
	set, err := collector.Build(log.NewNopLogger(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(set.Enabled(), ","); got != "loadtest" {
		t.Fatalf("enabled collectors %q, want loadtest", got)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := set.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); _ = set.Stop() }()

	waitFor(t, "requests via Update", func() (float64, float64) {
		var b strings.Builder
		if err := set.WriteTo(&b, "text/plain; version=0.0.4", nil); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(b.String(), `kubepulse_loadtest_requests_total{code="200",label="home",result="success",run="fixed"} 1`) {
			return 1, 1
		}
		return 0, 1
	})
}

func TestConfigErrors(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no files", Config{}, "no --loadtest.file"},
		{"bad glob", Config{Files: []string{"[x"}}, "syntax error in pattern"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(log.NewNopLogger(), tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want %q", err, tc.want)
			}
		})
	}
}

func TestRunFromPath(t *testing.T) {
	for in, want := range map[string]string{
		"/r/results.jtl":        "results",
		"/r/results.jtl.gz":     "results",
		"out.ndjson.gz":         "out",
		"/x/simulation.log":     "simulation",
		"run-2024.01.csv":       "run-2024.01",
		"/x/.jtl":               ".jtl",
		"/x/k6-summary.JSON.GZ": "k6-summary",
	} {
		if got := RunFromPath(in); got != want {
			t.Errorf("RunFromPath(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestRealWorldThroughCollector tails every real-world sample at once. While
// the files are followed, the collector counts what their complete lines hold
// (a last line without a newline may still be being written); once stopped,
// it has counted exactly what the parsers find in the whole files. Rejected
// files are counted as such.
func TestRealWorldThroughCollector(t *testing.T) {
	root, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
			break
		}
		root = filepath.Dir(root)
	}
	rw := filepath.Join(root, "testdata", "realworld")
	globs := []string{filepath.Join(rw, "jmeter-jtl", "*"), filepath.Join(rw, "gatling", "*"), filepath.Join(rw, "k6", "*")}
	count := func(name string, data []byte) (int, parse.Format, error) {
		var n countSink
		f, err := parse.Parse(bytes.NewReader(data), parse.Options{File: name, DefaultRun: "x"}, &n)
		return n.samples, f, err
	}
	var live, final, rejected float64
	for _, g := range globs {
		files, _ := filepath.Glob(g)
		if len(files) == 0 {
			t.Fatalf("no real-world files at %s", g)
		}
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			n, format, err := count(f, data)
			if parse.IsUnsupported(err) {
				rejected++
			}
			final += float64(n)
			if i := bytes.LastIndexByte(data, '\n'); format != parse.FormatGatlingBinary && i >= 0 && i < len(data)-1 {
				n, _, _ = count(f, data[:i+1])
			}
			live += float64(n)
		}
	}
	if live == 0 || rejected == 0 || live == final {
		t.Fatalf("reference counts look wrong: %v live, %v final samples, %v rejected", live, final, rejected)
	}
	c, reg := startCollector(t, Config{Files: globs})
	waitFor(t, "requests from the complete lines of all real files", func() (float64, float64) {
		return value(t, reg, "kubepulse_loadtest_requests_total", nil), live
	})
	waitFor(t, "rejected files", func() (float64, float64) {
		return value(t, reg, "kubepulse_loadtest_parse_errors_total", map[string]string{"reason": parse.ReasonUnsupported}), rejected
	})
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	if got := value(t, reg, "kubepulse_loadtest_requests_total", nil); got != final {
		t.Errorf("after Stop: %v requests, the parsers find %v in the whole files", got, final)
	}
}

type countSink struct{ samples int }

func (c *countSink) Sample(*loadtest.Sample)                       { c.samples++ }
func (c *countSink) Users(string, float64, time.Time)              {}
func (c *countSink) Bytes(string, string, int64, int64, time.Time) {}
func (c *countSink) Error(*parse.Error)                            {}
