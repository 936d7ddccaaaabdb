package harness

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

func TestRenderConfig(t *testing.T) {
	tests := []struct {
		name    string
		cfg     PromConfig
		wantErr bool
		want    []string // substrings of the YAML
		jobs    int      // scrape configs, when not 0
	}{
		{
			name: "defaults to 1s intervals",
			cfg:  PromConfig{Targets: []ScrapeTarget{{Job: "kubepulse", Address: "127.0.0.1:9"}}},
			want: []string{"scrape_interval: 1s", "evaluation_interval: 1s", "job_name: kubepulse", "- 127.0.0.1:9"},
		},
		{
			name: "rule files and custom path",
			cfg: PromConfig{
				Targets:   []ScrapeTarget{{Job: "a", Address: "127.0.0.1:1", Path: "/m"}},
				RuleFiles: []string{"/x/rules.yaml"}, ScrapeInterval: 2 * time.Second,
			},
			want: []string{"scrape_interval: 2s", "metrics_path: /m", "- /x/rules.yaml"},
		},
		{name: "target without job", cfg: PromConfig{Targets: []ScrapeTarget{{Address: "127.0.0.1:1"}}}, wantErr: true},
		{
			name: "two targets of one job share its scrape config",
			cfg:  PromConfig{Targets: []ScrapeTarget{{Job: "kubepulse", Address: "127.0.0.1:1"}, {Job: "kubepulse", Address: "127.0.0.1:2"}}},
			want: []string{"- 127.0.0.1:1\n", "- 127.0.0.1:2\n"},
			jobs: 1,
		},
		{
			name:    "one job, two paths",
			cfg:     PromConfig{Targets: []ScrapeTarget{{Job: "a", Address: "127.0.0.1:1"}, {Job: "a", Address: "127.0.0.1:2", Path: "/m"}}},
			wantErr: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := RenderConfig(tc.cfg)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			var anyY map[string]any
			if err := yaml.Unmarshal(out, &anyY); err != nil {
				t.Fatalf("rendered config is not YAML: %v\n%s", err, out)
			}
			if n := strings.Count(string(out), "job_name:"); tc.jobs != 0 && n != tc.jobs {
				t.Errorf("%d scrape configs, want %d:\n%s", n, tc.jobs, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("config lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

func TestLogDirLayoutAndCRI(t *testing.T) {
	d := NewLogDir(t)
	cri := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z (stdout|stderr) F (.*)$`)
	tests := []struct {
		ns, pod, uid, container, stream string
		msgs                            []string
	}{
		{"default", "web-1", "u1", "app", "stdout", []string{"hello", "ERROR boom"}},
		{"kube-system", "dns", "u2", "coredns", "stderr", []string{"a b  c", ""}},
	}
	for _, tc := range tests {
		t.Run(tc.pod, func(t *testing.T) {
			if err := d.Append(tc.ns, tc.pod, tc.uid, tc.container, 0, tc.stream, tc.msgs...); err != nil {
				t.Fatal(err)
			}
			want := filepath.Join(d.Root, tc.ns+"_"+tc.pod+"_"+tc.uid, tc.container, "0.log")
			b, err := os.ReadFile(want)
			if err != nil {
				t.Fatalf("log not at the kubelet path: %v", err)
			}
			lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
			if len(lines) != len(tc.msgs) {
				t.Fatalf("%d lines, want %d", len(lines), len(tc.msgs))
			}
			for i, l := range lines {
				m := cri.FindStringSubmatch(l)
				if m == nil {
					t.Fatalf("line %d is not CRI: %q", i, l)
				}
				if m[2] != tc.stream || m[3] != tc.msgs[i] {
					t.Errorf("line %d: stream %q msg %q, want %q %q", i, m[2], m[3], tc.stream, tc.msgs[i])
				}
			}
		})
	}
}

// TestPrometheusHarness runs the real Prometheus against a loopback target
// and a rule file, and checks the API client sees recorded data and a
// firing alert: the same path the full e2e scenario relies on.
func TestPrometheusHarness(t *testing.T) {
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, "# TYPE harness_gauge gauge\nharness_gauge{kind=\"a\"} 3\nharness_gauge{kind=\"b\"} 4\n")
	}))
	defer target.Close()
	rules := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(rules, []byte(`groups:
- name: harness
  rules:
  - record: job:harness_gauge:sum
    expr: sum by (job) (harness_gauge)
  - alert: HarnessHigh
    expr: job:harness_gauge:sum > 5
    for: 1s
  - alert: HarnessNever
    expr: job:harness_gauge:sum > 100
`), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	prom := StartPrometheus(ctx, t, PromConfig{
		Targets:   []ScrapeTarget{{Job: "harness", Address: strings.TrimPrefix(target.URL, "http://")}},
		RuleFiles: []string{rules},
	})
	if err := prom.API.WaitTargetsUp(ctx, 1); err != nil {
		t.Fatalf("target never up: %v", err)
	}
	var got float64
	err := Poll(ctx, 250*time.Millisecond, func() (bool, string) {
		v, err := prom.API.Query(ctx, "job:harness_gauge:sum")
		if err != nil {
			return false, err.Error()
		}
		if len(v) != 1 {
			return false, fmt.Sprintf("%d samples", len(v))
		}
		got = v[0].Float()
		return true, ""
	})
	if err != nil {
		t.Fatalf("recording rule never returned data: %v", err)
	}
	if got != 7 {
		t.Errorf("job:harness_gauge:sum = %g, want 7", got)
	}
	if err := Poll(ctx, 250*time.Millisecond, func() (bool, string) {
		a, err := prom.API.FiringAlert(ctx, "HarnessHigh")
		if err != nil {
			return false, err.Error()
		}
		return len(a) == 1, fmt.Sprintf("%d firing HarnessHigh alerts", len(a))
	}); err != nil {
		t.Fatalf("alert never fired: %v", err)
	}
	groups, err := prom.API.Rules(ctx)
	if err != nil {
		t.Fatal(err)
	}
	states := map[string]string{}
	for _, g := range groups {
		for _, r := range g.Rules {
			states[r.Name] = r.Type + "/" + r.State + "/" + r.Health
		}
	}
	for name, want := range map[string]string{
		"job:harness_gauge:sum": "recording//ok",
		"HarnessHigh":           "alerting/firing/ok",
		"HarnessNever":          "alerting/inactive/ok",
	} {
		if states[name] != want {
			t.Errorf("rule %s: %q, want %q", name, states[name], want)
		}
	}
}
