package integration

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	nodev1 "k8s.io/api/node/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubepulse/kubepulse/internal/testenv"
)

// clusterFamilies are every family the node, pod and hpa collectors render
// per object; the values test compares all of them, series by series.
var clusterFamilies = []string{
	"kubepulse_node_capacity", "kubepulse_node_allocatable", "kubepulse_node_requests", "kubepulse_node_limits",
	"kubepulse_node_condition", "kubepulse_node_unschedulable", "kubepulse_node_info",
	"kubepulse_container_resource_requests", "kubepulse_container_resource_limits",
	"kubepulse_container_restarts_total", "kubepulse_container_last_terminated_reason",
	"kubepulse_pod_phase", "kubepulse_pod_owner",
	"kubepulse_container_waiting_reason", "kubepulse_pod_pending_since_timestamp_seconds", "kubepulse_pod_unschedulable",
	"kubepulse_workload_resource_requests", "kubepulse_workload_resource_limits", "kubepulse_workload_pods",
	"kubepulse_hpa_min_replicas", "kubepulse_hpa_max_replicas", "kubepulse_hpa_current_replicas", "kubepulse_hpa_desired_replicas",
	"kubepulse_hpa_target_metric", "kubepulse_hpa_current_metric", "kubepulse_hpa_condition",
}

const (
	gi = 1 << 30
	mi = 1 << 20
)

// The expected side is written out by hand from what the test creates, not
// computed by kubepulse's code: resource label -> value in base units.
type res map[string]float64

type nodeWant struct {
	name                  string
	capacity, allocatable res
	conditions            map[string]string // type -> true|false|unknown
	unschedulable         bool
	kubelet, runtime, os  string
	zone, instanceType    string
}

type ctrWant struct {
	name     string
	req, lim res
}

type statusWant struct {
	container string
	restarts  float64
	reason    string // last terminated reason, "" for none
}

type podWant struct {
	name, node, phase string
	owner             [4]string // owner_kind, owner_name, workload_kind, workload
	containers        []ctrWant // app containers and sidecars
	statuses          []statusWant
	waiting           [][2]string // container, reason
	unschedulable     bool
	created           float64 // creation time, for the pending-since series
	sumReq, sumLim    res     // what the scheduler counts on the node, worked out by hand
}

type hpaWant struct {
	name                       string
	min, max, current, desired float64
	targets, currents          map[[2]string]float64 // {metric_name, metric_target_type}
	conditions                 map[string]string
}

func unitOf(resource string) string {
	switch resource {
	case "cpu":
		return "core"
	case "memory", "ephemeral_storage":
		return "byte"
	}
	return "integer"
}

func conditionSeries(out map[string]float64, name string, base map[string]string, key string, conds map[string]string) {
	for typ, st := range conds {
		for _, s := range []string{"true", "false", "unknown"} {
			l := copyLabels(base)
			l[key], l["status"] = typ, s
			out[testenv.Key(name, l)] = b2f(s == st)
		}
	}
}

func copyLabels(m map[string]string) map[string]string {
	out := make(map[string]string, len(m)+2)
	for k, v := range m {
		out[k] = v
	}
	return out
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// expected is every series the exporter must show for these objects.
func expected(ns string, nodes []nodeWant, pods []podWant, hpas []hpaWant) map[string]float64 {
	out := map[string]float64{}
	put := func(name string, v float64, kv ...string) {
		l := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			l[kv[i]] = kv[i+1]
		}
		out[testenv.Key(name, l)] = v
	}
	for _, n := range nodes {
		for r, v := range n.capacity {
			put("kubepulse_node_capacity", v, "node", n.name, "resource", r, "unit", unitOf(r))
		}
		for r, v := range n.allocatable {
			put("kubepulse_node_allocatable", v, "node", n.name, "resource", r, "unit", unitOf(r))
		}
		req, lim := res{"cpu": 0, "memory": 0}, res{"cpu": 0, "memory": 0}
		for _, p := range pods {
			if p.node != n.name || p.phase == "Succeeded" || p.phase == "Failed" {
				continue
			}
			for r, v := range p.sumReq {
				req[r] += v
			}
			for r, v := range p.sumLim {
				lim[r] += v
			}
		}
		for r, v := range req {
			if v != 0 || r == "cpu" || r == "memory" {
				put("kubepulse_node_requests", v, "node", n.name, "resource", r, "unit", unitOf(r))
			}
		}
		for r, v := range lim {
			if v != 0 || r == "cpu" || r == "memory" {
				put("kubepulse_node_limits", v, "node", n.name, "resource", r, "unit", unitOf(r))
			}
		}
		conditionSeries(out, "kubepulse_node_condition", map[string]string{"node": n.name}, "condition", n.conditions)
		put("kubepulse_node_unschedulable", b2f(n.unschedulable), "node", n.name)
		put("kubepulse_node_info", 1, "node", n.name, "kubelet_version", n.kubelet, "container_runtime", n.runtime,
			"os_image", n.os, "zone", n.zone, "instance_type", n.instanceType)
	}
	type workload struct {
		req, lim res
		pods     float64
	}
	workloads := map[[2]string]*workload{}
	for _, p := range pods {
		wk, w := p.owner[2], p.owner[3]
		// Only pods that hold node resources have requests, limits and an
		// owner line, and count toward their workload.
		if holds := p.phase != "Succeeded" && p.phase != "Failed"; holds {
			wl := workloads[[2]string{wk, w}]
			if wl == nil {
				wl = &workload{req: res{}, lim: res{}}
				workloads[[2]string{wk, w}] = wl
			}
			wl.pods++
			for _, c := range p.containers {
				for r, v := range c.req {
					put("kubepulse_container_resource_requests", v, "namespace", ns, "pod", p.name, "container", c.name, "node", p.node, "resource", r, "unit", unitOf(r),
						"workload_kind", wk, "workload", w)
					wl.req[r] += v
				}
				for r, v := range c.lim {
					put("kubepulse_container_resource_limits", v, "namespace", ns, "pod", p.name, "container", c.name, "node", p.node, "resource", r, "unit", unitOf(r),
						"workload_kind", wk, "workload", w)
					wl.lim[r] += v
				}
			}
			put("kubepulse_pod_owner", 1, "namespace", ns, "pod", p.name, "owner_kind", p.owner[0], "owner_name", p.owner[1],
				"workload_kind", wk, "workload", w)
			if p.unschedulable {
				put("kubepulse_pod_unschedulable", 1, "namespace", ns, "pod", p.name, "workload_kind", wk, "workload", w)
			}
		}
		for _, s := range p.statuses {
			put("kubepulse_container_restarts_total", s.restarts, "namespace", ns, "pod", p.name, "container", s.container, "workload_kind", wk, "workload", w)
			if s.reason != "" {
				put("kubepulse_container_last_terminated_reason", 1, "namespace", ns, "pod", p.name, "container", s.container, "reason", s.reason,
					"workload_kind", wk, "workload", w)
			}
		}
		for _, wt := range p.waiting {
			put("kubepulse_container_waiting_reason", 1, "namespace", ns, "pod", p.name, "container", wt[0], "reason", wt[1], "workload_kind", wk, "workload", w)
		}
		// One series per pod, for its current phase (not one per phase).
		put("kubepulse_pod_phase", 1, "namespace", ns, "pod", p.name, "phase", p.phase)
		if p.phase == "Pending" {
			put("kubepulse_pod_pending_since_timestamp_seconds", p.created, "namespace", ns, "pod", p.name, "workload_kind", wk, "workload", w)
		}
	}
	// Sums of the hand-written values in milli-units, as quantities add up
	// exactly (0.1+0.25+0.1 is not 0.45 in floats).
	milli := func(v float64) float64 { return math.Round(v*1e3) / 1e3 }
	for k, wl := range workloads {
		for r, v := range wl.req {
			v = milli(v)
			put("kubepulse_workload_resource_requests", v, "namespace", ns, "workload_kind", k[0], "workload", k[1], "resource", r, "unit", unitOf(r))
		}
		for r, v := range wl.lim {
			v = milli(v)
			put("kubepulse_workload_resource_limits", v, "namespace", ns, "workload_kind", k[0], "workload", k[1], "resource", r, "unit", unitOf(r))
		}
		put("kubepulse_workload_pods", wl.pods, "namespace", ns, "workload_kind", k[0], "workload", k[1])
	}
	for _, h := range hpas {
		put("kubepulse_hpa_min_replicas", h.min, "namespace", ns, "hpa", h.name)
		put("kubepulse_hpa_max_replicas", h.max, "namespace", ns, "hpa", h.name)
		put("kubepulse_hpa_current_replicas", h.current, "namespace", ns, "hpa", h.name)
		put("kubepulse_hpa_desired_replicas", h.desired, "namespace", ns, "hpa", h.name)
		for k, v := range h.targets {
			put("kubepulse_hpa_target_metric", v, "namespace", ns, "hpa", h.name, "metric_name", k[0], "metric_target_type", k[1])
		}
		for k, v := range h.currents {
			put("kubepulse_hpa_current_metric", v, "namespace", ns, "hpa", h.name, "metric_name", k[0], "metric_target_type", k[1])
		}
		conditionSeries(out, "kubepulse_hpa_condition", map[string]string{"namespace": ns, "hpa": h.name}, "condition", h.conditions)
	}
	return out
}

// ours selects the series of the test's namespace and nodes.
func ours(ns string, nodes map[string]bool) func(string, map[string]string) bool {
	return func(_ string, l map[string]string) bool {
		if v, ok := l["namespace"]; ok {
			return v == ns
		}
		return nodes[l["node"]]
	}
}

func ptr[T any](v T) *T { return &v }

// TestValuesEndToEnd creates nodes, pods, owners and HPAs the way the
// control plane and kubelets would leave them, then checks every series the
// exporter serves for them; then deletes some and updates statuses.
func TestValuesEndToEnd(t *testing.T) {
	env := sharedEnv(t)
	ctx := testContext(t, 5*time.Minute)
	c := adminClient(t, env)
	ns := createNamespace(ctx, t, c, "values")
	n1, n2 := ns+"-n1", ns+"-n2"

	// Nodes, status through the status subresource.
	nodes := []nodeWant{
		{
			name:        n1,
			capacity:    res{"cpu": 4, "memory": 16 * gi, "pods": 110, "nvidia_com_gpu": 2, "ephemeral_storage": 100 * gi},
			allocatable: res{"cpu": 3.5, "memory": 15 * gi, "pods": 110, "nvidia_com_gpu": 2, "ephemeral_storage": 90 * gi},
			conditions:  map[string]string{"Ready": "true", "MemoryPressure": "false", "DiskPressure": "unknown"},
			kubelet:     "v1.37.2", runtime: "containerd://2.1.4", os: "Debian GNU/Linux 13 (trixie)",
			zone: "zone-a", instanceType: "m5.large",
		},
		{
			name:          n2,
			capacity:      res{"cpu": 8, "memory": 32 * gi},
			allocatable:   res{"cpu": 7.8, "memory": 30 * gi},
			conditions:    map[string]string{"Ready": "false"},
			unschedulable: true,
			kubelet:       "v1.36.0", runtime: "cri-o://1.36.1", os: "Fedora CoreOS 42",
			zone: "zone-b", instanceType: "c5.xlarge",
		},
	}
	createNode(ctx, t, c, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: n1, Labels: map[string]string{
		"topology.kubernetes.io/zone": "zone-a", "node.kubernetes.io/instance-type": "m5.large",
	}}}, corev1.NodeStatus{
		Capacity:    rl("cpu", "4", "memory", "16Gi", "pods", "110", "nvidia.com/gpu", "2", "ephemeral-storage", "100Gi"),
		Allocatable: rl("cpu", "3500m", "memory", "15Gi", "pods", "110", "nvidia.com/gpu", "2", "ephemeral-storage", "90Gi"),
		Conditions: []corev1.NodeCondition{
			{Type: corev1.NodeReady, Status: corev1.ConditionTrue},
			{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionFalse},
			{Type: corev1.NodeDiskPressure, Status: corev1.ConditionUnknown},
		},
		NodeInfo: corev1.NodeSystemInfo{KubeletVersion: "v1.37.2", ContainerRuntimeVersion: "containerd://2.1.4", OSImage: "Debian GNU/Linux 13 (trixie)"},
	})
	// The deprecated beta labels are still what some clouds set.
	createNode(ctx, t, c, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: n2, Labels: map[string]string{
		"failure-domain.beta.kubernetes.io/zone": "zone-b", "beta.kubernetes.io/instance-type": "c5.xlarge",
	}}, Spec: corev1.NodeSpec{Unschedulable: true}}, corev1.NodeStatus{
		Capacity:    rl("cpu", "8", "memory", "32Gi"),
		Allocatable: rl("cpu", "7800m", "memory", "30Gi"),
		Conditions:  []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionFalse}},
		NodeInfo:    corev1.NodeSystemInfo{KubeletVersion: "v1.36.0", ContainerRuntimeVersion: "cri-o://1.36.1", OSImage: "Fedora CoreOS 42"},
	})
	t.Cleanup(func() {
		for _, n := range []string{n1, n2} {
			_ = c.CoreV1().Nodes().Delete(context.Background(), n, metav1.DeleteOptions{})
		}
	})

	// Owners: Deployment -> ReplicaSet, CronJob -> Job, as their controllers
	// would create them.
	labels := map[string]string{"app": "web"}
	tmpl := corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "registry.example/web:1"}}}}
	dep, err := c.AppsV1().Deployments(ns).Create(ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec:       appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: labels}, Template: tmpl},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rs, err := c.AppsV1().ReplicaSets(ns).Create(ctx, &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: "web-7d9c", OwnerReferences: []metav1.OwnerReference{{
			APIVersion: "apps/v1", Kind: "Deployment", Name: dep.Name, UID: dep.UID, Controller: ptr(true)}}},
		Spec: appsv1.ReplicaSetSpec{Selector: &metav1.LabelSelector{MatchLabels: labels}, Template: tmpl},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	jobTmpl := corev1.PodTemplateSpec{Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever,
		Containers: []corev1.Container{{Name: "job", Image: "registry.example/job:1"}}}}
	cj, err := c.BatchV1().CronJobs(ns).Create(ctx, &batchv1.CronJob{
		ObjectMeta: metav1.ObjectMeta{Name: "nightly"},
		Spec: batchv1.CronJobSpec{Schedule: "0 3 * * *", JobTemplate: batchv1.JobTemplateSpec{
			Spec: batchv1.JobSpec{Template: jobTmpl}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	job, err := c.BatchV1().Jobs(ns).Create(ctx, &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "nightly-29000000", OwnerReferences: []metav1.OwnerReference{{
			APIVersion: "batch/v1", Kind: "CronJob", Name: cj.Name, UID: cj.UID, Controller: ptr(true)}}},
		Spec: batchv1.JobSpec{Template: jobTmpl},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}

	// Overhead comes from a RuntimeClass through the RuntimeClass admission
	// plugin, as in a real cluster.
	rc, err := c.NodeV1().RuntimeClasses().Create(ctx, &nodev1.RuntimeClass{
		ObjectMeta: metav1.ObjectMeta{Name: ns + "-kata"}, Handler: "kata",
		Overhead: &nodev1.Overhead{PodFixed: rl("cpu", "50m", "memory", "10Mi")},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.NodeV1().RuntimeClasses().Delete(context.Background(), rc.Name, metav1.DeleteOptions{}) })

	ctrl := func(kind, name string) []metav1.OwnerReference {
		ref := metav1.OwnerReference{Kind: kind, Name: name, Controller: ptr(true)}
		switch kind {
		case "ReplicaSet":
			ref.APIVersion, ref.UID = "apps/v1", rs.UID
		case "Job":
			ref.APIVersion, ref.UID = "batch/v1", job.UID
		}
		return []metav1.OwnerReference{ref}
	}
	always := corev1.ContainerRestartPolicyAlways
	terminated := func(reason string, code int32) corev1.ContainerState {
		return corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: reason, ExitCode: code}}
	}
	running := corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}
	waiting := func(reason string) corev1.ContainerState {
		return corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason}}
	}
	cs := func(name string, restarts int32, state, last corev1.ContainerState) corev1.ContainerStatus {
		return corev1.ContainerStatus{Name: name, Image: "registry.example/x:1", RestartCount: restarts, State: state, LastTerminationState: last}
	}

	type podObj struct {
		pod    *corev1.Pod
		status *corev1.PodStatus
	}
	objs := []podObj{
		{pod: &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "web-7d9c-abcde", OwnerReferences: ctrl("ReplicaSet", "web-7d9c")},
			Spec: corev1.PodSpec{NodeName: n1, RuntimeClassName: &rc.Name,
				InitContainers: []corev1.Container{
					{Name: "init-db", Image: "registry.example/x:1", Resources: corev1.ResourceRequirements{Requests: rl("cpu", "1", "memory", "64Mi")}},
					{Name: "proxy", Image: "registry.example/x:1", RestartPolicy: &always, Resources: corev1.ResourceRequirements{
						Requests: rl("cpu", "100m", "memory", "32Mi"), Limits: rl("cpu", "200m", "memory", "64Mi")}},
				},
				Containers: []corev1.Container{
					{Name: "app", Image: "registry.example/x:1", Resources: corev1.ResourceRequirements{
						Requests: rl("cpu", "250m", "memory", "128Mi"), Limits: rl("cpu", "500m", "memory", "256Mi")}},
					{Name: "worker", Image: "registry.example/x:1", Resources: corev1.ResourceRequirements{Requests: rl("cpu", "100m")}},
				}}},
			status: &corev1.PodStatus{Phase: corev1.PodRunning,
				InitContainerStatuses: []corev1.ContainerStatus{
					cs("init-db", 0, terminated("Completed", 0), corev1.ContainerState{}),
					cs("proxy", 1, running, terminated("Error", 1)),
				},
				ContainerStatuses: []corev1.ContainerStatus{
					cs("app", 0, running, corev1.ContainerState{}),
					cs("worker", 2, running, terminated("OOMKilled", 137)),
				}}},
		{pod: &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "gpu"},
			Spec: corev1.PodSpec{NodeName: n1, Containers: []corev1.Container{{Name: "cuda", Image: "registry.example/x:1",
				Resources: corev1.ResourceRequirements{Requests: rl("cpu", "2", "memory", "1Gi", "nvidia.com/gpu", "1"),
					Limits: rl("cpu", "2", "memory", "1Gi", "nvidia.com/gpu", "1")}}}}},
			status: &corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{cs("cuda", 0, running, corev1.ContainerState{})}}},
		{pod: &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "done"},
			Spec: corev1.PodSpec{NodeName: n1, RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{{Name: "task", Image: "registry.example/x:1",
				Resources: corev1.ResourceRequirements{Requests: rl("cpu", "500m", "memory", "100Mi")}}}}},
			status: &corev1.PodStatus{Phase: corev1.PodSucceeded, ContainerStatuses: []corev1.ContainerStatus{cs("task", 0, terminated("Completed", 0), corev1.ContainerState{})}}},
		{pod: &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "nightly-29000000-xyz", OwnerReferences: ctrl("Job", job.Name)},
			Spec: corev1.PodSpec{NodeName: n2, RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{{Name: "job", Image: "registry.example/x:1",
				Resources: corev1.ResourceRequirements{Requests: rl("cpu", "500m")}}}}}},
		{pod: &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "unscheduled"},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "registry.example/x:1",
				Resources: corev1.ResourceRequirements{Requests: rl("memory", "1Gi")}}}}},
			// As the scheduler leaves a pod no node can take.
			status: &corev1.PodStatus{Phase: corev1.PodPending, Conditions: []corev1.PodCondition{{Type: corev1.PodScheduled,
				Status: corev1.ConditionFalse, Reason: corev1.PodReasonUnschedulable, Message: "0/2 nodes are available: 2 Insufficient memory."}}}},
	}
	created := map[string]float64{}
	for _, o := range objs {
		cp, err := c.CoreV1().Pods(ns).Create(ctx, o.pod, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("create pod %s: %v", o.pod.Name, err)
		}
		created[cp.Name] = float64(cp.CreationTimestamp.Unix())
		if o.status != nil {
			cp.Status = *o.status
			if _, err := c.CoreV1().Pods(ns).UpdateStatus(ctx, cp, metav1.UpdateOptions{}); err != nil {
				t.Fatalf("update status of pod %s: %v", o.pod.Name, err)
			}
		}
	}
	none := [4]string{"<none>", "<none>", "<none>", "<none>"}
	pods := []podWant{
		{
			name: "web-7d9c-abcde", node: n1, phase: "Running",
			owner: [4]string{"ReplicaSet", "web-7d9c", "Deployment", "web"},
			containers: []ctrWant{
				{"proxy", res{"cpu": 0.1, "memory": 32 * mi}, res{"cpu": 0.2, "memory": 64 * mi}},
				{"app", res{"cpu": 0.25, "memory": 128 * mi}, res{"cpu": 0.5, "memory": 256 * mi}},
				{"worker", res{"cpu": 0.1}, nil},
			},
			statuses: []statusWant{{"init-db", 0, ""}, {"proxy", 1, "Error"}, {"app", 0, ""}, {"worker", 2, "OOMKilled"}},
			// requests: max(app 250m + worker 100m + sidecar 100m = 450m, init-db 1000m) + overhead 50m;
			// memory max(128+32, 64) + 10 Mi. Limits: 500m + 200m (+50m overhead, cpu has a limit);
			// memory 256 + 64 + 10 Mi.
			sumReq: res{"cpu": 1.05, "memory": 170 * mi},
			sumLim: res{"cpu": 0.75, "memory": 330 * mi},
		},
		{
			name: "gpu", node: n1, phase: "Running", owner: none,
			containers: []ctrWant{{"cuda", res{"cpu": 2, "memory": gi, "nvidia_com_gpu": 1}, res{"cpu": 2, "memory": gi, "nvidia_com_gpu": 1}}},
			statuses:   []statusWant{{"cuda", 0, ""}},
			sumReq:     res{"cpu": 2, "memory": gi, "nvidia_com_gpu": 1},
			sumLim:     res{"cpu": 2, "memory": gi, "nvidia_com_gpu": 1},
		},
		{
			name: "done", node: n1, phase: "Succeeded", owner: none,
			containers: []ctrWant{{"task", res{"cpu": 0.5, "memory": 100 * mi}, nil}},
			statuses:   []statusWant{{"task", 0, ""}},
			sumReq:     res{"cpu": 0.5, "memory": 100 * mi}, // terminated: not counted
		},
		{
			name: "nightly-29000000-xyz", node: n2, phase: "Pending",
			owner:      [4]string{"Job", job.Name, "CronJob", "nightly"},
			containers: []ctrWant{{"job", res{"cpu": 0.5}, nil}},
			sumReq:     res{"cpu": 0.5},
			created:    created["nightly-29000000-xyz"],
		},
		{
			name: "unscheduled", phase: "Pending", owner: none, unschedulable: true,
			containers: []ctrWant{{"c", res{"memory": gi}, nil}},
			created:    created["unscheduled"],
		},
	}

	// HPAs (autoscaling/v2), status as the HPA controller would write it.
	now := metav1.Now()
	hpaObjs := []struct {
		h  *autoscalingv2.HorizontalPodAutoscaler
		st *autoscalingv2.HorizontalPodAutoscalerStatus
	}{
		{h: &autoscalingv2.HorizontalPodAutoscaler{
			ObjectMeta: metav1.ObjectMeta{Name: "web"},
			Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
				ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"},
				MinReplicas:    ptr(int32(2)), MaxReplicas: 10,
				Metrics: []autoscalingv2.MetricSpec{
					{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{Name: corev1.ResourceCPU,
						Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr(int32(60))}}},
					{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricSource{Metric: autoscalingv2.MetricIdentifier{Name: "requests_per_second"},
						Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: ptr(resource.MustParse("100"))}}},
					{Type: autoscalingv2.ExternalMetricSourceType, External: &autoscalingv2.ExternalMetricSource{Metric: autoscalingv2.MetricIdentifier{Name: "queue_depth"},
						Target: autoscalingv2.MetricTarget{Type: autoscalingv2.ValueMetricType, Value: ptr(resource.MustParse("30"))}}},
				}}},
			st: &autoscalingv2.HorizontalPodAutoscalerStatus{CurrentReplicas: 3, DesiredReplicas: 4,
				CurrentMetrics: []autoscalingv2.MetricStatus{
					{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricStatus{Name: corev1.ResourceCPU,
						Current: autoscalingv2.MetricValueStatus{AverageUtilization: ptr(int32(75)), AverageValue: ptr(resource.MustParse("300m"))}}},
					{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricStatus{Metric: autoscalingv2.MetricIdentifier{Name: "requests_per_second"},
						Current: autoscalingv2.MetricValueStatus{AverageValue: ptr(resource.MustParse("120"))}}},
					{Type: autoscalingv2.ExternalMetricSourceType, External: &autoscalingv2.ExternalMetricStatus{Metric: autoscalingv2.MetricIdentifier{Name: "queue_depth"},
						Current: autoscalingv2.MetricValueStatus{Value: ptr(resource.MustParse("42"))}}},
				},
				Conditions: []autoscalingv2.HorizontalPodAutoscalerCondition{
					{Type: autoscalingv2.AbleToScale, Status: corev1.ConditionTrue, LastTransitionTime: now, Reason: "ReadyForNewScale"},
					{Type: autoscalingv2.ScalingActive, Status: corev1.ConditionTrue, LastTransitionTime: now, Reason: "ValidMetricFound"},
					{Type: autoscalingv2.ScalingLimited, Status: corev1.ConditionFalse, LastTransitionTime: now, Reason: "DesiredWithinRange"},
				}}},
		{h: &autoscalingv2.HorizontalPodAutoscaler{
			ObjectMeta: metav1.ObjectMeta{Name: "batch"},
			Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
				ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "batch"},
				MaxReplicas:    3, // minReplicas defaults to 1
				Metrics: []autoscalingv2.MetricSpec{
					{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{Name: corev1.ResourceMemory,
						Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: ptr(resource.MustParse("512Mi"))}}},
				}}}},
	}
	for _, o := range hpaObjs {
		created, err := c.AutoscalingV2().HorizontalPodAutoscalers(ns).Create(ctx, o.h, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("create hpa %s: %v", o.h.Name, err)
		}
		if o.st != nil {
			created.Status = *o.st
			if _, err := c.AutoscalingV2().HorizontalPodAutoscalers(ns).UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
				t.Fatalf("update status of hpa %s: %v", o.h.Name, err)
			}
		}
	}
	hpas := []hpaWant{
		{name: "web", min: 2, max: 10, current: 3, desired: 4,
			targets:    map[[2]string]float64{{"cpu", "utilization"}: 60, {"requests_per_second", "average"}: 100, {"queue_depth", "value"}: 30},
			currents:   map[[2]string]float64{{"cpu", "utilization"}: 75, {"cpu", "average"}: 0.3, {"requests_per_second", "average"}: 120, {"queue_depth", "value"}: 42},
			conditions: map[string]string{"AbleToScale": "true", "ScalingActive": "true", "ScalingLimited": "false"}},
		{name: "batch", min: 1, max: 3,
			targets: map[[2]string]float64{{"memory", "average"}: 512 * mi}},
	}

	x := adminExporter(t, env, "--namespaces="+ns)
	if err := x.WaitReady(testContext(t, 2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	sel := ours(ns, map[string]bool{n1: true, n2: true})
	check := func(t *testing.T, what string, nodes []nodeWant, pods []podWant, hpas []hpaWant) {
		t.Helper()
		want := expected(ns, nodes, pods, hpas)
		eventually(testContext(t, time.Minute), t, what, func() error {
			return scrapeMatches(ctx, x, sel, want, clusterFamilies)
		})
		t.Logf("%s: %d series match", what, len(want))
	}

	t.Run("created", func(t *testing.T) {
		check(t, "every series of the created objects", nodes, pods, hpas)
		fams, _, _, err := x.Scrape(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, src := range []string{"nodes", "pods", "replicasets", "jobs", "hpas"} {
			if v, ok := fams.Value("kubepulse_source_up", map[string]string{"source": src}); !ok || v != 1 {
				t.Errorf("kubepulse_source_up{source=%q} = %v (present %v), want 1", src, v, ok)
			}
		}
	})

	t.Run("deleted objects disappear", func(t *testing.T) {
		for _, p := range []string{"done", "gpu"} {
			if err := c.CoreV1().Pods(ns).Delete(ctx, p, deleteNow()); err != nil {
				t.Fatal(err)
			}
		}
		if err := c.CoreV1().Nodes().Delete(ctx, n2, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := c.AutoscalingV2().HorizontalPodAutoscalers(ns).Delete(ctx, "batch", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		// The Job's pod stays, on a node that is gone: its own series stay.
		pods = []podWant{pods[0], pods[3], pods[4]}
		nodes = nodes[:1]
		hpas = hpas[:1]
		check(t, "series after deletes", nodes, pods, hpas)
	})

	t.Run("status updates follow", func(t *testing.T) {
		// The Job's pod starts, is OOM-killed four times and waits in
		// back-off.
		p, err := c.CoreV1().Pods(ns).Get(ctx, "nightly-29000000-xyz", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		p.Status.Phase = corev1.PodRunning
		p.Status.ContainerStatuses = []corev1.ContainerStatus{cs("job", 4, waiting("CrashLoopBackOff"), terminated("OOMKilled", 137))}
		if _, err := c.CoreV1().Pods(ns).UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		pods[1].phase = "Running"
		pods[1].statuses = []statusWant{{"job", 4, "OOMKilled"}}
		pods[1].waiting = [][2]string{{"job", "CrashLoopBackOff"}}

		// The web pod's worker restarts again, this time with an error, and
		// then the pod fails: it stops counting on the node.
		p, err = c.CoreV1().Pods(ns).Get(ctx, "web-7d9c-abcde", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		p.Status.Phase = corev1.PodFailed
		p.Status.ContainerStatuses[1] = cs("worker", 3, terminated("Error", 1), terminated("Error", 1))
		if _, err := c.CoreV1().Pods(ns).UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		pods[0].phase = "Failed"
		pods[0].statuses[3] = statusWant{"worker", 3, "Error"}
		check(t, "series after status updates", nodes, pods, hpas)
	})

	t.Run("a completed Job no longer counts toward its workload", func(t *testing.T) {
		p, err := c.CoreV1().Pods(ns).Get(ctx, "nightly-29000000-xyz", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		p.Status.Phase = corev1.PodSucceeded
		p.Status.ContainerStatuses = []corev1.ContainerStatus{cs("job", 4, terminated("Completed", 0), terminated("OOMKilled", 137))}
		if _, err := c.CoreV1().Pods(ns).UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		pods[1].phase = "Succeeded"
		pods[1].waiting = nil
		// expected() drops its requests, limits, owner line and its
		// CronJob's workload series; check that no such series is left.
		want := expected(ns, nodes, pods, hpas)
		for k := range want {
			if strings.Contains(k, "nightly") && (strings.HasPrefix(k, "kubepulse_workload_") || strings.HasPrefix(k, "kubepulse_container_resource_")) {
				t.Fatalf("test expects a completed Job series: %s", k)
			}
		}
		check(t, "series after the Job completed", nodes, pods, hpas)
	})
}
