package demo

import (
	"context"
	"fmt"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	metafake "k8s.io/client-go/metadata/fake"
)

// kube is the fake API server the cluster collectors list and watch.
type kube struct {
	client *fake.Clientset
	meta   *metafake.FakeMetadataClient
	known  map[string]bool // pods created in the clientset
	hpaAt  time.Time       // scaling decision last written to the HPA status
}

var (
	rsGVR  = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "replicasets"}
	jobGVR = schema.GroupVersionResource{Group: "batch", Version: "v1", Resource: "jobs"}
)

// newKube builds the clientset with nodes, owners and the HPA; kubelet
// addresses come from ports (node name -> fake kubelet port).
func newKube(s *Sim, host string, ports map[string]int32) (*kube, error) {
	var objs []runtime.Object
	for _, n := range s.nodes {
		objs = append(objs, nodeObject(n, host, ports[n.name]))
	}
	objs = append(objs, hpaObject(s))
	sch := metafake.NewTestScheme()
	_ = metav1.AddMetaToScheme(sch)
	var owners []runtime.Object
	for _, w := range s.workloads {
		owners = append(owners, ownerMeta(w))
	}
	k := &kube{client: fake.NewClientset(objs...), meta: metafake.NewSimpleMetadataClient(sch, owners...), known: map[string]bool{}}
	return k, nil
}

func qty(v float64, unit string) resource.Quantity {
	switch unit {
	case "cpu":
		return *resource.NewMilliQuantity(int64(v*1000+0.5), resource.DecimalSI)
	default:
		return *resource.NewQuantity(int64(v), resource.BinarySI)
	}
}

func nodeObject(n *simNode, host string, port int32) *v1.Node {
	node := &v1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: n.name, UID: types.UID("uid-" + n.name), Labels: map[string]string{
			"kubernetes.io/hostname": n.name, "node.kubernetes.io/instance-type": "m6i.xlarge", "topology.kubernetes.io/zone": "demo-1a",
		}},
		Status: v1.NodeStatus{
			Capacity:    v1.ResourceList{v1.ResourceCPU: qty(n.cpu, "cpu"), v1.ResourceMemory: qty(n.mem, "mem"), v1.ResourcePods: *resource.NewQuantity(int64(n.podCapacity), resource.DecimalSI)},
			Allocatable: v1.ResourceList{v1.ResourceCPU: qty(n.allocCPU, "cpu"), v1.ResourceMemory: qty(n.allocMem, "mem"), v1.ResourcePods: *resource.NewQuantity(int64(n.podCapacity), resource.DecimalSI)},
			Conditions: []v1.NodeCondition{
				{Type: v1.NodeReady, Status: v1.ConditionTrue},
				{Type: v1.NodeMemoryPressure, Status: v1.ConditionFalse},
				{Type: v1.NodeDiskPressure, Status: v1.ConditionFalse},
			},
			Addresses:       []v1.NodeAddress{{Type: v1.NodeInternalIP, Address: host}, {Type: v1.NodeHostName, Address: n.name}},
			DaemonEndpoints: v1.NodeDaemonEndpoints{KubeletEndpoint: v1.DaemonEndpoint{Port: port}},
			NodeInfo:        v1.NodeSystemInfo{KubeletVersion: "v1.34.1", ContainerRuntimeVersion: "containerd://2.1.4", OSImage: "Debian GNU/Linux 12", KernelVersion: "6.1.0", Architecture: "amd64", OperatingSystem: "linux"},
		},
	}
	if n.cordoned {
		node.Spec.Unschedulable = true
		node.Spec.Taints = []v1.Taint{{Key: v1.TaintNodeUnschedulable, Effect: v1.TaintEffectNoSchedule}}
	}
	return node
}

// ownerMeta is the ReplicaSet (owned by its Deployment) or Job of w, as the
// metadata informer sees it.
func ownerMeta(w *workload) *metav1.PartialObjectMetadata {
	if w.kind == "Job" {
		return &metav1.PartialObjectMetadata{
			TypeMeta:   metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
			ObjectMeta: metav1.ObjectMeta{Name: w.name, Namespace: w.ns, UID: types.UID("uid-job-" + w.name)},
		}
	}
	return &metav1.PartialObjectMetadata{
		TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: "ReplicaSet"},
		ObjectMeta: metav1.ObjectMeta{Name: w.name + "-" + w.hash, Namespace: w.ns, UID: types.UID("uid-rs-" + w.name),
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "Deployment", Name: w.name, UID: types.UID("uid-deploy-" + w.name), Controller: ptr(true)}}},
	}
}

func ptr[T any](v T) *T { return &v }

func hpaObject(s *Sim) *autoscalingv2.HorizontalPodAutoscaler {
	w := s.web
	util := int32(s.webCPU / float64(max(w.replicas, 1)) / w.cpuReq * 100)
	able := v1.ConditionTrue
	limited := v1.ConditionFalse
	if s.desired > w.maxR {
		limited = v1.ConditionTrue
	}
	return &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: w.name, Namespace: w.ns, UID: "uid-hpa-web"},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: w.name},
			MinReplicas:    ptr(int32(w.minR)), MaxReplicas: int32(w.maxR),
			Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
				Name: v1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr(w.hpaTarget)},
			}}},
		},
		Status: autoscalingv2.HorizontalPodAutoscalerStatus{
			CurrentReplicas: int32(w.replicas), DesiredReplicas: int32(max(w.minR, min(w.maxR, s.desired))),
			CurrentMetrics: []autoscalingv2.MetricStatus{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricStatus{
				Name: v1.ResourceCPU, Current: autoscalingv2.MetricValueStatus{AverageUtilization: &util},
			}}},
			Conditions: []autoscalingv2.HorizontalPodAutoscalerCondition{
				{Type: autoscalingv2.AbleToScale, Status: able, Reason: "ReadyForNewScale"},
				{Type: autoscalingv2.ScalingActive, Status: v1.ConditionTrue, Reason: "ValidMetricFound"},
				{Type: autoscalingv2.ScalingLimited, Status: limited, Reason: "DesiredWithinRange"},
			},
		},
	}
}

func podObject(p *simPod) *v1.Pod {
	w := p.w
	res := v1.ResourceRequirements{
		Requests: v1.ResourceList{v1.ResourceCPU: qty(w.cpuReq, "cpu"), v1.ResourceMemory: qty(w.memReq, "mem")},
		Limits:   v1.ResourceList{v1.ResourceCPU: qty(w.cpuLim, "cpu"), v1.ResourceMemory: qty(w.memLim, "mem")},
	}
	owner := metav1.OwnerReference{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: w.name + "-" + w.hash, UID: types.UID("uid-rs-" + w.name), Controller: ptr(true)}
	if w.kind == "Job" {
		owner = metav1.OwnerReference{APIVersion: "batch/v1", Kind: "Job", Name: w.name, UID: types.UID("uid-job-" + w.name), Controller: ptr(true)}
	}
	pod := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: p.name, Namespace: w.ns, UID: types.UID(p.uid), CreationTimestamp: metav1.NewTime(p.created),
			Labels: map[string]string{"app": w.name}, OwnerReferences: []metav1.OwnerReference{owner}},
		Spec: v1.PodSpec{NodeName: p.node, Containers: []v1.Container{{Name: w.container, Image: "registry.example/" + w.name + ":1.4.2", Resources: res}}},
		Status: v1.PodStatus{Phase: v1.PodPhase(p.phase), QOSClass: v1.PodQOSBurstable,
			StartTime: ptr(metav1.NewTime(p.created))},
	}
	cs := v1.ContainerStatus{Name: w.container, Image: pod.Spec.Containers[0].Image, RestartCount: p.restarts}
	switch {
	case p.phase == "Pending":
		pod.Status.Conditions = []v1.PodCondition{{Type: v1.PodScheduled, Status: v1.ConditionFalse, Reason: v1.PodReasonUnschedulable,
			Message: fmt.Sprintf("0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.")}}
		return pod
	case p.phase == "Succeeded":
		cs.State.Terminated = &v1.ContainerStateTerminated{ExitCode: 0, Reason: "Completed", StartedAt: metav1.NewTime(p.created), FinishedAt: metav1.NewTime(p.created.Add(47 * time.Second))}
	case p.waiting != "":
		cs.State.Waiting = &v1.ContainerStateWaiting{Reason: p.waiting, Message: "back-off 5m0s restarting failed container"}
	default:
		cs.Ready = true
		cs.Started = ptr(true)
		cs.State.Running = &v1.ContainerStateRunning{StartedAt: metav1.NewTime(p.started)}
	}
	if p.lastReason != "" {
		code := int32(1)
		if p.lastReason == "OOMKilled" {
			code = 137
		}
		cs.LastTerminationState.Terminated = &v1.ContainerStateTerminated{ExitCode: code, Reason: p.lastReason, FinishedAt: metav1.NewTime(p.started)}
	}
	pod.Status.ContainerStatuses = []v1.ContainerStatus{cs}
	pod.Status.Conditions = []v1.PodCondition{{Type: v1.PodScheduled, Status: v1.ConditionTrue}, {Type: v1.PodReady, Status: boolCond(cs.Ready)}}
	return pod
}

func boolCond(b bool) v1.ConditionStatus {
	if b {
		return v1.ConditionTrue
	}
	return v1.ConditionFalse
}

// sync pushes the model's pod changes and the HPA status to the clientset;
// the informers pick them up through their watches.
func (k *kube) sync(ctx context.Context, s *Sim) error {
	for _, p := range s.Drain() {
		if k.known[p.uid] {
			delete(k.known, p.uid)
			if err := k.client.CoreV1().Pods(p.w.ns).Delete(ctx, p.name, metav1.DeleteOptions{}); err != nil {
				return fmt.Errorf("delete pod %s: %w", p.name, err)
			}
		}
	}
	for _, p := range s.pods {
		if !p.dirty {
			continue
		}
		p.dirty = false
		obj := podObject(p)
		var err error
		if k.known[p.uid] {
			_, err = k.client.CoreV1().Pods(p.w.ns).Update(ctx, obj, metav1.UpdateOptions{})
		} else {
			k.known[p.uid] = true
			_, err = k.client.CoreV1().Pods(p.w.ns).Create(ctx, obj, metav1.CreateOptions{})
		}
		if err != nil {
			return fmt.Errorf("pod %s: %w", p.name, err)
		}
	}
	// The HPA status moves with each scaling decision (every 2 minutes).
	if !s.lastScale.Equal(k.hpaAt) {
		k.hpaAt = s.lastScale
		if _, err := k.client.AutoscalingV2().HorizontalPodAutoscalers(s.web.ns).UpdateStatus(ctx, hpaObject(s), metav1.UpdateOptions{}); err != nil {
			return err
		}
	}
	return nil
}
