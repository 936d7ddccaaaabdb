package usage

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/go-kit/log"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"
	metricsclient "k8s.io/metrics/pkg/client/clientset/versioned"
)

// The node's own usage and the per-workload memory gauges, from a kubelet
// read: two nodes share a workload, a pod has two containers, an unknown
// pod is left out, a duplicate line keeps the first value.
func TestNodeAndWorkloadUsage(t *testing.T) {
	web := ContainerInfo{WorkloadKind: "Deployment", Workload: "web"}
	known := map[string]ContainerInfo{
		"shop/web-1/*": web, "shop/web-2/*": web, "shop/web-3/*": web,
		"shop/db-0/*": {WorkloadKind: "StatefulSet", Workload: "db"},
	}
	bodies := map[string][]byte{
		"node-a": kubeletBody("1700000000000",
			`node_cpu_usage_seconds_total 1234.5`,
			`node_memory_working_set_bytes 4e+09`,
			`container_memory_working_set_bytes{container="app",namespace="shop",pod="web-1"} 100`,
			`container_memory_working_set_bytes{container="proxy",namespace="shop",pod="web-1"} 50`,
			`container_memory_working_set_bytes{container="app",namespace="shop",pod="web-1"} 999`, // duplicate: first wins
			`container_memory_working_set_bytes{container="app",namespace="shop",pod="web-2"} 120`,
			`container_memory_working_set_bytes{container="app",namespace="shop",pod="db-0"} 700`,
			`container_memory_working_set_bytes{container="x",namespace="other",pod="unknown"} 5000`),
		"node-b": kubeletBody("1700000000000",
			`node_cpu_usage_seconds_total 10`,
			`node_cpu_usage_seconds_total 11`, // duplicate: first wins
			`container_memory_working_set_bytes{container="app",namespace="shop",pod="web-3"} 130`),
	}
	want := map[string]float64{
		lkey("kubepulse_node_cpu_usage_seconds_total", "node", "node-a"):  1234.5,
		lkey("kubepulse_node_memory_working_set_bytes", "node", "node-a"): 4e9,
		lkey("kubepulse_node_cpu_usage_seconds_total", "node", "node-b"):  10,
		// web: 150 (web-1) + 120 + 130 over two nodes; largest pod web-1.
		lkey("kubepulse_workload_memory_working_set_bytes", "namespace", "shop", "workload_kind", "Deployment", "workload", "web"):         400,
		lkey("kubepulse_workload_pod_max_memory_working_set_bytes", "namespace", "shop", "workload_kind", "Deployment", "workload", "web"): 150,
		lkey("kubepulse_workload_memory_working_set_bytes", "namespace", "shop", "workload_kind", "StatefulSet", "workload", "db"):         700,
		lkey("kubepulse_workload_pod_max_memory_working_set_bytes", "namespace", "shop", "workload_kind", "StatefulSet", "workload", "db"): 700,
	}
	absent := []string{
		lkey("kubepulse_node_memory_working_set_bytes", "node", "node-b"), // not in its body
		lkey("kubepulse_workload_memory_working_set_bytes", "namespace", "other", "workload_kind", "", "workload", ""),
	}
	c := newCluster(t, "tok", "node-a", "node-b")
	col, err := New(c.flags(), Deps{Nodes: c.nodes, Lookup: fakeLookup(known)}, log.NewNopLogger())
	if err != nil {
		t.Fatal(err)
	}
	for n, b := range bodies {
		c.fakes[n].SetBody(b)
	}
	col.RunOnce(context.Background())
	m := scrape(t, col)
	for k, v := range want {
		if g, ok := m[k]; !ok || g != v {
			t.Errorf("%s = %v (present %v), want %v", k, g, ok, v)
		}
	}
	for _, k := range absent {
		if _, ok := m[k]; ok {
			t.Errorf("unexpected %s", k)
		}
	}
	wl := 0
	for k := range m {
		if len(k) > 18 && k[:18] == "kubepulse_workload" {
			wl++
		}
	}
	if wl != 4 {
		t.Errorf("%d workload series, want 4: %v", wl, m)
	}
}

func nodeMetrics(name string, ts time.Time, window time.Duration, cpu, mem string) metricsv1beta1.NodeMetrics {
	return metricsv1beta1.NodeMetrics{ObjectMeta: metav1.ObjectMeta{Name: name}, Timestamp: metav1.NewTime(ts), Window: metav1.Duration{Duration: window},
		Usage: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(mem)}}
}

// NodeMetrics: the CPU rate integrated into a counter as for containers; a
// failed node list keeps the pods and counts an API error; a bad item is
// counted and skipped.
func TestMetricsAPINodeUsage(t *testing.T) {
	t0 := time.Unix(1700000000, 0)
	cpuKey := func(n string) string { return lkey("kubepulse_node_cpu_usage_seconds_total", "node", n) }
	memKey := func(n string) string { return lkey("kubepulse_node_memory_working_set_bytes", "node", n) }
	type round struct {
		nodes []metricsv1beta1.NodeMetrics
		err   error
	}
	tests := []struct {
		name   string
		rounds []round
		want   map[string]float64
		absent []string
	}{
		{"first list: window x rate", []round{{nodes: []metricsv1beta1.NodeMetrics{nodeMetrics("node-a", t0, 20*time.Second, "2", "1Gi")}}},
			map[string]float64{cpuKey("node-a"): 40, memKey("node-a"): 1 << 30, lkey("kubepulse_usage_metrics_api_errors_total"): 0}, nil},
		{"second list integrates", []round{
			{nodes: []metricsv1beta1.NodeMetrics{nodeMetrics("node-a", t0, 20*time.Second, "2", "1Gi")}},
			{nodes: []metricsv1beta1.NodeMetrics{nodeMetrics("node-a", t0.Add(30*time.Second), 20*time.Second, "500m", "2Gi")}},
		}, map[string]float64{cpuKey("node-a"): 55, memKey("node-a"): 2 << 30}, nil},
		{"node list fails: counted, pods kept", []round{{err: errors.New("nodes.metrics.k8s.io is forbidden")}},
			map[string]float64{lkey("kubepulse_usage_metrics_api_errors_total"): 1,
				lkey("kubepulse_container_memory_working_set_bytes", "namespace", "shop", "pod", "web-0", "container", "app", "node", ""): 1 << 20},
			[]string{cpuKey("node-a")}},
		{"bad item skipped and counted", []round{{nodes: []metricsv1beta1.NodeMetrics{nodeMetrics("node-a", t0, 0, "-1", "1Gi"), nodeMetrics("node-b", t0, 0, "1", "1Mi")}}},
			map[string]float64{lkey("kubepulse_usage_bad_samples_total"): 1, memKey("node-b"): 1 << 20}, []string{cpuKey("node-a"), memKey("node-a")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fm := &fakeMetrics{}
			d := Deps{Metrics: func() (metricsclient.Interface, error) { return fm.client(), nil }}
			col, err := New(Config{Source: SourceMetricsAPI, Interval: time.Minute}, d, log.NewNopLogger())
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range tt.rounds {
				fm.set(podMetrics("shop", "web-0", t0, 10*time.Second, cm{"app", "250m", "1Mi"}))
				fm.nodes, fm.nodeErr = r.nodes, r.err
				col.RunOnce(context.Background())
			}
			m := scrape(t, col)
			for k, v := range tt.want {
				if g, ok := m[k]; !ok || math.Abs(g-v) > 1e-9 {
					t.Errorf("%s = %v (present %v), want %v", k, g, ok, v)
				}
			}
			for _, k := range tt.absent {
				if _, ok := m[k]; ok {
					t.Errorf("unexpected %s", k)
				}
			}
			if t.Failed() {
				t.Logf("scraped: %v", m)
			}
		})
	}
}
