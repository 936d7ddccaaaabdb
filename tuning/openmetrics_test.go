package tuning

import (
	"bytes"
	"compress/gzip"
	"flag"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kubepulse/kubepulse/tuning/tracegen"
)

var update = flag.Bool("update", false, "regenerate the shipped traces in testdata/traces")

func genTrace(t testing.TB, c tracegen.Config) []byte {
	t.Helper()
	if c.Start.IsZero() {
		c.Start = time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	}
	if c.Step == 0 {
		c.Step = 5 * time.Minute
	}
	var b bytes.Buffer
	if err := tracegen.Write(&b, c); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func gunzip(t testing.TB, name string) []byte {
	t.Helper()
	f, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(f))
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// The shipped traces are exactly what the generator writes from their
// seed; -update rewrites them.
func TestShippedTraces(t *testing.T) {
	tests := []struct {
		file string
		c    tracegen.Config
	}{
		{"week.om.gz", tracegen.Config{Seed: 1, Duration: 7 * 24 * time.Hour}},
		{"cadvisor-2d.om.gz", tracegen.Config{Seed: 1, Duration: 48 * time.Hour, Source: "cadvisor"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join("..", "testdata", "traces", tt.file)
			want := genTrace(t, tt.c)
			if *update {
				var b bytes.Buffer
				zw := gzip.NewWriter(&b)
				zw.Write(want)
				zw.Close()
				if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if got := gunzip(t, path); !bytes.Equal(got, want) {
				t.Errorf("%s differs from the generator's output (%d vs %d bytes); run go test ./tuning -update", path, len(got), len(want))
			}
		})
	}
}

func TestParseOpenMetricsSources(t *testing.T) {
	c := tracegen.Config{Seed: 7, Duration: 2 * 24 * time.Hour}
	kp, err := ParseOpenMetrics("kp", genTrace(t, c), SourceKubepulse)
	if err != nil {
		t.Fatal(err)
	}
	c.WorkloadLabels = true
	labelled, err := ParseOpenMetrics("labelled", genTrace(t, c), SourceKubepulse)
	if err != nil {
		t.Fatal(err)
	}
	c.WorkloadLabels, c.Source = false, "cadvisor"
	cad, err := ParseOpenMetrics("cadvisor", genTrace(t, c), SourceCadvisor)
	if err != nil {
		t.Fatal(err)
	}
	ids := func(h *History) []string {
		var s []string
		for _, c := range h.Containers {
			s = append(s, c.ID())
		}
		return s
	}
	want := []string{"shop/CronJob/report/report", "shop/Deployment/admin/admin", "shop/Deployment/api/app",
		"shop/Deployment/api/istio-proxy", "shop/Deployment/ingest/ingest", "shop/Deployment/web/app",
		"shop/Deployment/worker/worker", "shop/StatefulSet/cache/cache"}
	for name, h := range map[string]*History{"owner join": kp, "workload labels": labelled, "cadvisor": cad} {
		if got := ids(h); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: containers %v, want %v", name, got, want)
		}
		// The same trace under three namings gives the same advice.
		if got, w := Recommend(h, DefaultOptions()), Recommend(kp, DefaultOptions()); !reflect.DeepEqual(got, w) {
			t.Errorf("%s: recommendations differ from the owner-join ones", name)
		}
	}
	var api *Container
	for _, c := range kp.Containers {
		if c.ID() == "shop/Deployment/api/app" {
			api = c
		}
	}
	if api == nil || api.HPA == nil || api.HPA.TargetCPUUtilization != 70 || api.Requests[CPU] != 0.5 || len(api.Streams) != 2 {
		t.Errorf("api/app: %+v, want 2 pods, a 500m request and a 70%% HPA", api)
	}
}

func TestParseOpenMetricsErrors(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"bad value", "kubepulse_container_memory_working_set_bytes{namespace=\"a\",pod=\"p\",container=\"c\"} 1 1\nkubepulse_container_memory_working_set_bytes{namespace=\"a\"} x 2\n# EOF\n", "in.om:2:"},
		{"no eof", "kubepulse_container_memory_working_set_bytes{namespace=\"a\",pod=\"p\",container=\"c\"} 1 1\n", "in.om:2:"},
		{"no timestamp", "kubepulse_container_memory_working_set_bytes{namespace=\"a\",pod=\"p\",container=\"c\"} 1\n# EOF\n", "in.om:1: sample without a timestamp"},
		{"nothing usable", "up 1 1\n# EOF\n", "in.om: no samples of kubepulse_container_cpu_usage_seconds_total"},
		{"empty", "", "in.om:1:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseOpenMetrics("in.om", []byte(tt.in), SourceKubepulse)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want %q in it", err, tt.want)
			}
		})
	}
}

func FuzzParseOpenMetrics(f *testing.F) {
	f.Add([]byte("kubepulse_container_memory_working_set_bytes{namespace=\"a\",pod=\"p\",container=\"c\"} 1 1\n# EOF\n"))
	f.Add([]byte("kubepulse_container_cpu_usage_seconds_total{namespace=\"a\",pod=\"p\",container=\"c\"} 5 1.5\nkubepulse_container_cpu_usage_seconds_total{namespace=\"a\",pod=\"p\",container=\"c\"} 3 2.5\n# EOF\n"))
	f.Add([]byte("# TYPE x counter\nx_total 1 1\n# EOF\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := ParseOpenMetrics("fuzz", data, SourceKubepulse)
		if err != nil {
			return
		}
		// Whatever parses must be recommendable without a panic.
		Recommend(h, DefaultOptions())
	})
}
