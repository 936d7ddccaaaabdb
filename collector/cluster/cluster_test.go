package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-kit/log"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	metafake "k8s.io/client-go/metadata/fake"
	clienttesting "k8s.io/client-go/testing"

	"github.com/kubepulse/kubepulse/collector"
	"github.com/prometheus/common/expfmt"

	"github.com/kubepulse/kubepulse/internal/catalog"
)

const (
	Mi = 1 << 20
	Gi = 1 << 30
)

type fixture struct {
	src    *Source
	client *fake.Clientset
	meta   *metafake.FakeMetadataClient
	cols   map[string]*Collector
}

func newFixture(t *testing.T, cfg Config, objs, owners []runtime.Object) *fixture {
	t.Helper()
	client := fake.NewClientset(objs...)
	sch := metafake.NewTestScheme()
	_ = metav1.AddMetaToScheme(sch)
	meta := metafake.NewSimpleMetadataClient(sch, owners...)
	src := NewSource(cfg, nil, client, meta, log.NewNopLogger())
	f := &fixture{src: src, client: client, meta: meta, cols: map[string]*Collector{
		"hpa":  NewHPACollector(src),
		"node": NewNodeCollector(src),
		"pod":  NewPodCollector(src),
	}}
	if err := src.Start(testContext(t)); err != nil {
		t.Fatal(err)
	}
	eventually(t, "informers to sync", src.Synced)
	return f
}

func (f *fixture) render(t *testing.T) map[string]float64 {
	t.Helper()
	var buf bytes.Buffer
	for _, n := range []string{"hpa", "node", "pod"} {
		if err := f.cols[n].WriteRaw(&buf); err != nil {
			t.Fatal(err)
		}
	}
	_, s := parse(t, buf.Bytes())
	return s
}

func fixtureObjects(t *testing.T) ([]runtime.Object, []runtime.Object) {
	root := repoRoot(t)
	return loadObjects(t, filepath.Join(root, "testdata/cluster/objects.yaml"), ""),
		loadMeta(t, filepath.Join(root, "testdata/cluster/owners.yaml"))
}

// fixtureWorkloads is the workload of each fixture pod, as resolved from
// owners.yaml; pods without a controller are <none>.
var fixtureWorkloads = map[string][2]string{
	"shop/web-5d8f-abcde":   {"Deployment", "web"},
	"shop/db-0":             {"StatefulSet", "db"},
	"batch/nightly-123-xyz": {"CronJob", "nightly"},
}

// pkey is key for a container- or pod-level series: it adds the pod's
// workload labels.
func pkey(name string, kv ...string) string {
	var ns, pod string
	for i := 0; i+1 < len(kv); i += 2 {
		switch kv[i] {
		case "namespace":
			ns = kv[i+1]
		case "pod":
			pod = kv[i+1]
		}
	}
	w, ok := fixtureWorkloads[ns+"/"+pod]
	if !ok {
		w = [2]string{none, none}
	}
	return key(name, append(kv, "workload_kind", w[0], "workload", w[1])...)
}

func wres(metric, ns, kind, name, res, unit string) string {
	return key(metric, "namespace", ns, "workload_kind", kind, "workload", name, "resource", res, "unit", unit)
}

func nodeRes(metric, node, res, unit string) string {
	return key(metric, "node", node, "resource", res, "unit", unit)
}

func TestFixtureMetrics(t *testing.T) {
	objs, owners := fixtureObjects(t)
	f := newFixture(t, Config{}, objs, owners)
	got := f.render(t)

	want := map[string]float64{
		nodeRes("kubepulse_node_capacity", "n1", "cpu", "core"):               4,
		nodeRes("kubepulse_node_capacity", "n1", "memory", "byte"):            16 * Gi,
		nodeRes("kubepulse_node_capacity", "n1", "nvidia_com_gpu", "integer"): 2,
		nodeRes("kubepulse_node_capacity", "n1", "ephemeral_storage", "byte"): 100 * Gi,
		nodeRes("kubepulse_node_capacity", "n1", "hugepages_2Mi", "byte"):     64 * Mi,
		nodeRes("kubepulse_node_capacity", "n1", "pods", "integer"):           110,
		nodeRes("kubepulse_node_allocatable", "n1", "cpu", "core"):            3.8,
		nodeRes("kubepulse_node_allocatable", "n1", "memory", "byte"):         15 * Gi,
		nodeRes("kubepulse_node_allocatable", "n2", "cpu", "core"):            2,
		// n1 requests: web 500m/192Mi + db 1350m/520Mi + gpu 1/1Gi + podlevel 1/1Gi;
		// the Succeeded job pod and the unscheduled pod do not count.
		nodeRes("kubepulse_node_requests", "n1", "cpu", "core"):               3.85,
		nodeRes("kubepulse_node_requests", "n1", "memory", "byte"):            (192 + 520 + 1024 + 1024) * Mi,
		nodeRes("kubepulse_node_requests", "n1", "nvidia_com_gpu", "integer"): 1,
		// n1 limits: web 200m/384Mi + db 1250m/620Mi + gpu (gpu 1) + podlevel cpu 2.
		nodeRes("kubepulse_node_limits", "n1", "cpu", "core"):               3.45,
		nodeRes("kubepulse_node_limits", "n1", "memory", "byte"):            (384 + 620) * Mi,
		nodeRes("kubepulse_node_limits", "n1", "nvidia_com_gpu", "integer"): 1,
		nodeRes("kubepulse_node_requests", "n2", "cpu", "core"):             0.3,
		nodeRes("kubepulse_node_requests", "n2", "memory", "byte"):          1 * Gi,
		nodeRes("kubepulse_node_limits", "n2", "cpu", "core"):               0,
		nodeRes("kubepulse_node_limits", "n2", "memory", "byte"):            0,

		key("kubepulse_node_condition", "node", "n1", "condition", "Ready", "status", "true"):           1,
		key("kubepulse_node_condition", "node", "n1", "condition", "Ready", "status", "false"):          0,
		key("kubepulse_node_condition", "node", "n1", "condition", "MemoryPressure", "status", "false"): 1,
		key("kubepulse_node_condition", "node", "n2", "condition", "Ready", "status", "unknown"):        1,
		key("kubepulse_node_condition", "node", "n2", "condition", "Ready", "status", "true"):           0,
		key("kubepulse_node_unschedulable", "node", "n1"):                                               0,
		key("kubepulse_node_unschedulable", "node", "n2"):                                               1,
		key("kubepulse_node_info", "node", "n1", "kubelet_version", "v1.34.1", "container_runtime", "containerd://2.0.0",
			"os_image", "Ubuntu 24.04 LTS", "zone", "eu-1a", "instance_type", "m5.xlarge"): 1,
		key("kubepulse_node_info", "node", "n2", "kubelet_version", "v1.33.0", "container_runtime", "cri-o://1.33",
			"os_image", "Flatcar", "zone", "eu-1b", "instance_type", "small"): 1,

		pkey("kubepulse_container_resource_requests", "namespace", "shop", "pod", "web-5d8f-abcde", "container", "a", "node", "n1", "resource", "cpu", "unit", "core"):      0.1,
		pkey("kubepulse_container_resource_requests", "namespace", "shop", "pod", "web-5d8f-abcde", "container", "b", "node", "n1", "resource", "memory", "unit", "byte"):   64 * Mi,
		pkey("kubepulse_container_resource_limits", "namespace", "shop", "pod", "web-5d8f-abcde", "container", "a", "node", "n1", "resource", "memory", "unit", "byte"):     256 * Mi,
		pkey("kubepulse_container_resource_requests", "namespace", "shop", "pod", "db-0", "container", "sc1", "node", "n1", "resource", "cpu", "unit", "core"):              0.1,
		pkey("kubepulse_container_resource_requests", "namespace", "ml", "pod", "gpu", "container", "train", "node", "n1", "resource", "nvidia_com_gpu", "unit", "integer"): 1,
		pkey("kubepulse_container_resource_requests", "namespace", "shop", "pod", "pending", "container", "c", "node", "", "resource", "cpu", "unit", "core"):               0.1,

		pkey("kubepulse_container_restarts_total", "namespace", "shop", "pod", "web-5d8f-abcde", "container", "b"):                            2,
		pkey("kubepulse_container_restarts_total", "namespace", "shop", "pod", "web-5d8f-abcde", "container", "init1"):                        0,
		pkey("kubepulse_container_restarts_total", "namespace", "ml", "pod", "gpu", "container", "train"):                                     3,
		pkey("kubepulse_container_last_terminated_reason", "namespace", "ml", "pod", "gpu", "container", "train", "reason", "OOMKilled"):      1,
		pkey("kubepulse_container_last_terminated_reason", "namespace", "shop", "pod", "web-5d8f-abcde", "container", "b", "reason", "Error"): 1,
		// Only a termination with a finishedAt has a time (web's "Error" has none).
		pkey("kubepulse_container_last_terminated_timestamp_seconds", "namespace", "ml", "pod", "gpu", "container", "train", "reason", "OOMKilled"): 1796025600, // 2026-11-30T08:00:00Z

		key("kubepulse_pod_phase", "namespace", "shop", "pod", "db-0", "phase", "Running"):               1,
		key("kubepulse_pod_phase", "namespace", "batch", "pod", "nightly-123-xyz", "phase", "Succeeded"): 1,

		key("kubepulse_pod_owner", "namespace", "shop", "pod", "web-5d8f-abcde", "owner_kind", "ReplicaSet", "owner_name", "web-5d8f", "workload_kind", "Deployment", "workload", "web"): 1,
		key("kubepulse_pod_owner", "namespace", "shop", "pod", "db-0", "owner_kind", "StatefulSet", "owner_name", "db", "workload_kind", "StatefulSet", "workload", "db"):                1,
		key("kubepulse_pod_owner", "namespace", "ml", "pod", "gpu", "owner_kind", "<none>", "owner_name", "<none>", "workload_kind", "<none>", "workload", "<none>"):                     1,

		pkey("kubepulse_container_waiting_reason", "namespace", "kube-system", "pod", "starting", "container", "c", "reason", "ImagePullBackOff"): 1,
		pkey("kubepulse_pod_pending_since_timestamp_seconds", "namespace", "shop", "pod", "pending"):                                              1767323045,
		pkey("kubepulse_pod_pending_since_timestamp_seconds", "namespace", "kube-system", "pod", "starting"):                                      1767322800,
		pkey("kubepulse_pod_unschedulable", "namespace", "shop", "pod", "pending"):                                                                1,
		// Per-workload sums are the sums of the container series (app and
		// sidecar containers); the Succeeded CronJob pod is not counted.
		wres("kubepulse_workload_resource_requests", "shop", "Deployment", "web", "cpu", "core"):              0.15,
		wres("kubepulse_workload_resource_requests", "shop", "Deployment", "web", "memory", "byte"):           192 * Mi,
		wres("kubepulse_workload_resource_limits", "shop", "Deployment", "web", "cpu", "core"):                0.2,
		wres("kubepulse_workload_resource_limits", "shop", "Deployment", "web", "memory", "byte"):             384 * Mi,
		wres("kubepulse_workload_resource_requests", "shop", "StatefulSet", "db", "cpu", "core"):              0.3,
		wres("kubepulse_workload_resource_requests", "shop", "StatefulSet", "db", "memory", "byte"):           400 * Mi,
		wres("kubepulse_workload_resource_limits", "shop", "StatefulSet", "db", "cpu", "core"):                0.4,
		wres("kubepulse_workload_resource_limits", "shop", "StatefulSet", "db", "memory", "byte"):             500 * Mi,
		wres("kubepulse_workload_resource_requests", "shop", "<none>", "<none>", "cpu", "core"):               0.1,
		wres("kubepulse_workload_resource_requests", "ml", "<none>", "<none>", "nvidia_com_gpu", "integer"):   1,
		key("kubepulse_workload_pods", "namespace", "shop", "workload_kind", "Deployment", "workload", "web"): 1,
		key("kubepulse_workload_pods", "namespace", "shop", "workload_kind", "StatefulSet", "workload", "db"): 1,
		key("kubepulse_workload_pods", "namespace", "shop", "workload_kind", "<none>", "workload", "<none>"):  1,
		key("kubepulse_workload_pods", "namespace", "ml", "workload_kind", "<none>", "workload", "<none>"):    2,

		key("kubepulse_hpa_min_replicas", "namespace", "shop", "hpa", "web"):                                                                    2,
		key("kubepulse_hpa_min_replicas", "namespace", "shop", "hpa", "api"):                                                                    1,
		key("kubepulse_hpa_max_replicas", "namespace", "shop", "hpa", "web"):                                                                    10,
		key("kubepulse_hpa_current_replicas", "namespace", "shop", "hpa", "web"):                                                                3,
		key("kubepulse_hpa_desired_replicas", "namespace", "shop", "hpa", "web"):                                                                4,
		key("kubepulse_hpa_target_metric", "namespace", "shop", "hpa", "web", "metric_name", "cpu", "metric_target_type", "utilization"):        70,
		key("kubepulse_hpa_target_metric", "namespace", "shop", "hpa", "web", "metric_name", "http_requests", "metric_target_type", "average"):  100,
		key("kubepulse_hpa_target_metric", "namespace", "shop", "hpa", "web", "metric_name", "queue_depth", "metric_target_type", "value"):      30,
		key("kubepulse_hpa_current_metric", "namespace", "shop", "hpa", "web", "metric_name", "cpu", "metric_target_type", "utilization"):       85,
		key("kubepulse_hpa_current_metric", "namespace", "shop", "hpa", "web", "metric_name", "cpu", "metric_target_type", "average"):           0.17,
		key("kubepulse_hpa_current_metric", "namespace", "shop", "hpa", "web", "metric_name", "http_requests", "metric_target_type", "average"): 120,
		key("kubepulse_hpa_condition", "namespace", "shop", "hpa", "web", "condition", "AbleToScale", "status", "true"):                         1,
		key("kubepulse_hpa_condition", "namespace", "shop", "hpa", "web", "condition", "ScalingLimited", "status", "false"):                     1,
		key("kubepulse_hpa_condition", "namespace", "shop", "hpa", "web", "condition", "ScalingLimited", "status", "true"):                      0,
	}
	for k, v := range want {
		g, ok := got[k]
		if !ok {
			t.Errorf("missing %s", k)
			continue
		}
		if g != v {
			t.Errorf("%s = %v, want %v", k, g, v)
		}
	}
	// Series that must not exist.
	for _, k := range []string{
		// one phase series per pod
		key("kubepulse_pod_phase", "namespace", "shop", "pod", "db-0", "phase", "Pending"),
		nodeRes("kubepulse_node_requests", "n2", "nvidia_com_gpu", "integer"),
		// a plain init container is not a long-running container
		pkey("kubepulse_container_resource_requests", "namespace", "shop", "pod", "web-5d8f-abcde", "container", "init1", "node", "n1", "resource", "cpu", "unit", "core"),
		pkey("kubepulse_container_resource_limits", "namespace", "shop", "pod", "web-5d8f-abcde", "container", "b", "node", "n1", "resource", "cpu", "unit", "core"),
	} {
		if _, ok := got[k]; ok {
			t.Errorf("unexpected series %s", k)
		}
	}
	// Every defined family of the three collectors is present.
	for _, d := range catalog.All() {
		if d.Collector != "node" && d.Collector != "pod" && d.Collector != "hpa" {
			continue
		}
		found := false
		for k := range got {
			if strings.HasPrefix(k, d.Name+"{") {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("family %s has no samples in the fixture", d.Name)
		}
	}
}

// podRef returns the cached pod for mutation.
func getPod(t *testing.T, f *fixture, ns, name string) *v1.Pod {
	t.Helper()
	p, err := f.client.CoreV1().Pods(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestEventsUpdateSumsAndDropSeries(t *testing.T) {
	objs, owners := fixtureObjects(t)
	f := newFixture(t, Config{}, objs, owners)
	ctx := context.Background()
	cpu := nodeRes("kubepulse_node_requests", "n1", "cpu", "core")
	gpuPhase := key("kubepulse_pod_phase", "namespace", "ml", "pod", "gpu", "phase", "Running")

	steps := []struct {
		name   string
		mutate func() error
		check  func(map[string]float64) bool
	}{
		{"gpu pod deleted", func() error {
			return f.client.CoreV1().Pods("ml").Delete(ctx, "gpu", metav1.DeleteOptions{})
		}, func(s map[string]float64) bool {
			_, still := s[gpuPhase]
			return !still && s[cpu] == 2.85 && s[nodeRes("kubepulse_node_requests", "n1", "nvidia_com_gpu", "integer")] == 0
		}},
		{"db pod fails", func() error {
			p := getPod(t, f, "shop", "db-0")
			p.Status.Phase = v1.PodFailed
			_, err := f.client.CoreV1().Pods("shop").UpdateStatus(ctx, p, metav1.UpdateOptions{})
			return err
		}, func(s map[string]float64) bool {
			return s[cpu] == 1.5 && s[key("kubepulse_pod_phase", "namespace", "shop", "pod", "db-0", "phase", "Failed")] == 1
		}},
		{"pending pod scheduled on n2", func() error {
			p := getPod(t, f, "shop", "pending")
			p.Spec.NodeName = "n2"
			_, err := f.client.CoreV1().Pods("shop").Update(ctx, p, metav1.UpdateOptions{})
			return err
		}, func(s map[string]float64) bool {
			return s[nodeRes("kubepulse_node_requests", "n2", "cpu", "core")] == 0.4
		}},
		{"node n2 deleted", func() error {
			return f.client.CoreV1().Nodes().Delete(ctx, "n2", metav1.DeleteOptions{})
		}, func(s map[string]float64) bool {
			for k := range s {
				if strings.Contains(k, "node=n2,") || strings.HasSuffix(k, "node=n2}") {
					if strings.HasPrefix(k, "kubepulse_node_") {
						return false
					}
				}
			}
			return true
		}},
		{"hpa deleted", func() error {
			return f.client.AutoscalingV2().HorizontalPodAutoscalers("shop").Delete(ctx, "web", metav1.DeleteOptions{})
		}, func(s map[string]float64) bool {
			_, ok := s[key("kubepulse_hpa_max_replicas", "namespace", "shop", "hpa", "web")]
			return !ok
		}},
	}
	for _, st := range steps {
		if err := st.mutate(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		eventually(t, st.name, func() bool { return st.check(f.render(t)) })
	}
}

func TestOwnerArrivesAfterPod(t *testing.T) {
	objs, _ := fixtureObjects(t)
	f := newFixture(t, Config{}, objs, nil)
	owner := func(wk, w string) string {
		return key("kubepulse_pod_owner", "namespace", "shop", "pod", "web-5d8f-abcde", "owner_kind", "ReplicaSet", "owner_name", "web-5d8f", "workload_kind", wk, "workload", w)
	}
	requests := func(wk, w string) string {
		return key("kubepulse_container_resource_requests", "namespace", "shop", "pod", "web-5d8f-abcde", "container", "a", "node", "n1",
			"resource", "cpu", "unit", "core", "workload_kind", wk, "workload", w)
	}
	restarts := func(wk, w string) string {
		return key("kubepulse_container_restarts_total", "namespace", "shop", "pod", "web-5d8f-abcde", "container", "b", "workload_kind", wk, "workload", w)
	}
	before := f.render(t)
	for _, k := range []string{owner("ReplicaSet", "web-5d8f"), requests("ReplicaSet", "web-5d8f"), restarts("ReplicaSet", "web-5d8f"),
		key("kubepulse_workload_pods", "namespace", "shop", "workload_kind", "ReplicaSet", "workload", "web-5d8f")} {
		if _, ok := before[k]; !ok {
			t.Fatalf("before the ReplicaSet is known the workload should fall back to the ReplicaSet: missing %s", k)
		}
	}
	_, owners := fixtureObjects(t)
	rs := owners[0].(*metav1.PartialObjectMetadata)
	rs.APIVersion, rs.Kind = "apps/v1", "ReplicaSet"
	if _, err := f.meta.Resource(replicaSetsGVR).Namespace("shop").(metafake.MetadataClient).CreateFake(rs, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "pod re-rendered with its Deployment", func() bool {
		s := f.render(t)
		_, now := s[owner("Deployment", "web")]
		_, old := s[owner("ReplicaSet", "web-5d8f")]
		return now && !old
	})
	// Every series of the pod moved to the Deployment, and so did its
	// contribution to the workload sums.
	s := f.render(t)
	for _, k := range []string{
		requests("Deployment", "web"), restarts("Deployment", "web"),
		key("kubepulse_workload_pods", "namespace", "shop", "workload_kind", "Deployment", "workload", "web"),
		wres("kubepulse_workload_resource_requests", "shop", "Deployment", "web", "cpu", "core"),
	} {
		if _, ok := s[k]; !ok {
			t.Errorf("missing %s after the ReplicaSet arrived", k)
		}
	}
	for _, k := range []string{
		requests("ReplicaSet", "web-5d8f"), restarts("ReplicaSet", "web-5d8f"),
		key("kubepulse_workload_pods", "namespace", "shop", "workload_kind", "ReplicaSet", "workload", "web-5d8f"),
	} {
		if _, ok := s[k]; ok {
			t.Errorf("stale %s after the ReplicaSet arrived", k)
		}
	}
	if got := s[wres("kubepulse_workload_resource_requests", "shop", "Deployment", "web", "cpu", "core")]; got != 0.15 {
		t.Errorf("Deployment web cpu requests = %v, want 0.15", got)
	}
}

func TestFilters(t *testing.T) {
	objs, owners := fixtureObjects(t)
	tests := []struct {
		name    string
		cfg     Config
		present []string
		absent  []string
	}{
		{"namespaces allowlist", Config{Namespaces: []string{"ml"}},
			[]string{key("kubepulse_pod_phase", "namespace", "ml", "pod", "gpu", "phase", "Running")},
			[]string{key("kubepulse_pod_phase", "namespace", "shop", "pod", "db-0", "phase", "Running"),
				key("kubepulse_hpa_max_replicas", "namespace", "shop", "hpa", "web")}},
		{"namespaces denylist", Config{NamespacesDenylist: []string{"shop"}},
			[]string{key("kubepulse_pod_phase", "namespace", "ml", "pod", "gpu", "phase", "Running")},
			[]string{key("kubepulse_pod_phase", "namespace", "shop", "pod", "db-0", "phase", "Running")}},
		{"daemonset mode", Config{Node: "n2"},
			[]string{key("kubepulse_pod_phase", "namespace", "kube-system", "pod", "starting", "phase", "Pending"),
				nodeRes("kubepulse_node_requests", "n2", "cpu", "core")},
			[]string{key("kubepulse_pod_phase", "namespace", "ml", "pod", "gpu", "phase", "Running"),
				nodeRes("kubepulse_node_requests", "n1", "cpu", "core"),
				key("kubepulse_pod_phase", "namespace", "shop", "pod", "pending", "phase", "Pending")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, tc.cfg, objs, owners)
			got := f.render(t)
			for _, k := range tc.present {
				if _, ok := got[k]; !ok {
					t.Errorf("missing %s", k)
				}
			}
			for _, k := range tc.absent {
				if _, ok := got[k]; ok {
					t.Errorf("unexpected %s", k)
				}
			}
			if tc.cfg.Node != "" {
				ns := f.src.Nodes()
				if len(ns) != 1 || ns[0].Name != "n2" || ns[0].InternalIP != "10.0.0.2" || ns[0].KubeletPort != 10255 {
					t.Errorf("Nodes() = %+v, want only n2 10.0.0.2:10255", ns)
				}
			}
		})
	}
}

// Shards split the objects without overlap or loss, and a node's request
// sum in the shard that owns it equals the unsharded one.
func TestShardingPartitions(t *testing.T) {
	objs, owners := fixtureObjects(t)
	all := newFixture(t, Config{}, objs, owners).render(t)
	const total = 3
	union := map[string]int{}
	for shard := 0; shard < total; shard++ {
		got := newFixture(t, Config{Shard: shard, TotalShards: total}, objs, owners).render(t)
		for k, v := range got {
			union[k]++
			if all[k] != v {
				t.Errorf("shard %d: %s = %v, unsharded %v", shard, k, v, all[k])
			}
		}
	}
	for k := range all {
		if union[k] != 1 {
			t.Errorf("%s appears in %d shards, want exactly 1", k, union[k])
		}
	}
}

func TestSourceUpOnListFailure(t *testing.T) {
	objs, owners := fixtureObjects(t)
	client := fake.NewClientset(objs...)
	client.PrependReactor("list", "horizontalpodautoscalers", func(clienttesting.Action) (bool, runtime.Object, error) {
		return true, nil, errors.New("connection refused")
	})
	sch := metafake.NewTestScheme()
	_ = metav1.AddMetaToScheme(sch)
	src := NewSource(Config{}, nil, client, metafake.NewSimpleMetadataClient(sch, owners...), log.NewNopLogger())
	set := collector.NewSet(log.NewNopLogger(), map[string]collector.Collector{
		"hpa":  NewHPACollector(src),
		"node": NewNodeCollector(src),
		"pod":  NewPodCollector(src),
	})
	if err := set.Start(testContext(t)); err != nil {
		t.Fatal(err)
	}
	eventually(t, "pods and nodes synced", func() bool {
		var buf bytes.Buffer
		_ = set.WriteTo(&buf, expfmt.NewFormat(expfmt.TypeTextPlain), nil)
		_, s := parse(t, buf.Bytes())
		return s[key("kubepulse_source_up", "source", "pods")] == 1 && s[key("kubepulse_source_up", "source", "nodes")] == 1 &&
			s[key("kubepulse_source_up", "source", "replicasets")] == 1
	})
	if ok, waiting := set.Ready(); ok || len(waiting) == 0 {
		t.Fatalf("ready with a failing HPA list: %v %v", ok, waiting)
	}
	var buf bytes.Buffer
	if err := set.WriteTo(&buf, expfmt.NewFormat(expfmt.TypeTextPlain), nil); err != nil {
		t.Fatal(err)
	}
	_, s := parse(t, buf.Bytes())
	if v, ok := s[key("kubepulse_source_up", "source", "hpas")]; !ok || v != 0 {
		t.Errorf("source_up{hpas} = %v (present %v), want 0", v, ok)
	}
	if s[key("kubepulse_source_last_sync_timestamp_seconds", "source", "pods")] < 1e9 {
		t.Error("last sync of pods not set")
	}
	if s[key("kubepulse_scrape_collector_success", "collector", "node")] != 1 {
		t.Error("node collector did not succeed")
	}
	// Raw and gathered families coexist, each once.
	if s[nodeRes("kubepulse_node_requests", "n1", "cpu", "core")] != 3.85 {
		t.Error("node requests missing from the full /metrics output")
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		cfg  Config
		want string // substring of the error, "" for valid
	}{
		{Config{TotalShards: 1}, ""},
		{Config{Shard: 2, TotalShards: 3}, ""},
		{Config{Shard: 3, TotalShards: 3}, "--shard=3"},
		{Config{Shard: -1, TotalShards: 3}, "--shard=-1"},
		{Config{TotalShards: 0}, "--total-shards=0"},
		{Config{TotalShards: 1, Namespaces: []string{"a"}, NamespacesDenylist: []string{"b"}}, "--namespaces and --namespaces-denylist"},
		{Config{TotalShards: 1, Namespaces: []string{"Bad_NS"}}, `"Bad_NS" is not a valid namespace`},
		{Config{TotalShards: 1, Node: "a,b"}, "--node"},
	}
	for _, tc := range tests {
		err := tc.cfg.Validate()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%+v: unexpected error %v", tc.cfg, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%+v: error %v, want it to contain %q", tc.cfg, err, tc.want)
		}
	}
}

func TestBadKubeconfig(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "kubeconfig")
	if err := writeFile(bad, "apiVersion: v1\nclusters: [this is: not valid\n"); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{bad, filepath.Join(dir, "missing")} {
		_, err := restConfig(path)
		if err == nil || !strings.Contains(err.Error(), path) || strings.Contains(err.Error(), "\n") {
			t.Errorf("restConfig(%s) error = %v, want one line naming the file", path, err)
		}
	}
	good := filepath.Join(dir, "good")
	if err := writeFile(good, fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:6443"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`)); err != nil {
		t.Fatal(err)
	}
	rc, err := restConfig(good)
	if err != nil || rc.Host != "https://127.0.0.1:6443" {
		t.Fatalf("restConfig(good) = %v, %v", rc, err)
	}
}

// A relist (Replace) drops pods that vanished while the watch was down, and
// their node contributions with them.
func TestPodSinkReplace(t *testing.T) {
	objs, _ := fixtureObjects(t)
	src := NewSource(Config{TotalShards: 1}, nil, nil, nil, log.NewNopLogger())
	pc := NewPodCollector(src)
	nc := NewNodeCollector(src)
	sink := &podSink{s: src, st: &sourceStatus{}, keys: map[string]struct{}{}}
	var pods []any
	for _, o := range objs {
		switch x := o.(type) {
		case *v1.Pod:
			pods = append(pods, x)
		case *v1.Node:
			src.onNode(x, false)
		}
	}
	render := func() map[string]float64 {
		var buf bytes.Buffer
		_ = pc.WriteRaw(&buf)
		_ = nc.WriteRaw(&buf)
		_, s := parse(t, buf.Bytes())
		return s
	}
	if sink.synced.Load() {
		t.Fatal("synced before the first list")
	}
	if err := sink.Replace(pods, "1"); err != nil {
		t.Fatal(err)
	}
	if !sink.synced.Load() {
		t.Fatal("not synced after the first list")
	}
	if got := render()[nodeRes("kubepulse_node_requests", "n1", "cpu", "core")]; got != 3.85 {
		t.Fatalf("n1 cpu requests = %v, want 3.85", got)
	}
	var keep []any
	for _, p := range pods {
		if p.(*v1.Pod).Name != "gpu" {
			keep = append(keep, p)
		}
	}
	if err := sink.Replace(keep, "2"); err != nil {
		t.Fatal(err)
	}
	s := render()
	if got := s[nodeRes("kubepulse_node_requests", "n1", "cpu", "core")]; got != 2.85 {
		t.Errorf("after relist n1 cpu requests = %v, want 2.85", got)
	}
	if _, ok := s[key("kubepulse_pod_phase", "namespace", "ml", "pod", "gpu", "phase", "Running")]; ok {
		t.Error("pod missing from the relist still exported")
	}
	if node, ok := src.PodNode("ml", "gpu"); ok {
		t.Errorf("PodNode of a deleted pod = %q", node)
	}
	if node, ok := src.PodNode("shop", "db-0"); !ok || node != "n1" {
		t.Errorf("PodNode(shop, db-0) = %q, %v", node, ok)
	}
}
