package cluster

import (
	"context"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
)

// jobPod is a pod of Job nightly-1 (of CronJob nightly) in namespace b.
func jobPod(name string, phase v1.PodPhase) *v1.Pod {
	ctl := true
	return &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "b", UID: types.UID("uid-" + name),
			CreationTimestamp: metav1.NewTime(time.Unix(1700000000, 0)),
			OwnerReferences:   []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "Job", Name: "nightly-1", UID: "job-uid", Controller: &ctl}}},
		Spec: v1.PodSpec{NodeName: "n1", Containers: []v1.Container{{Name: "c", Resources: v1.ResourceRequirements{
			Requests: rl("cpu", "250m", "memory", "64Mi"), Limits: rl("cpu", "1", "memory", "128Mi")}}}},
		Status: v1.PodStatus{Phase: phase},
	}
}

func jobOwners() []runtime.Object {
	ctl := true
	return []runtime.Object{&metav1.PartialObjectMetadata{
		TypeMeta: metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: metav1.ObjectMeta{Name: "nightly-1", Namespace: "b", UID: "job-uid",
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "CronJob", Name: "nightly", UID: "cj", Controller: &ctl}}}}}
}

func jobKey(metric, pod string, kv ...string) string {
	return key(metric, append([]string{"namespace", "b", "pod", pod}, append(kv, "workload_kind", "CronJob", "workload", "nightly")...)...)
}

// Requests, limits and owner exist only for pods that hold node resources,
// the scheduler's rule; the workload sums count the same pods.
func TestResourceSeriesFollowPhase(t *testing.T) {
	tests := []struct {
		phase v1.PodPhase
		holds bool
	}{
		{"", true}, // unset phase: the API server defaults Pending
		{v1.PodPending, true},
		{v1.PodRunning, true},
		{v1.PodUnknown, true},
		{v1.PodSucceeded, false},
		{v1.PodFailed, false},
	}
	for _, tt := range tests {
		t.Run(string(tt.phase), func(t *testing.T) {
			f := newFixture(t, Config{}, []runtime.Object{jobPod("p", tt.phase)}, jobOwners())
			got := f.render(t)
			holding := map[string]float64{
				jobKey("kubepulse_container_resource_requests", "p", "container", "c", "node", "n1", "resource", "cpu", "unit", "core"):  0.25,
				jobKey("kubepulse_container_resource_limits", "p", "container", "c", "node", "n1", "resource", "memory", "unit", "byte"): 128 * Mi,
				jobKey("kubepulse_pod_owner", "p", "owner_kind", "Job", "owner_name", "nightly-1"):                                       1,
				key("kubepulse_workload_pods", "namespace", "b", "workload_kind", "CronJob", "workload", "nightly"):                      1,
				wres("kubepulse_workload_resource_requests", "b", "CronJob", "nightly", "cpu", "core"):                                   0.25,
				wres("kubepulse_workload_resource_limits", "b", "CronJob", "nightly", "memory", "byte"):                                  128 * Mi,
			}
			for k, v := range holding {
				g, ok := got[k]
				if ok != tt.holds {
					t.Errorf("%s present = %v, want %v", k, ok, tt.holds)
				} else if ok && g != v {
					t.Errorf("%s = %v, want %v", k, g, v)
				}
			}
			phase := string(tt.phase)
			if phase == "" {
				phase = "Pending"
			}
			if _, ok := got[key("kubepulse_pod_phase", "namespace", "b", "pod", "p", "phase", phase)]; !ok {
				t.Errorf("phase series missing for every phase")
			}
		})
	}
}

// A Job's pod completing leaves the workload's sums to the pods still
// running, and its own requests go.
func TestCompletedJobLeavesWorkload(t *testing.T) {
	f := newFixture(t, Config{}, []runtime.Object{jobPod("run1", v1.PodRunning), jobPod("run2", v1.PodRunning)}, jobOwners())
	cpu := wres("kubepulse_workload_resource_requests", "b", "CronJob", "nightly", "cpu", "core")
	pods := key("kubepulse_workload_pods", "namespace", "b", "workload_kind", "CronJob", "workload", "nightly")
	if s := f.render(t); s[cpu] != 0.5 || s[pods] != 2 {
		t.Fatalf("two running pods: cpu %v pods %v, want 0.5 and 2", s[cpu], s[pods])
	}
	p := getPod(t, f, "b", "run1")
	p.Status.Phase = v1.PodSucceeded
	if _, err := f.client.CoreV1().Pods("b").UpdateStatus(context.Background(), p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	req := jobKey("kubepulse_container_resource_requests", "run1", "container", "c", "node", "n1", "resource", "cpu", "unit", "core")
	eventually(t, "the completed pod to leave the workload", func() bool {
		s := f.render(t)
		_, still := s[req]
		return !still && s[cpu] == 0.25 && s[pods] == 1
	})
	p = getPod(t, f, "b", "run2")
	p.Status.Phase = v1.PodSucceeded
	if _, err := f.client.CoreV1().Pods("b").UpdateStatus(context.Background(), p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the workload series to go with its last pod", func() bool {
		s := f.render(t)
		_, c := s[cpu]
		_, n := s[pods]
		return !c && !n
	})
}

func TestPodStatusSeries(t *testing.T) {
	waiting := func(reason string) v1.ContainerState {
		return v1.ContainerState{Waiting: &v1.ContainerStateWaiting{Reason: reason}}
	}
	tests := []struct {
		name    string
		mutate  func(p *v1.Pod)
		present map[string]float64
		absent  []string
	}{
		{"crash loop", func(p *v1.Pod) {
			p.Status.Phase = v1.PodRunning
			p.Status.ContainerStatuses = []v1.ContainerStatus{{Name: "c", RestartCount: 7, State: waiting("CrashLoopBackOff"),
				LastTerminationState: v1.ContainerState{Terminated: &v1.ContainerStateTerminated{Reason: "Error"}}}}
		}, map[string]float64{
			jobKey("kubepulse_container_waiting_reason", "p", "container", "c", "reason", "CrashLoopBackOff"): 1,
			jobKey("kubepulse_container_restarts_total", "p", "container", "c"):                               7,
			jobKey("kubepulse_container_last_terminated_reason", "p", "container", "c", "reason", "Error"):    1,
		}, []string{jobKey("kubepulse_pod_pending_since_timestamp_seconds", "p")}},
		{"image pull of an init container", func(p *v1.Pod) {
			p.Status.Phase = v1.PodPending
			p.Status.InitContainerStatuses = []v1.ContainerStatus{{Name: "init", State: waiting("ImagePullBackOff")}}
			p.Status.ContainerStatuses = []v1.ContainerStatus{{Name: "c", State: waiting("PodInitializing")}}
		}, map[string]float64{
			jobKey("kubepulse_container_waiting_reason", "p", "container", "init", "reason", "ImagePullBackOff"): 1,
			jobKey("kubepulse_container_waiting_reason", "p", "container", "c", "reason", "PodInitializing"):     1,
			jobKey("kubepulse_pod_pending_since_timestamp_seconds", "p"):                                         1700000000,
		}, []string{jobKey("kubepulse_pod_unschedulable", "p")}},
		{"config error", func(p *v1.Pod) {
			p.Status.Phase = v1.PodPending
			p.Status.ContainerStatuses = []v1.ContainerStatus{{Name: "c", State: waiting("CreateContainerConfigError")}}
		}, map[string]float64{
			jobKey("kubepulse_container_waiting_reason", "p", "container", "c", "reason", "CreateContainerConfigError"): 1,
		}, nil},
		{"running: no waiting series", func(p *v1.Pod) {
			p.Status.Phase = v1.PodRunning
			p.Status.ContainerStatuses = []v1.ContainerStatus{{Name: "c", State: v1.ContainerState{Running: &v1.ContainerStateRunning{}}}}
		}, nil, []string{
			jobKey("kubepulse_container_waiting_reason", "p", "container", "c", "reason", "CrashLoopBackOff"),
			jobKey("kubepulse_pod_pending_since_timestamp_seconds", "p"),
		}},
		{"unschedulable", func(p *v1.Pod) {
			p.Spec.NodeName = ""
			p.Status.Phase = v1.PodPending
			p.Status.Conditions = []v1.PodCondition{{Type: v1.PodScheduled, Status: v1.ConditionFalse, Reason: v1.PodReasonUnschedulable}}
		}, map[string]float64{
			jobKey("kubepulse_pod_unschedulable", "p"):                   1,
			jobKey("kubepulse_pod_pending_since_timestamp_seconds", "p"): 1700000000,
		}, nil},
		{"not scheduled yet for another reason", func(p *v1.Pod) {
			p.Spec.NodeName = ""
			p.Status.Phase = v1.PodPending
			p.Status.Conditions = []v1.PodCondition{{Type: v1.PodScheduled, Status: v1.ConditionFalse, Reason: "SchedulingGated"}}
		}, map[string]float64{
			jobKey("kubepulse_pod_pending_since_timestamp_seconds", "p"): 1700000000,
		}, []string{jobKey("kubepulse_pod_unschedulable", "p")}},
		{"failed pod: no pending time, no unschedulable", func(p *v1.Pod) {
			p.Status.Phase = v1.PodFailed
			p.Status.Conditions = []v1.PodCondition{{Type: v1.PodScheduled, Status: v1.ConditionFalse, Reason: v1.PodReasonUnschedulable}}
		}, map[string]float64{key("kubepulse_pod_phase", "namespace", "b", "pod", "p", "phase", "Failed"): 1},
			[]string{jobKey("kubepulse_pod_unschedulable", "p"), jobKey("kubepulse_pod_pending_since_timestamp_seconds", "p")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := jobPod("p", v1.PodRunning)
			tt.mutate(p)
			got := newFixture(t, Config{}, []runtime.Object{p}, jobOwners()).render(t)
			for k, v := range tt.present {
				if g, ok := got[k]; !ok || g != v {
					t.Errorf("%s = %v (present %v), want %v", k, g, ok, v)
				}
			}
			for _, k := range tt.absent {
				if _, ok := got[k]; ok {
					t.Errorf("unexpected %s", k)
				}
			}
		})
	}
}

// Container is what the usage collector looks up: workload and limits.
func TestContainerLookup(t *testing.T) {
	objs, owners := fixtureObjects(t)
	f := newFixture(t, Config{}, objs, owners)
	tests := []struct {
		ns, pod, container string
		ok                 bool
		want               ContainerInfo
	}{
		{"shop", "web-5d8f-abcde", "a", true, ContainerInfo{WorkloadKind: "Deployment", Workload: "web", CPULimit: 0.2, MemoryLimit: 256 * Mi}},
		{"shop", "web-5d8f-abcde", "b", true, ContainerInfo{WorkloadKind: "Deployment", Workload: "web", MemoryLimit: 128 * Mi}},
		{"shop", "db-0", "sc1", true, ContainerInfo{WorkloadKind: "StatefulSet", Workload: "db", MemoryLimit: 200 * Mi}},
		{"shop", "web-5d8f-abcde", "gone", true, ContainerInfo{WorkloadKind: "Deployment", Workload: "web"}},
		{"ml", "gpu", "train", true, ContainerInfo{WorkloadKind: none, Workload: none}},
		{"shop", "nope", "a", false, ContainerInfo{}},
	}
	for _, tt := range tests {
		got, ok := f.src.Container(tt.ns, tt.pod, tt.container)
		if ok != tt.ok || got != tt.want {
			t.Errorf("Container(%s, %s, %s) = %+v, %v; want %+v, %v", tt.ns, tt.pod, tt.container, got, ok, tt.want, tt.ok)
		}
	}
}

// The watch-list stream: the reflector's temporary store applies the sink's
// transformer to every pod as it arrives, which renders it and keeps only
// its name; the final Replace gets those names and drops pods missing from
// the stream.
func TestWatchListTransformerRendersOnArrival(t *testing.T) {
	objs, owners := fixtureObjects(t)
	f := newFixture(t, Config{}, objs, owners)
	sink := &podSink{s: f.src, st: &sourceStatus{}, keys: map[string]struct{}{}}
	tmp := cache.NewStore(cache.DeletionHandlingMetaNamespaceKeyFunc, cache.WithTransformer(sink.Transformer()))
	phase := func(name string) string {
		return key("kubepulse_pod_phase", "namespace", "b", "pod", name, "phase", "Running")
	}
	for _, n := range []string{"streamed-1", "streamed-2"} {
		if err := tmp.Add(jobPod(n, v1.PodRunning)); err != nil {
			t.Fatal(err)
		}
	}
	for _, o := range tmp.List() {
		if _, ok := o.(*metav1.PartialObjectMetadata); !ok {
			t.Fatalf("the temporary store holds a %T, want only the pod's name", o)
		}
	}
	if got := f.render(t); got[phase("streamed-1")] != 1 || got[phase("streamed-2")] != 1 {
		t.Fatalf("pods not rendered on arrival: %v", got)
	}
	// The stream's end: streamed-2 was deleted meanwhile.
	if err := tmp.Delete(&metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Namespace: "b", Name: "streamed-2"}}); err != nil {
		t.Fatal(err)
	}
	if err := sink.Replace(tmp.List(), "1"); err != nil {
		t.Fatal(err)
	}
	got := f.render(t)
	if got[phase("streamed-1")] != 1 {
		t.Errorf("streamed-1 lost at Replace")
	}
	if _, ok := got[phase("streamed-2")]; ok {
		t.Errorf("streamed-2 kept after a Replace without it")
	}
	if !sink.synced.Load() {
		t.Error("the sink is not synced after Replace")
	}
}
