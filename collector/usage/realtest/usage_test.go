// Package realtest runs the real kubepulse binary against a real
// kube-apiserver (internal/testenv) and fake kubelets over TLS: the usage
// collector as a user meets it, wired to the cluster source by flags.
package realtest

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kubepulse/kubepulse/collector/usage/kubelettest"
	"github.com/kubepulse/kubepulse/internal/testenv"
)

const cpuName = "kubepulse_container_cpu_usage_seconds_total"

func createNode(ctx context.Context, t *testing.T, c kubernetes.Interface, name string, k *kubelettest.Kubelet) {
	t.Helper()
	n, err := c.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: k.Host()}, {Type: corev1.NodeHostName, Address: name}}
	n.Status.DaemonEndpoints.KubeletEndpoint.Port = k.Port()
	if _, err := c.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// eventually polls cond; the deadline bounds a hang and asserts no speed.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func TestExporterReadsKubelets(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	env := testenv.Start(t, testenv.Options{})
	client, err := env.AdminClient()
	if err != nil {
		t.Fatal(err)
	}
	const token = "kubelet-reader"
	kA, kB := kubelettest.New(token), kubelettest.New(token)
	defer kA.Close()
	defer kB.Close()
	kA.SetContainers(kubelettest.Container{Namespace: "shop", Pod: "web-0", Name: "app", CPUSeconds: 10, MemoryBytes: 1 << 20})
	kB.SetContainers(kubelettest.Container{Namespace: "shop", Pod: "web-1", Name: "app", CPUSeconds: 20, MemoryBytes: 2 << 20})
	createNode(ctx, t, client, "node-a", kA)
	createNode(ctx, t, client, "node-b", kB)

	dir := t.TempDir()
	kubeconfig := filepath.Join(dir, "kubeconfig")
	if err := env.WriteKubeconfig(kubeconfig, env.AdminToken); err != nil {
		t.Fatal(err)
	}
	ca, err := kA.CAFile(dir)
	if err != nil {
		t.Fatal(err)
	}
	tokFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokFile, []byte(token), 0o600); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		args []string
		run  func(t *testing.T, x *testenv.Exporter)
	}{
		{
			name: "kubelet source: values, background refresh, node deletion",
			args: []string{"--usage.kubelet-ca-file=" + ca, "--usage.kubelet-token-file=" + tokFile, "--usage.interval=1s"},
			run: func(t *testing.T, x *testenv.Exporter) {
				value := func(node, pod string) (float64, bool) {
					f, _, _, err := x.Scrape(ctx)
					if err != nil {
						t.Fatal(err)
					}
					return f.Value(cpuName, map[string]string{"node": node, "namespace": "shop", "pod": pod, "container": "app"})
				}
				eventually(t, "usage of both nodes", func() bool {
					a, okA := value("node-a", "web-0")
					b, okB := value("node-b", "web-1")
					return okA && okB && a == 10 && b == 20
				})
				// The loop refreshes without being asked: no scrape in between.
				kA.SetContainers(kubelettest.Container{Namespace: "shop", Pod: "web-0", Name: "app", CPUSeconds: 11.5, MemoryBytes: 1 << 20})
				eventually(t, "the new value of node-a", func() bool { v, _ := value("node-a", "web-0"); return v == 11.5 })
				if err := client.CoreV1().Nodes().Delete(ctx, "node-b", metav1.DeleteOptions{}); err != nil {
					t.Fatal(err)
				}
				eventually(t, "node-b's series to go", func() bool { _, ok := value("node-b", "web-1"); return !ok })
				f, _, _, err := x.Scrape(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if v, ok := f.Value("kubepulse_kubelet_scrape_errors_total", map[string]string{"node": "node-a"}); !ok || v != 0 {
					t.Errorf("node-a errors = %v (present %v), want 0", v, ok)
				}
				if v, _ := f.Value("kubepulse_scrape_collector_success", map[string]string{"collector": "usage"}); v != 1 {
					t.Errorf("usage collector success = %v, want 1", v)
				}
			},
		},
		{
			name: "metrics-api source without metrics-server: counted failure, exporter keeps serving",
			args: []string{"--usage.source=metrics-api", "--usage.interval=1s"},
			run: func(t *testing.T, x *testenv.Exporter) {
				eventually(t, "a failed PodMetrics list", func() bool {
					f, _, _, err := x.Scrape(ctx)
					if err != nil {
						t.Fatal(err)
					}
					v, _ := f.Value("kubepulse_usage_metrics_api_errors_total", nil)
					s, _ := f.Value("kubepulse_scrape_collector_success", map[string]string{"collector": "usage"})
					_, hasNode := f.Value("kubepulse_node_info", map[string]string{"node": "node-a"})
					return v >= 1 && s == 0 && hasNode
				})
			},
		},
	}
	bin := testenv.ExporterBinary(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := testenv.StartExporter(t, bin, append([]string{"--kubeconfig=" + kubeconfig}, tt.args...)...)
			if err := x.WaitReady(ctx); err != nil {
				t.Fatalf("not ready: %v", err)
			}
			tt.run(t, x)
		})
	}
}
