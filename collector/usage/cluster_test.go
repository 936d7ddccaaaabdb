package usage_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	metafake "k8s.io/client-go/metadata/fake"

	"github.com/kubepulse/kubepulse/collector/cluster"
	"github.com/kubepulse/kubepulse/collector/usage"
	"github.com/kubepulse/kubepulse/collector/usage/kubelettest"
)

func node(name, ip string, port int32) *corev1.Node {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID("uid-" + name)}}
	n.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeHostName, Address: name}}
	if ip != "" {
		n.Status.Addresses = append(n.Status.Addresses, corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: ip})
	}
	n.Status.DaemonEndpoints.KubeletEndpoint.Port = port
	return n
}

// TestKubeletThroughClusterSource runs the usage collector on the cluster
// source's informers (fake clientset): node addresses and kubelet ports come
// from Node objects, --node selects the local kubelet, a deleted Node's
// series go away.
func TestKubeletThroughClusterSource(t *testing.T) {
	const token = "tok"
	kA, kB := kubelettest.New(token), kubelettest.New(token)
	defer kA.Close()
	defer kB.Close()
	kA.SetContainers(kubelettest.Container{Namespace: "shop", Pod: "web-0", Name: "app", CPUSeconds: 4, MemoryBytes: 100})
	kB.SetContainers(kubelettest.Container{Namespace: "shop", Pod: "web-1", Name: "app", CPUSeconds: 6, MemoryBytes: 200})
	dir := t.TempDir()
	ca, err := kA.CAFile(dir)
	if err != nil {
		t.Fatal(err)
	}
	tokFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokFile, []byte(token), 0o600); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name     string
		cfg      cluster.Config
		nodes    []runtime.Object
		deleteB  bool
		want     []string
		absent   []string
		requestA bool
	}{
		{
			name:     "every node's kubelet at its InternalIP and kubelet port",
			nodes:    []runtime.Object{node("node-a", kA.Host(), kA.Port()), node("node-b", kB.Host(), kB.Port())},
			want:     []string{`container="app",node="node-a"} 4`, `pod="web-1",container="app",node="node-b"} 6`},
			requestA: true,
		},
		{
			name: "workload labels and memory limit ratio from the pod list-watch",
			nodes: []runtime.Object{node("node-a", kA.Host(), kA.Port()), node("node-b", kB.Host(), kB.Port()),
				ownedPod("shop", "web-0", "node-a", "StatefulSet", "web", "400")},
			want: []string{
				`kubepulse_container_cpu_usage_seconds_total{namespace="shop",pod="web-0",container="app",node="node-a",workload_kind="StatefulSet",workload="web"} 4`,
				`kubepulse_container_memory_working_set_limit_ratio{namespace="shop",pod="web-0",container="app",workload_kind="StatefulSet",workload="web"} 0.25`,
				// web-1 is not in the API: no workload labels, no ratio
				`kubepulse_container_memory_working_set_bytes{namespace="shop",pod="web-1",container="app",node="node-b"} 200`,
			},
			absent:   []string{`pod="web-1",container="app",workload_kind`},
			requestA: true,
		},
		{
			name:   "DaemonSet mode reads only the --node kubelet",
			cfg:    cluster.Config{Node: "node-b"},
			nodes:  []runtime.Object{node("node-a", kA.Host(), kA.Port()), node("node-b", kB.Host(), kB.Port())},
			want:   []string{`node="node-b"} 6`},
			absent: []string{`node="node-a"`},
		},
		{
			name:     "node without InternalIP counts an error, others still read",
			nodes:    []runtime.Object{node("node-a", kA.Host(), kA.Port()), node("node-c", "", 10250)},
			want:     []string{`node="node-a"} 4`, `kubepulse_kubelet_scrape_errors_total{node="node-c"} 1`},
			requestA: true,
		},
		{
			name:     "deleted Node: series gone at the next round",
			nodes:    []runtime.Object{node("node-a", kA.Host(), kA.Port()), node("node-b", kB.Host(), kB.Port())},
			deleteB:  true,
			want:     []string{`node="node-a"} 4`},
			absent:   []string{`node="node-b"`},
			requestA: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			reqA := kA.Requests()
			client := fake.NewClientset(tt.nodes...)
			sch := metafake.NewTestScheme()
			_ = metav1.AddMetaToScheme(sch)
			src := cluster.NewSource(tt.cfg, nil, client, metafake.NewSimpleMetadataClient(sch), log.NewNopLogger())
			f := usage.Config{Source: usage.SourceKubelet, Interval: time.Minute, Kubelet: usage.KubeletConfig{
				Path: kubelettest.Path, Timeout: 5 * time.Second, Concurrency: 2, TokenFile: tokFile, CAFile: ca}}
			col, err := usage.New(f, usage.ClusterDeps(src), log.NewNopLogger())
			if err != nil {
				t.Fatal(err)
			}
			if col.RunOnce(ctx) {
				t.Fatal("round ran before the cluster source started")
			}
			if err := src.Start(ctx); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "the node informer to sync", func() bool { return col.RunOnce(ctx) })
			if tt.deleteB {
				if err := client.CoreV1().Nodes().Delete(ctx, "node-b", metav1.DeleteOptions{}); err != nil {
					t.Fatal(err)
				}
				waitFor(t, "node-b to leave the node list", func() bool {
					col.RunOnce(ctx)
					return !strings.Contains(render(t, col), `node="node-b"`)
				})
			}
			out := render(t, col)
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("missing %q in:\n%s", w, out)
				}
			}
			for _, a := range tt.absent {
				if strings.Contains(out, a) {
					t.Errorf("unexpected %q in:\n%s", a, out)
				}
			}
			if got := kA.Requests() > reqA; got != tt.requestA {
				t.Errorf("node-a's kubelet requested: %v, want %v", got, tt.requestA)
			}
		})
	}
}

func ownedPod(ns, name, nodeName, kind, owner, memLimit string) *corev1.Pod {
	ctl := true
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, UID: types.UID("uid-" + name),
			OwnerReferences: []metav1.OwnerReference{{Kind: kind, Name: owner, Controller: &ctl}}},
		Spec: corev1.PodSpec{NodeName: nodeName, Containers: []corev1.Container{{Name: "app",
			Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse(memLimit)}}}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning},
	}
}

func render(t *testing.T, c *usage.Collector) string {
	t.Helper()
	var buf bytes.Buffer
	if err := c.WriteRaw(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// waitFor polls cond; informers deliver asynchronously. The deadline only
// bounds a hang, it asserts nothing about speed.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
