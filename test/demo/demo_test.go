// Package demo tests `kubepulse demo` as a user meets it: the binary runs as
// a process, its page is loaded in headless Chromium, and its query API is
// asked every panel query of every generated dashboard.
package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kubepulse/kubepulse/internal/testenv"
	"github.com/kubepulse/kubepulse/mixin"
	"github.com/kubepulse/kubepulse/mixin/config"
	"github.com/kubepulse/kubepulse/test/e2e/harness"
)

// One demo process serves every test of the package: the fast-forward of
// the default 6h history is the expensive part.
var (
	demoOnce sync.Once
	demoURL  string
	demoProc *harness.Process
	demoErr  error
)

func startDemo(t *testing.T) string {
	t.Helper()
	demoOnce.Do(func() {
		bin := testenv.ExporterBinary(t)
		port := harness.FreePort(t)
		// The process outlives this test: it is stopped by TestMain.
		demoProc = harness.StartProcess(&detached{TB: t}, "demo", bin, "demo",
			"--web.listen-address=127.0.0.1:"+strconv.Itoa(port), "--demo.duration=30m", "--demo.seed=7")
		demoURL = fmt.Sprintf("http://127.0.0.1:%d", port)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		demoErr = harness.Poll(ctx, 200*time.Millisecond, func() (bool, string) {
			if done, err := demoProc.Exited(); done {
				return true, fmt.Sprintf("exited: %v", err)
			}
			resp, err := http.Get(demoURL + "/-/ready")
			if err != nil {
				return false, err.Error()
			}
			resp.Body.Close()
			return resp.StatusCode == http.StatusOK, resp.Status
		})
		if done, err := demoProc.Exited(); done && demoErr == nil {
			demoErr = fmt.Errorf("kubepulse demo exited: %v\n%s", err, demoProc.LogTail(40))
		}
	})
	if demoErr != nil {
		t.Fatalf("demo did not come up: %v", demoErr)
	}
	return demoURL
}

// detached keeps the shared process alive past the first test's cleanup.
type detached struct{ testing.TB }

func (d *detached) Cleanup(f func()) { cleanups = append(cleanups, f) }

// Logf prints to stderr: the cleanups run after every test has completed,
// when logging to the first test would panic.
func (d *detached) Logf(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }

var cleanups []func()

func TestMain(m *testing.M) {
	code := m.Run()
	for _, f := range cleanups {
		f()
	}
	os.Exit(code)
}

type apiResult struct {
	Status string `json:"status"`
	Error  string `json:"error"`
	Data   struct {
		ResultType string `json:"resultType"`
		Result     []struct {
			Metric map[string]string `json:"metric"`
			Value  []any             `json:"value"`
			Values [][]any           `json:"values"`
		} `json:"result"`
	} `json:"data"`
}

func get(t *testing.T, u string, v any) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s: %s", u, resp.Status, b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
}

func query(t *testing.T, base, q string) apiResult {
	var r apiResult
	get(t, base+"/api/v1/query?query="+url.QueryEscape(q), &r)
	return r
}

func TestQueryAPIRecordingRuleAndAlert(t *testing.T) {
	base := startDemo(t)
	for _, tc := range []struct{ name, q string }{
		{"recording rule", `namespace_workload:kubepulse_container_cpu_usage_seconds:rate5m{workload="web"}`},
		{"load-test record", `run:kubepulse_loadtest_requests:rate5m`},
		{"firing crash-loop alert", `ALERTS{alertname="KubePulseContainerCrashLooping", alertstate="firing", namespace="shop"}`},
		{"leaking worker alert", `ALERTS{alertname="KubePulseContainerMemoryNearLimit", namespace="shop"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := query(t, base, tc.q)
			if r.Status != "success" || r.Data.ResultType != "vector" || len(r.Data.Result) == 0 {
				t.Fatalf("%s: want a non-empty vector, got %+v", tc.q, r)
			}
		})
	}
	var rules struct {
		Data struct {
			Groups []struct {
				Rules []struct {
					Type, Health, LastError string
				} `json:"rules"`
			} `json:"groups"`
		} `json:"data"`
	}
	get(t, base+"/api/v1/rules", &rules)
	n := 0
	for _, g := range rules.Data.Groups {
		for _, r := range g.Rules {
			n++
			if r.Health == "err" {
				t.Errorf("rule in error: %+v", r)
			}
		}
	}
	if n == 0 {
		t.Fatal("/api/v1/rules lists no rules")
	}
}

// TestGeneratedFilesMatch: every file `kubepulse generate` writes (same
// binary, default config) is served by the demo byte for byte, and the
// demo serves no rule file of its own.
func TestGeneratedFilesMatch(t *testing.T) {
	base := startDemo(t)
	dir := t.TempDir()
	cmd := exec.Command(testenv.ExporterBinary(t), "generate", "--output-dir", dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("kubepulse generate: %v\n%s", err, out)
	}
	n := 0
	err := filepath.WalkDir(dir, func(path string, e os.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		want, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		resp, err := http.Get(base + "/generated/" + filepath.ToSlash(rel))
		if err != nil {
			return err
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		n++
		if resp.StatusCode != http.StatusOK || string(got) != string(want) {
			t.Errorf("%s: the demo serves %d bytes (HTTP %d), kubepulse generate wrote %d", rel, len(got), resp.StatusCode, len(want))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 5 {
		t.Fatalf("kubepulse generate wrote only %d files", n)
	}
}

// TestDashboardPanelsHaveData asks every panel query of every dashboard the
// generator writes, as Grafana would with the dashboard's variables set to
// values it lists, and fails on any panel that no choice of values fills.
func TestDashboardPanelsHaveData(t *testing.T) {
	base := startDemo(t)
	cfg := config.Default()
	out, err := mixin.Generate(&cfg, mixin.Options{Version: "dev"})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for p := range out.Files {
		if strings.HasPrefix(p, mixin.DirDashboards+"/") {
			names = append(names, p)
		}
	}
	sort.Strings(names)
	if len(names) == 0 {
		t.Fatal("the generator wrote no dashboards")
	}
	for _, name := range names {
		t.Run(filepath.Base(name), func(t *testing.T) {
			var dash dashboard
			if err := json.Unmarshal(out.Files[name], &dash); err != nil {
				t.Fatal(err)
			}
			combos := variableCombos(t, base, dash.Templating.List)
			panels := dash.allPanels()
			if len(panels) == 0 {
				t.Fatal("dashboard has no panels with queries")
			}
			for _, p := range panels {
				for _, tg := range p.Targets {
					if tg.Expr == "" {
						continue
					}
					if !anyData(t, base, tg.Expr, combos) {
						t.Errorf("panel %q: query returns no data for any variable choice: %s", p.Title, tg.Expr)
					}
				}
			}
		})
	}
}

type panel struct {
	Title   string  `json:"title"`
	Panels  []panel `json:"panels"`
	Targets []struct {
		Expr string `json:"expr"`
	} `json:"targets"`
}

type dashboard struct {
	Panels     []panel `json:"panels"`
	Templating struct {
		List []variable `json:"list"`
	} `json:"templating"`
}

type variable struct {
	Name    string `json:"name"`
	Type    string `json:"type"`
	Query   any    `json:"query"`
	Options []struct {
		Value any `json:"value"`
	} `json:"options"`
}

func (d dashboard) allPanels() []panel {
	var out []panel
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			walk(p.Panels)
			if len(p.Targets) > 0 {
				out = append(out, p)
			}
		}
	}
	walk(d.Panels)
	return out
}

// variableCombos lists assignments of the dashboard's variables, resolving
// each query variable with the earlier ones set, as Grafana does (capped).
func variableCombos(t *testing.T, base string, vars []variable) []map[string]string {
	combos := []map[string]string{{}}
	for _, v := range vars {
		var next []map[string]string
		for _, c := range combos {
			var vals []string
			switch v.Type {
			case "datasource":
				continue
			case "query":
				q, _ := v.Query.(string)
				if m, ok := v.Query.(map[string]any); ok {
					q, _ = m["query"].(string)
				}
				vals = labelValues(t, base, substitute(q, c))
			case "custom", "interval", "constant":
				for _, o := range v.Options {
					vals = append(vals, fmt.Sprint(o.Value))
				}
			default:
				t.Fatalf("variable %s: type %q is not handled by this test", v.Name, v.Type)
			}
			if len(vals) == 0 {
				vals = []string{""} // Grafana leaves it empty
			}
			for _, val := range vals {
				n := map[string]string{}
				for k, x := range c {
					n[k] = x
				}
				n[v.Name] = val
				next = append(next, n)
			}
		}
		if v.Type != "datasource" {
			combos = next
		}
		if len(combos) > 200 {
			combos = combos[:200]
		}
	}
	return combos
}

func labelValues(t *testing.T, base, q string) []string {
	q = strings.TrimSpace(q)
	if !strings.HasPrefix(q, "label_values(") || !strings.HasSuffix(q, ")") {
		t.Fatalf("variable query %q: only label_values() is handled by this test", q)
	}
	inner := strings.TrimSuffix(strings.TrimPrefix(q, "label_values("), ")")
	sel, label := "", inner
	if i := strings.LastIndex(inner, ","); i >= 0 {
		sel, label = strings.TrimSpace(inner[:i]), strings.TrimSpace(inner[i+1:])
	}
	var r struct {
		Data []string `json:"data"`
	}
	if sel == "" {
		get(t, base+"/api/v1/label/"+label+"/values", &r)
		return r.Data
	}
	var s struct {
		Data []map[string]string `json:"data"`
	}
	get(t, base+"/api/v1/series?match[]="+url.QueryEscape(sel), &s)
	seen := map[string]bool{}
	var out []string
	for _, m := range s.Data {
		if v := m[label]; v != "" && !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	sort.Strings(out)
	return out
}

func substitute(q string, vals map[string]string) string {
	for k, v := range vals {
		q = strings.ReplaceAll(q, "${"+k+"}", v)
		q = strings.ReplaceAll(q, "$"+k, v)
	}
	return mixin.SubstituteVars(q) // $__rate_interval and the like
}

// anyData runs expr as Grafana's range query over the last hour for each
// variable choice until one returns a sample.
func anyData(t *testing.T, base, expr string, combos []map[string]string) bool {
	seen := map[string]bool{}
	for _, c := range combos {
		q := substitute(expr, c)
		if seen[q] {
			continue
		}
		seen[q] = true
		var r apiResult
		u := fmt.Sprintf("%s/api/v1/query_range?query=%s&start=%d&end=%d&step=60", base, url.QueryEscape(q), time.Now().Add(-time.Hour).Unix(), time.Now().Unix())
		get(t, u, &r)
		if r.Status != "success" {
			t.Errorf("%s: %s", q, r.Error)
			return true // reported as an error, not as empty
		}
		for _, s := range r.Data.Result {
			if len(s.Values) > 0 {
				return true
			}
		}
	}
	return false
}
