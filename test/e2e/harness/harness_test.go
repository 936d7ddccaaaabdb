package harness

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"gopkg.in/yaml.v3"
)

func TestRenderConfig(t *testing.T) {
	tests := []struct {
		name    string
		cfg     PromConfig
		wantErr bool
		want    []string // substrings of the YAML
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
			for _, w := range tc.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("config lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

func TestFakeKubeletExposition(t *testing.T) {
	k := StartFakeKubelet(t, "")
	k.Set(ContainerUsage{Namespace: "ns", Pod: "p", Container: "c", CPUCores: 0.5, MemoryBytes: 950})
	k.Set(ContainerUsage{Namespace: "ns", Pod: "p", Container: "d", CPUCores: 0, MemoryBytes: 10})
	later := k.start.Add(10 * time.Second)
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(strings.NewReader(k.Render(later)))
	if err != nil {
		t.Fatalf("fake kubelet output does not parse: %v", err)
	}
	tests := []struct {
		family, container string
		want              float64
	}{
		{"container_cpu_usage_seconds_total", "c", 1 + 0.5*10},
		{"container_cpu_usage_seconds_total", "d", 1},
		{"container_memory_working_set_bytes", "c", 950},
		{"container_memory_working_set_bytes", "d", 10},
	}
	for _, tc := range tests {
		t.Run(tc.family+"/"+tc.container, func(t *testing.T) {
			f, ok := fams[tc.family]
			if !ok {
				t.Fatalf("family %s missing", tc.family)
			}
			for _, m := range f.GetMetric() {
				for _, l := range m.GetLabel() {
					if l.GetName() == "container" && l.GetValue() == tc.container {
						v := m.GetGauge().GetValue() + m.GetCounter().GetValue() + m.GetUntyped().GetValue()
						if v != tc.want {
							t.Errorf("value = %g, want %g", v, tc.want)
						}
						if m.GetTimestampMs() != later.UnixMilli() {
							t.Errorf("timestamp = %d, want %d", m.GetTimestampMs(), later.UnixMilli())
						}
						return
					}
				}
			}
			t.Errorf("no series for container %s", tc.container)
		})
	}
}

func TestFakeKubeletTLSAndToken(t *testing.T) {
	k := StartFakeKubelet(t, "s3cret")
	pemBytes, err := os.ReadFile(k.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemBytes) {
		t.Fatal("CA file holds no certificate")
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: 5 * time.Second}
	tests := []struct {
		name, auth string
		want       int
	}{
		{"right token", "Bearer s3cret", http.StatusOK},
		{"wrong token", "Bearer nope", http.StatusUnauthorized},
		{"no token", "", http.StatusUnauthorized},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("https://127.0.0.1:%d/metrics/resource", k.Port()), nil)
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatalf("request with the CA file failed: %v", err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Errorf("status = %d, want %d", resp.StatusCode, tc.want)
			}
		})
	}
	if got := k.Scrapes(); got != 1 {
		t.Errorf("authorised scrapes = %d, want 1", got)
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
