package usage

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/kubepulse/kubepulse/collector"
	"github.com/kubepulse/kubepulse/collector/usage/kubelettest"
)

// TestServedThroughFramework serves the collector through the framework's
// /metrics handler, as the exporter does, in text and in protobuf (the
// framework re-parses raw text for protobuf, so the families must be
// contiguous and valid).
func TestServedThroughFramework(t *testing.T) {
	c := newCluster(t, "tok", "node-a", "node-b")
	c.fakes["node-a"].SetContainers(kubelettest.Container{Namespace: "shop", Pod: "web-0", Name: "app", CPUSeconds: 12.5, MemoryBytes: 1024})
	c.fakes["node-b"].SetContainers(kubelettest.Container{Namespace: "shop", Pod: "web-1", Name: "app", CPUSeconds: 3, MemoryBytes: 2048})
	col, err := New(c.flags(), Deps{Nodes: c.nodes}, log.NewNopLogger())
	if err != nil {
		t.Fatal(err)
	}
	col.RunOnce(context.Background())
	set := collector.NewSet(log.NewNopLogger(), map[string]collector.Collector{"usage": col})
	srv := httptest.NewServer(set.Handler(collector.HandlerOpts{}))
	defer srv.Close()

	tests := []struct {
		name   string
		accept string
	}{
		{"text", "text/plain;version=0.0.4"},
		{"protobuf", "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
			req.Header.Set("Accept", tt.accept)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			format := expfmt.ResponseFormat(resp.Header)
			dec := expfmt.NewDecoder(resp.Body, format)
			fams := map[string]*dto.MetricFamily{}
			for {
				mf := &dto.MetricFamily{}
				if err := dec.Decode(mf); err == io.EOF {
					break
				} else if err != nil {
					t.Fatalf("decoding %s: %v", format, err)
				}
				if _, dup := fams[mf.GetName()]; dup {
					t.Fatalf("family %s written twice", mf.GetName())
				}
				fams[mf.GetName()] = mf
			}
			cpu := fams[cpuDef.Name]
			if len(cpu.GetMetric()) != 2 {
				t.Fatalf("cpu family has %d series, want 2", len(cpu.GetMetric()))
			}
			var sum float64
			for _, m := range cpu.GetMetric() {
				sum += m.GetCounter().GetValue()
			}
			if sum != 15.5 {
				t.Errorf("cpu sum %v, want 15.5", sum)
			}
			if len(fams[memDef.Name].GetMetric()) != 2 || len(fams[scrapeErrorsDef.Name].GetMetric()) != 2 {
				t.Errorf("memory or error families incomplete: %v", fams)
			}
			var ok bool
			for _, m := range fams["kubepulse_scrape_collector_success"].GetMetric() {
				if m.GetLabel()[0].GetValue() == "usage" && m.GetGauge().GetValue() == 1 {
					ok = true
				}
			}
			if !ok {
				t.Error("kubepulse_scrape_collector_success{collector=\"usage\"} is not 1")
			}
		})
	}
}

// TestKubelettestRender checks that the fake's output is valid exposition
// with the families the kubelet serves.
func TestKubelettestRender(t *testing.T) {
	body := kubelettest.Render([]kubelettest.Container{{Namespace: "a", Pod: `p"q`, Name: "c", CPUSeconds: 1, MemoryBytes: 2}}, time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC))
	p := expfmt.NewTextParser(model.LegacyValidation)
	mfs, err := p.TextToMetricFamilies(strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"container_cpu_usage_seconds_total", "container_memory_working_set_bytes", "container_start_time_seconds",
		"container_swap_usage_bytes", "node_cpu_usage_seconds_total", "node_memory_working_set_bytes", "pod_cpu_usage_seconds_total",
		"pod_memory_working_set_bytes", "resource_scrape_error"} {
		if mfs[f] == nil {
			t.Errorf("family %s missing", f)
		}
	}
	if got := mfs["container_cpu_usage_seconds_total"].GetMetric()[0].GetTimestampMs(); got == 0 {
		t.Error("usage sample without a millisecond timestamp")
	}
}
