package usage

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"
	metricsclient "k8s.io/metrics/pkg/client/clientset/versioned"
	metricsfake "k8s.io/metrics/pkg/client/clientset/versioned/fake"
)

type cm struct{ name, cpu, mem string }

func podMetrics(ns, name string, ts time.Time, window time.Duration, cs ...cm) *metricsv1beta1.PodMetrics {
	pm := &metricsv1beta1.PodMetrics{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Timestamp:  metav1.NewTime(ts),
		Window:     metav1.Duration{Duration: window},
	}
	for _, c := range cs {
		u := corev1.ResourceList{}
		if c.cpu != "" {
			u[corev1.ResourceCPU] = resource.MustParse(c.cpu)
		}
		if c.mem != "" {
			u[corev1.ResourceMemory] = resource.MustParse(c.mem)
		}
		pm.Containers = append(pm.Containers, metricsv1beta1.ContainerMetrics{Name: c.name, Usage: u})
	}
	return pm
}

// fakeMetrics serves the current list through the generated fake clientset;
// a reactor answers List because the fake's tracker files PodMetrics under
// "pods", which NewSimpleClientset cannot guess.
type fakeMetrics struct {
	items   []metricsv1beta1.PodMetrics
	nodes   []metricsv1beta1.NodeMetrics
	err     error
	nodeErr error
}

func (f *fakeMetrics) client() metricsclient.Interface {
	cs := metricsfake.NewSimpleClientset()
	cs.PrependReactor("list", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
		if f.err != nil {
			return true, nil, f.err
		}
		return true, &metricsv1beta1.PodMetricsList{Items: append([]metricsv1beta1.PodMetrics(nil), f.items...)}, nil
	})
	cs.PrependReactor("list", "nodes", func(k8stesting.Action) (bool, runtime.Object, error) {
		if f.nodeErr != nil {
			return true, nil, f.nodeErr
		}
		return true, &metricsv1beta1.NodeMetricsList{Items: append([]metricsv1beta1.NodeMetrics(nil), f.nodes...)}, nil
	})
	return cs
}

func (f *fakeMetrics) set(pms ...*metricsv1beta1.PodMetrics) {
	f.items = nil
	for _, pm := range pms {
		f.items = append(f.items, *pm)
	}
}

func TestMetricsAPISource(t *testing.T) {
	t0 := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	podNodes := map[string]string{"shop/web-0": "node-a", "kube-system/coredns-1": "node-b"}
	podNode := func(ns, pod string) string { return podNodes[ns+"/"+pod] }

	type round struct {
		items []*metricsv1beta1.PodMetrics
		err   error
	}
	tests := []struct {
		name    string
		local   string
		noNode  bool
		rounds  []round
		want    map[string]float64
		absent  []string
		wantErr bool
	}{
		{
			name: "first sight: counter starts at rate x window, memory as reported",
			rounds: []round{{items: []*metricsv1beta1.PodMetrics{
				podMetrics("shop", "web-0", t0, 30*time.Second, cm{"app", "250m", "64Mi"}),
				podMetrics("kube-system", "coredns-1", t0, 20*time.Second, cm{"coredns", "5m", "20Mi"}),
			}}},
			want: map[string]float64{
				cpuKey("shop", "web-0", "app", "node-a"):                7.5, // 0.25 cores x 30 s
				memKey("shop", "web-0", "app", "node-a"):                64 << 20,
				cpuKey("kube-system", "coredns-1", "coredns", "node-b"): 0.1,
				"kubepulse_usage_metrics_api_errors_total{}":            0,
			},
		},
		{
			name: "rate integrated over time between timestamps; same timestamp adds nothing",
			rounds: []round{
				{items: []*metricsv1beta1.PodMetrics{podMetrics("shop", "web-0", t0, 10*time.Second, cm{"app", "1", "1Mi"})}},
				{items: []*metricsv1beta1.PodMetrics{podMetrics("shop", "web-0", t0.Add(15*time.Second), 10*time.Second, cm{"app", "2", "2Mi"})}},
				{items: []*metricsv1beta1.PodMetrics{podMetrics("shop", "web-0", t0.Add(15*time.Second), 10*time.Second, cm{"app", "2", "2Mi"})}},
			},
			want: map[string]float64{
				cpuKey("shop", "web-0", "app", "node-a"): 10 + 2*15,
				memKey("shop", "web-0", "app", "node-a"): 2 << 20,
			},
		},
		{
			name: "pod gone: series and counter state go",
			rounds: []round{
				{items: []*metricsv1beta1.PodMetrics{
					podMetrics("shop", "web-0", t0, 10*time.Second, cm{"app", "1", "1Mi"}),
					podMetrics("kube-system", "coredns-1", t0, 10*time.Second, cm{"coredns", "1", "1Mi"}),
				}},
				{items: []*metricsv1beta1.PodMetrics{podMetrics("shop", "web-0", t0.Add(10*time.Second), 10*time.Second, cm{"app", "1", "1Mi"})}},
				// coredns-1 comes back: a new counter, not the old one continued
				{items: []*metricsv1beta1.PodMetrics{
					podMetrics("shop", "web-0", t0.Add(10*time.Second), 10*time.Second, cm{"app", "1", "1Mi"}),
					podMetrics("kube-system", "coredns-1", t0.Add(20*time.Second), 10*time.Second, cm{"coredns", "100m", "1Mi"}),
				}},
			},
			want: map[string]float64{
				cpuKey("shop", "web-0", "app", "node-a"):                20,
				cpuKey("kube-system", "coredns-1", "coredns", "node-b"): 1,
			},
		},
		{
			name: "incomplete items are counted and skipped",
			rounds: []round{{items: []*metricsv1beta1.PodMetrics{
				podMetrics("shop", "web-0", t0, 10*time.Second, cm{"app", "1", "1Mi"}, cm{"nomem", "1", ""}, cm{"neg", "-1", "1Mi"}),
			}}},
			want: map[string]float64{
				cpuKey("shop", "web-0", "app", "node-a"):     10,
				"kubepulse_usage_bad_samples_total{}":        2,
				"kubepulse_usage_metrics_api_errors_total{}": 0,
			},
			absent: []string{cpuKey("shop", "web-0", "nomem", "node-a"), cpuKey("shop", "web-0", "neg", "node-a")},
		},
		{
			name:    "list error is counted and keeps the last state",
			rounds:  []round{{items: []*metricsv1beta1.PodMetrics{podMetrics("shop", "web-0", t0, 10*time.Second, cm{"app", "1", "1Mi"})}}, {err: errors.New("the server is currently unable to handle the request")}},
			want:    map[string]float64{"kubepulse_usage_metrics_api_errors_total{}": 1, cpuKey("shop", "web-0", "app", "node-a"): 10},
			wantErr: true,
		},
		{
			name:  "DaemonSet mode keeps only the local node's pods",
			local: "node-b",
			rounds: []round{{items: []*metricsv1beta1.PodMetrics{
				podMetrics("shop", "web-0", t0, 10*time.Second, cm{"app", "1", "1Mi"}),
				podMetrics("kube-system", "coredns-1", t0, 10*time.Second, cm{"coredns", "1", "1Mi"}),
			}}},
			want:   map[string]float64{cpuKey("kube-system", "coredns-1", "coredns", "node-b"): 10},
			absent: []string{cpuKey("shop", "web-0", "app", "node-a")},
		},
		{
			name:   "without pod-to-node lookups the node label is empty",
			noNode: true,
			rounds: []round{{items: []*metricsv1beta1.PodMetrics{podMetrics("shop", "web-0", t0, 10*time.Second, cm{"app", "1", "1Mi"})}}},
			want:   map[string]float64{cpuKey("shop", "web-0", "app", ""): 10},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fm := &fakeMetrics{}
			d := Deps{NodeName: tt.local, PodNode: podNode, Metrics: func() (metricsclient.Interface, error) { return fm.client(), nil }}
			if tt.noNode {
				d.PodNode = nil
			}
			col, err := New(Config{Source: SourceMetricsAPI, Interval: time.Minute}, d, log.NewNopLogger())
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range tt.rounds {
				fm.set(r.items...)
				fm.err = r.err
				col.RunOnce(context.Background())
			}
			if err := col.Update(nil); (err != nil) != tt.wantErr {
				t.Errorf("Update = %v, want error %v", err, tt.wantErr)
			} else if err != nil && !strings.Contains(err.Error(), "metrics-server") {
				t.Errorf("error %q does not say what to fix", err)
			}
			m := scrape(t, col)
			for k, v := range tt.want {
				if g, ok := m[k]; !ok || g != v {
					t.Errorf("%s = %v (present %v), want %v", k, g, ok, v)
				}
			}
			for _, k := range tt.absent {
				if _, ok := m[k]; ok {
					t.Errorf("%s present, want it gone", k)
				}
			}
			if t.Failed() {
				t.Logf("scraped: %v", m)
			}
		})
	}
}
