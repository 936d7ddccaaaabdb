package usage

import (
	"context"
	"math"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"
	metricsclient "k8s.io/metrics/pkg/client/clientset/versioned"
)

// lkey is a series key as scrape returns it: name{sorted k=v}.
func lkey(name string, kv ...string) string {
	var ls []string
	for i := 0; i+1 < len(kv); i += 2 {
		ls = append(ls, kv[i]+"="+kv[i+1])
	}
	sort.Strings(ls)
	return name + "{" + strings.Join(ls, ",") + "}"
}

func fakeLookup(known map[string]ContainerInfo) LookupFunc {
	return func(ns, pod, c string) (ContainerInfo, bool) {
		if ci, ok := known[ns+"/"+pod+"/"+c]; ok {
			return ci, true
		}
		if ci, ok := known[ns+"/"+pod+"/*"]; ok {
			return ci, true // pod known, container without limits
		}
		return ContainerInfo{}, false
	}
}

// kubeletBody is /metrics/resource text for containers of pod p with
// explicit sample timestamps (milliseconds).
func kubeletBody(ms string, lines ...string) []byte {
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(l + " " + ms + "\n")
	}
	return []byte(b.String())
}

func TestWorkloadLabelsAndRatios(t *testing.T) {
	web := ContainerInfo{WorkloadKind: "Deployment", Workload: "web", CPULimit: 0.5, MemoryLimit: 400}
	known := map[string]ContainerInfo{
		"shop/web-1/app":     web,
		"shop/web-1/*":       {WorkloadKind: "Deployment", Workload: "web"},
		"shop/solo/app":      {WorkloadKind: "<none>", Workload: "<none>", MemoryLimit: 1000},
		"shop/restarted/app": web,
	}
	wl := func(name, pod, c string, extra ...string) string {
		ci := known["shop/"+pod+"/"+c]
		if ci.WorkloadKind == "" {
			ci = known["shop/"+pod+"/*"]
		}
		return lkey(name, append([]string{"namespace", "shop", "pod", pod, "container", c, "workload_kind", ci.WorkloadKind, "workload", ci.Workload}, extra...)...)
	}
	memRatio := func(pod, c string) string { return wl("kubepulse_container_memory_working_set_limit_ratio", pod, c) }
	cpuRatio := func(pod, c string) string { return wl("kubepulse_container_cpu_usage_limit_ratio", pod, c) }
	round1 := kubeletBody("1700000000000",
		`container_cpu_usage_seconds_total{container="app",namespace="shop",pod="web-1"} 10`,
		`container_memory_working_set_bytes{container="app",namespace="shop",pod="web-1"} 100`,
		`container_cpu_usage_seconds_total{container="side",namespace="shop",pod="web-1"} 1`,
		`container_cpu_usage_seconds_total{container="app",namespace="shop",pod="solo"} 3`,
		`container_memory_working_set_bytes{container="app",namespace="shop",pod="solo"} 250`,
		`container_cpu_usage_seconds_total{container="app",namespace="shop",pod="restarted"} 50`,
		`container_cpu_usage_seconds_total{container="x",namespace="other",pod="unknown"} 7`)
	// 10 s later: web-1/app used 2 core-seconds (0.2 cores of a 0.5 limit),
	// restarted/app's counter went back (new container).
	round2 := kubeletBody("1700000010000",
		`container_cpu_usage_seconds_total{container="app",namespace="shop",pod="web-1"} 12`,
		`container_memory_working_set_bytes{container="app",namespace="shop",pod="web-1"} 300`,
		`container_cpu_usage_seconds_total{container="side",namespace="shop",pod="web-1"} 2`,
		`container_cpu_usage_seconds_total{container="app",namespace="shop",pod="restarted"} 1`,
		`container_cpu_usage_seconds_total{container="x",namespace="other",pod="unknown"} 8`)
	tests := []struct {
		name   string
		rounds [][]byte
		want   map[string]float64
		absent []string
	}{
		{"first read: labels and memory ratio, no CPU rate yet", [][]byte{round1}, map[string]float64{
			wl("kubepulse_container_cpu_usage_seconds_total", "web-1", "app", "node", "node-a"):  10,
			wl("kubepulse_container_memory_working_set_bytes", "web-1", "app", "node", "node-a"): 100,
			wl("kubepulse_container_cpu_usage_seconds_total", "web-1", "side", "node", "node-a"): 1,
			wl("kubepulse_container_memory_working_set_bytes", "solo", "app", "node", "node-a"):  250,
			memRatio("web-1", "app"): 0.25,
			memRatio("solo", "app"):  0.25,
			// a pod the cluster source does not know: no workload labels
			lkey("kubepulse_container_cpu_usage_seconds_total", "namespace", "other", "pod", "unknown", "container", "x", "node", "node-a"): 7,
		}, []string{cpuRatio("web-1", "app")}},
		{"second read: CPU rate over the sample timestamps", [][]byte{round1, round2}, map[string]float64{
			cpuRatio("web-1", "app"): 0.4,
			memRatio("web-1", "app"): 0.75,
		}, []string{
			cpuRatio("web-1", "side"),    // no CPU limit
			cpuRatio("restarted", "app"), // counter went down
			memRatio("solo", "app"),      // gone from the kubelet
			cpuRatio("solo", "app"),      // no CPU limit
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCluster(t, "tok", "node-a")
			col, err := New(c.flags(), Deps{Nodes: c.nodes, Lookup: fakeLookup(known)}, log.NewNopLogger())
			if err != nil {
				t.Fatal(err)
			}
			for _, body := range tt.rounds {
				c.fakes["node-a"].SetBody(body)
				col.RunOnce(context.Background())
			}
			m := scrape(t, col)
			for k, v := range tt.want {
				if g, ok := m[k]; !ok || g != v {
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

// In metrics-api mode the CPU ratio is the API's rate (held constant
// between the two PodMetrics timestamps) over the limit.
func TestMetricsAPIRatios(t *testing.T) {
	t0 := time.Unix(1700000000, 0)
	known := map[string]ContainerInfo{"shop/web-0/app": {WorkloadKind: "Deployment", Workload: "web", CPULimit: 0.5, MemoryLimit: 4 << 20}}
	tests := []struct {
		name   string
		rounds [][]*metricsv1beta1.PodMetrics
		want   map[string]float64
		absent []string
	}{
		{"one list: memory ratio only", [][]*metricsv1beta1.PodMetrics{
			{podMetrics("shop", "web-0", t0, 10*time.Second, cm{"app", "250m", "1Mi"})},
		}, map[string]float64{
			lkey("kubepulse_container_memory_working_set_limit_ratio", "namespace", "shop", "pod", "web-0", "container", "app", "workload_kind", "Deployment", "workload", "web"): 0.25,
		}, []string{lkey("kubepulse_container_cpu_usage_limit_ratio", "namespace", "shop", "pod", "web-0", "container", "app", "workload_kind", "Deployment", "workload", "web")}},
		{"two lists: CPU ratio from the integrated counter", [][]*metricsv1beta1.PodMetrics{
			{podMetrics("shop", "web-0", t0, 10*time.Second, cm{"app", "250m", "1Mi"})},
			{podMetrics("shop", "web-0", t0.Add(15*time.Second), 10*time.Second, cm{"app", "100m", "2Mi"})},
		}, map[string]float64{
			lkey("kubepulse_container_cpu_usage_limit_ratio", "namespace", "shop", "pod", "web-0", "container", "app", "workload_kind", "Deployment", "workload", "web"):          0.2,
			lkey("kubepulse_container_memory_working_set_limit_ratio", "namespace", "shop", "pod", "web-0", "container", "app", "workload_kind", "Deployment", "workload", "web"): 0.5,
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fm := &fakeMetrics{}
			d := Deps{Lookup: fakeLookup(known), Metrics: func() (metricsclient.Interface, error) { return fm.client(), nil }}
			col, err := New(Config{Source: SourceMetricsAPI, Interval: time.Minute}, d, log.NewNopLogger())
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range tt.rounds {
				fm.set(r...)
				col.RunOnce(context.Background())
			}
			m := scrape(t, col)
			for k, v := range tt.want {
				if g, ok := m[k]; !ok || math.Abs(g-v) > 1e-12 {
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
