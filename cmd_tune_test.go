package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

const (
	weekTrace     = "testdata/traces/week.om.gz"
	cadvisorTrace = "testdata/traces/cadvisor-2d.om.gz"
)

// runTune runs `kubepulse ARGS` through main's run and returns the exit
// code, stdout and stderr.
func runTune(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	tuneStdout, tuneStderr = &out, &errb
	defer func() { tuneStdout, tuneStderr = os.Stdout, os.Stderr }()
	code := run(context.Background(), args, &errb)
	return code, out.String(), errb.String()
}

type jsonRec struct {
	Namespace          string   `json:"namespace"`
	Workload           string   `json:"workload"`
	Container          string   `json:"container"`
	Resource           string   `json:"resource"`
	CurrentRequest     *float64 `json:"current_request"`
	RecommendedRequest *float64 `json:"recommended_request"`
	RecommendedLimit   *float64 `json:"recommended_limit"`
	Reason             string   `json:"reason"`
}

func find(recs []jsonRec, workload, container, resource string) *jsonRec {
	for i := range recs {
		if recs[i].Workload == workload && recs[i].Container == container && recs[i].Resource == resource {
			return &recs[i]
		}
	}
	return nil
}

func TestTuneResourcesJSON(t *testing.T) {
	code, out, stderr := runTune(t, "tune", "resources", "--input", cadvisorTrace, "--source", "cadvisor", "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var recs []jsonRec
	if err := json.Unmarshal([]byte(out), &recs); err != nil {
		t.Fatalf("output is not a JSON list: %v\n%s", err, out)
	}
	if len(recs) != 16 {
		t.Errorf("%d recommendations, want 16 (8 containers x cpu, memory)", len(recs))
	}
	// Base units: cores and bytes, not "500m" or "512Mi".
	web := find(recs, "web", "app", "memory")
	if web == nil || web.CurrentRequest == nil || *web.CurrentRequest != 1<<30 || web.RecommendedRequest == nil || *web.RecommendedRequest >= 1<<30 {
		t.Errorf("web/app memory: %+v, want current 1073741824 bytes and a smaller recommendation", web)
	}
	api := find(recs, "api", "app", "cpu")
	if api == nil || api.RecommendedRequest == nil || *api.RecommendedRequest != 0.5 || !strings.Contains(api.Reason, "HPA api") {
		t.Errorf("api/app cpu: %+v, want the 0.5-core request kept for the HPA", api)
	}
	if !strings.Contains(stderr, "requests: CPU") {
		t.Errorf("no summary line on stderr: %q", stderr)
	}
}

func TestTuneResourcesInsufficient(t *testing.T) {
	code, out, stderr := runTune(t, "tune", "resources", "--input", cadvisorTrace, "--source", "cadvisor", "--history", "12h", "-o", "yaml")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var recs []jsonRec
	if err := yaml.Unmarshal([]byte(out), &recs); err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if r.RecommendedRequest != nil || !strings.HasPrefix(r.Reason, "insufficient data") {
			t.Errorf("%s/%s %s: %v %q, want null and insufficient data", r.Workload, r.Container, r.Resource, r.RecommendedRequest, r.Reason)
		}
	}
	if len(recs) == 0 {
		t.Error("no recommendations")
	}
}

func TestTuneResourcesFiles(t *testing.T) {
	dir := t.TempDir()
	patches, report := filepath.Join(dir, "patches"), filepath.Join(dir, "report.html")
	code, out, stderr := runTune(t, "tune", "resources", "--input", cadvisorTrace, "--source", "cadvisor", "--patches", patches, "--report", report)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(out, "SLACK SAVED") || !strings.Contains(out, "utilization of requests") {
		t.Errorf("table output lacks the header or the summary:\n%s", out)
	}
	names, _ := filepath.Glob(filepath.Join(patches, "*"))
	// Two nights of the CronJob are too few samples: no recommendation, no patch.
	want := []string{"shop-deployment-admin.yaml", "shop-deployment-api.yaml", "shop-deployment-ingest.yaml",
		"shop-deployment-web.yaml", "shop-deployment-worker.yaml", "shop-statefulset-cache.yaml"}
	if len(names) != len(want) {
		t.Errorf("patches %v, want %v", names, want)
	}
	for _, n := range want {
		b, err := os.ReadFile(filepath.Join(patches, n))
		if err != nil {
			t.Error(err)
			continue
		}
		var obj map[string]any
		if err := yaml.Unmarshal(b, &obj); err != nil || obj["kind"] == nil || !strings.Contains(string(b), "resources:") {
			t.Errorf("%s: not a patch with resources (%v):\n%s", n, err, b)
		}
	}
	html, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	s := string(html)
	if strings.Count(s, "<svg") != 16 || strings.Contains(s, "<script") || strings.Contains(s, "src=") || strings.Contains(s, "href=") {
		t.Errorf("report: %d charts (want 16), or it loads something from outside", strings.Count(s, "<svg"))
	}
}

func TestTuneBadInput(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.om")
	os.WriteFile(bad, []byte("kubepulse_container_memory_working_set_bytes{namespace=\"a\",pod=\"p\",container=\"c\"} 1 1\nbroken line\n# EOF\n"), 0o644)
	report, patches := filepath.Join(dir, "r.html"), filepath.Join(dir, "p")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"malformed file", []string{"--input", bad}, bad + ":2:"},
		{"missing file", []string{"--input", filepath.Join(dir, "nope.om")}, "no such file"},
		{"no input", nil, "no history"},
		{"empty range", []string{"--input", cadvisorTrace, "--source", "cadvisor", "--namespace", "nope"}, "no containers"},
		{"wrong source", []string{"--input", cadvisorTrace}, "--source=kubepulse"},
		{"bad limit policy", []string{"--input", cadvisorTrace, "--memory.limit", "ratio=0.5"}, "--memory.limit"},
		{"bad quantity", []string{"--input", cadvisorTrace, "--memory.min", "lots"}, "--memory.min=lots"},
		{"unreachable prometheus", []string{"--prometheus.url", "http://127.0.0.1:1"}, "127.0.0.1:1"},
	}
	for _, tt := range tests {
		for _, sub := range []string{"resources", "backtest"} {
			t.Run(tt.name+"/"+sub, func(t *testing.T) {
				args := append([]string{"tune", sub}, tt.args...)
				if sub == "resources" {
					args = append(args, "--report", report, "--patches", patches)
				}
				code, _, stderr := runTune(t, args...)
				if code != 2 || !strings.Contains(stderr, tt.want) {
					t.Errorf("exit %d, stderr %q; want 2 and %q", code, stderr, tt.want)
				}
				for _, p := range []string{report, patches} {
					if _, err := os.Stat(p); err == nil {
						t.Errorf("%s was written despite the error", p)
					}
				}
			})
		}
	}
}

func TestTuneBacktest(t *testing.T) {
	code, out, stderr := runTune(t, "tune", "backtest", "--input", weekTrace, "--markdown")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, s := range []string{"| total | kubepulse |", "| total | current |", "| total | krr-simple |", "| total | vpa |", "4 rolling windows"} {
		if !strings.Contains(out, s) {
			t.Errorf("backtest output lacks %q:\n%s", s, out)
		}
	}
}
