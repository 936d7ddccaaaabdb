package demo

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kubepulse/kubepulse/internal/catalog"
)

func TestSimDeterministicAndShaped(t *testing.T) {
	end := time.Date(2026, 1, 2, 15, 0, 0, 0, time.UTC)
	start := end.Add(-2 * time.Hour)
	run := func(seed int64) (*Sim, []string) {
		s := NewSim(seed, start, end)
		for ts := start.Add(15 * time.Second); !ts.After(end); ts = ts.Add(15 * time.Second) {
			s.Step(ts, 15*time.Second)
		}
		var names []string
		for _, p := range s.pods {
			names = append(names, p.name)
		}
		return s, names
	}
	a, na := run(3)
	_, nb := run(3)
	_, nc := run(4)
	if strings.Join(na, ",") != strings.Join(nb, ",") {
		t.Errorf("same seed, different pods:\n%v\n%v", na, nb)
	}
	if strings.Join(na, ",") == strings.Join(nc, ",") {
		t.Errorf("different seeds gave the same pods: %v", na)
	}
	for _, p := range a.pods {
		switch p.w.name {
		case WorkerName:
			if r := p.mem / p.w.memLim; r < 0.9 || r >= 1 {
				t.Errorf("worker at %.2f of its limit when history ends, want 0.90..1", r)
			}
		case CrashName:
			if want := int32(2 * time.Hour / crashInterval); p.restarts != want {
				t.Errorf("crash loop restarted %d times in 2h, want %d", p.restarts, want)
			}
		case PendingName:
			if p.phase != "Pending" || p.node != "" {
				t.Errorf("the oversized pod was placed: phase %s node %q", p.phase, p.node)
			}
		case JobName:
			if p.phase != "Succeeded" {
				t.Errorf("job pod phase %s, want Succeeded", p.phase)
			}
		}
		if p.node == "node-d" {
			t.Errorf("pod %s placed on the cordoned node", p.name)
		}
	}
	if r := a.web.replicas; r < a.web.minR || r > a.web.maxR {
		t.Errorf("web replicas %d outside the HPA bounds %d..%d", r, a.web.minR, a.web.maxR)
	}
}

var (
	sharedOnce sync.Once
	shared     *Demo
	sharedSrv  *httptest.Server
	sharedErr  error
)

// demoForTest runs one short-history demo for the package's API tests.
func demoForTest(t *testing.T) (*Demo, string) {
	t.Helper()
	sharedOnce.Do(func() {
		ctx := context.Background()
		shared, sharedErr = New(ctx, Options{Seed: 5, History: 30 * time.Minute, Instance: "demo:9850"})
		if sharedErr != nil {
			return
		}
		if sharedErr = shared.FastForward(ctx); sharedErr != nil {
			return
		}
		sharedSrv = httptest.NewServer(shared.Handler())
	})
	if sharedErr != nil {
		t.Fatal(sharedErr)
	}
	return shared, sharedSrv.URL
}

func TestMain(m *testing.M) {
	code := m.Run()
	if sharedSrv != nil {
		sharedSrv.Close()
		shared.Close()
	}
	os.Exit(code)
}

func fetch(t *testing.T, u string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// Every metric family a collector defines shows up in the demo's /metrics.
func TestEveryFamilyExposed(t *testing.T) {
	_, base := demoForTest(t)
	_, body := fetch(t, base+"/metrics")
	text := string(body)
	defs := catalog.All()
	if len(defs) < 20 {
		t.Fatalf("only %d metric definitions linked", len(defs))
	}
	// Families of the alternative usage source (--usage.source=metrics-api):
	// the demo reads kubelets, as the default does.
	otherSource := map[string]bool{"kubepulse_usage_metrics_api_errors_total": true}
	// Off-by-default collectors the demo does not run.
	notInDemo := map[string]bool{"pdb": true}
	for _, d := range defs {
		if otherSource[d.Name] || notInDemo[d.Collector] {
			continue
		}
		if !strings.Contains(text, "\n# TYPE "+d.Name+" ") {
			t.Errorf("family %s (%s) missing from /metrics", d.Name, d.Type)
		}
	}
}

func TestQueryAPIShapes(t *testing.T) {
	_, base := demoForTest(t)
	now := time.Now().Unix()
	for _, tc := range []struct {
		name, path string
		code       int
		resultType string
		nonEmpty   bool
	}{
		{"vector", "/api/v1/query?query=" + url.QueryEscape(`up{job="kubepulse"}`), 200, "vector", true},
		{"scalar", "/api/v1/query?query=1%2B1", 200, "scalar", true},
		{"recording rule", "/api/v1/query?query=" + url.QueryEscape(`node:kubepulse_node_cpu_usage_seconds:rate5m`), 200, "vector", true},
		{"matrix", "/api/v1/query_range?query=up&step=60&start=" + itoa(now-900) + "&end=" + itoa(now), 200, "matrix", true},
		{"bad query", "/api/v1/query?query=" + url.QueryEscape(`sum(`), 400, "", false},
		{"bad range", "/api/v1/query_range?query=up&step=0&start=1&end=2", 400, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, b := fetch(t, base+tc.path)
			var r struct {
				Status, ErrorType string
				Data              struct {
					ResultType string          `json:"resultType"`
					Result     json.RawMessage `json:"result"`
				}
			}
			if err := json.Unmarshal(b, &r); err != nil {
				t.Fatalf("%s: %v", b, err)
			}
			if code != tc.code {
				t.Fatalf("HTTP %d, want %d: %s", code, tc.code, b)
			}
			if tc.code != 200 {
				if r.Status != "error" || r.ErrorType != "bad_data" {
					t.Errorf("want status error / bad_data, got %s", b)
				}
				return
			}
			if r.Status != "success" || r.Data.ResultType != tc.resultType {
				t.Errorf("got %s", b)
			}
			if tc.nonEmpty && (len(r.Data.Result) < 3 || string(r.Data.Result) == "[]") {
				t.Errorf("empty result: %s", b)
			}
		})
	}
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

func TestMetadataEndpoints(t *testing.T) {
	_, base := demoForTest(t)
	for _, tc := range []struct{ path, want string }{
		{"/api/v1/labels", `"namespace"`},
		{"/api/v1/label/workload/values", `"worker"`},
		{"/api/v1/series?match[]=" + url.QueryEscape(`kubepulse_pod_phase{namespace="batch"}`), `"report-builder-`},
		{"/api/v1/rules?type=record", `"type":"recording"`},
		{"/api/v1/rules?type=alert", `"type":"alerting"`},
		{"/api/v1/alerts", `"alertname":"KubePulseContainerCrashLooping"`},
		{"/generated/prometheus_rules.yaml", "record: node:kubepulse_node_cpu_usage_seconds:rate5m"},
		{"/", `id="chart-mem-shop-worker"`},
		{"/static/style.css", ".chart"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			code, b := fetch(t, base+tc.path)
			if code != 200 || !strings.Contains(string(b), tc.want) {
				t.Errorf("HTTP %d, want %q in:\n%.600s", code, tc.want, b)
			}
		})
	}
	code, b := fetch(t, base+"/api/v1/rules?type=alert")
	if code == 200 && strings.Contains(string(b), `"type":"recording"`) {
		t.Error("type=alert listed recording rules")
	}
}

func TestPendingRecommenderShown(t *testing.T) {
	_, base := demoForTest(t)
	_, b := fetch(t, base+"/")
	if n := strings.Count(string(b), "pending: kubepulse tune"); n < 5 {
		t.Errorf("placeholder recommendation shown %d times, want one per workload", n)
	}
}
