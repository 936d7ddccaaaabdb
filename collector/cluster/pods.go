package cluster

import (
	"sync"

	v1 "k8s.io/api/core/v1"

	"github.com/kubepulse/kubepulse/internal/catalog"
)

// Every container- and pod-level series carries workload_kind and workload
// (the kubepulse_pod_owner resolution), so rules aggregate per workload
// without joining kubepulse_pod_owner back in.
var (
	containerRequests           = catalog.ContainerResourceRequests
	containerLimits             = catalog.ContainerResourceLimits
	containerRestarts           = catalog.ContainerRestartsTotal
	containerLastTerminated     = catalog.ContainerLastTerminatedReason
	containerLastTerminatedTime = catalog.ContainerLastTerminatedTimestampSeconds
	containerWaiting            = catalog.ContainerWaitingReason
	podPhase                    = catalog.PodPhase
	podPendingSince             = catalog.PodPendingSinceTimestampSeconds
	podUnschedulable            = catalog.PodUnschedulable
	podOwner                    = catalog.PodOwner
)

const (
	famReq = iota
	famLim
	famRestarts
	famLastTerminated
	famLastTerminatedTime
	famWaiting
	famPhase
	famPendingSince
	famPodUnschedulable
	famOwner
)

const none = "<none>"

type podRender struct {
	mu    sync.Mutex
	b     builder
	store *Store
}

func newPodRender() *podRender {
	return &podRender{store: NewStore(containerRequests, containerLimits, containerRestarts,
		containerLastTerminated, containerLastTerminatedTime, containerWaiting, podPhase, podPendingSince, podUnschedulable, podOwner)}
}

// workloadRef is a pod's resolved owner: its controller and its workload.
type workloadRef struct {
	ownerKind, ownerName, kind, name string
}

// set renders a pod. Requests, limits and owner are rendered only for pods
// that hold node resources (Pending, Running, Unknown), as the scheduler
// counts them: a completed Job or an evicted pod does not count toward its
// workload.
func (r *podRender) set(p *v1.Pod, w workloadRef) {
	r.mu.Lock()
	defer r.mu.Unlock()
	b := &r.b
	b.reset()
	ns, name, node := p.Namespace, p.Name, p.Spec.NodeName
	holds := !terminated(p)
	b.family(famReq)
	if holds {
		forContainers(p, func(c *v1.Container) {
			containerResources(b, containerRequests.Name, ns, name, c.Name, node, w, c.Resources.Requests)
		})
		b.family(famLim)
		forContainers(p, func(c *v1.Container) {
			containerResources(b, containerLimits.Name, ns, name, c.Name, node, w, c.Resources.Limits)
		})
	}
	b.family(famRestarts)
	statuses := [][]v1.ContainerStatus{p.Status.InitContainerStatuses, p.Status.ContainerStatuses}
	for _, l := range statuses {
		for i := range l {
			b.sample(containerRestarts.Name, float64(l[i].RestartCount), "namespace", ns, "pod", name, "container", l[i].Name,
				"workload_kind", w.kind, "workload", w.name)
		}
	}
	b.family(famLastTerminated)
	for _, l := range statuses {
		for i := range l {
			if t := l[i].LastTerminationState.Terminated; t != nil && t.Reason != "" {
				b.sample(containerLastTerminated.Name, 1, "namespace", ns, "pod", name, "container", l[i].Name, "reason", t.Reason,
					"workload_kind", w.kind, "workload", w.name)
			}
		}
	}
	b.family(famLastTerminatedTime)
	for _, l := range statuses {
		for i := range l {
			if t := l[i].LastTerminationState.Terminated; t != nil && !t.FinishedAt.IsZero() {
				b.sample(containerLastTerminatedTime.Name, float64(t.FinishedAt.Unix()), "namespace", ns, "pod", name, "container", l[i].Name,
					"reason", t.Reason, "workload_kind", w.kind, "workload", w.name)
			}
		}
	}
	b.family(famWaiting)
	for _, l := range statuses {
		for i := range l {
			if wt := l[i].State.Waiting; wt != nil && wt.Reason != "" {
				b.sample(containerWaiting.Name, 1, "namespace", ns, "pod", name, "container", l[i].Name, "reason", wt.Reason,
					"workload_kind", w.kind, "workload", w.name)
			}
		}
	}
	b.family(famPhase)
	phase := phaseOf(p)
	b.sample(podPhase.Name, 1, "namespace", ns, "pod", name, "phase", phase)
	b.family(famPendingSince)
	if phase == string(v1.PodPending) && !p.CreationTimestamp.IsZero() {
		b.sample(podPendingSince.Name, float64(p.CreationTimestamp.Unix()), "namespace", ns, "pod", name,
			"workload_kind", w.kind, "workload", w.name)
	}
	b.family(famPodUnschedulable)
	if holds && unschedulable(p) {
		b.sample(podUnschedulable.Name, 1, "namespace", ns, "pod", name, "workload_kind", w.kind, "workload", w.name)
	}
	b.family(famOwner)
	if holds {
		b.sample(podOwner.Name, 1, "namespace", ns, "pod", name, "owner_kind", w.ownerKind, "owner_name", w.ownerName,
			"workload_kind", w.kind, "workload", w.name)
	}
	r.store.Set(string(p.UID), b)
}

// setWorkload rewrites the workload labels of a rendered pod whose
// ReplicaSet or Job changed owner (or appeared after the pod).
func (r *podRender) setWorkload(uid string, old, cur workloadRef) {
	r.store.Replace(uid, workloadLabels(old), workloadLabels(cur))
}

// workloadLabels is the label pair exactly as builder.sample writes it.
func workloadLabels(w workloadRef) []byte {
	b := append([]byte(nil), `workload_kind="`...)
	b = appendEscaped(b, w.kind)
	b = append(b, `",workload="`...)
	b = appendEscaped(b, w.name)
	return append(b, '"')
}

// phaseOf treats an unset phase as Pending, which the API server defaults.
func phaseOf(p *v1.Pod) string {
	if p.Status.Phase == "" {
		return string(v1.PodPending)
	}
	return string(p.Status.Phase)
}

func unschedulable(p *v1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == v1.PodScheduled {
			return c.Status == v1.ConditionFalse && c.Reason == v1.PodReasonUnschedulable
		}
	}
	return false
}

// forContainers visits the containers that run for the pod's lifetime: app
// containers and restartable (sidecar) init containers.
func forContainers(p *v1.Pod, f func(*v1.Container)) {
	for i := range p.Spec.InitContainers {
		if isSidecar(&p.Spec.InitContainers[i]) {
			f(&p.Spec.InitContainers[i])
		}
	}
	for i := range p.Spec.Containers {
		f(&p.Spec.Containers[i])
	}
}

// resNames caches the sanitized label values of resource names.
var resNames sync.Map // v1.ResourceName -> [2]string

func resourceLabelsCached(n v1.ResourceName) (string, string) {
	if v, ok := resNames.Load(n); ok {
		a := v.([2]string)
		return a[0], a[1]
	}
	name, unit := resourceLabels(n)
	resNames.Store(n, [2]string{name, unit})
	return name, unit
}

func containerResources(b *builder, metric, ns, pod, container, node string, w workloadRef, l v1.ResourceList) {
	if len(l) == 0 {
		return
	}
	// Sorted for stable output; lists are tiny.
	var keys [8]v1.ResourceName
	names := keys[:0]
	for n := range l {
		names = append(names, n)
	}
	for i := 1; i < len(names); i++ {
		for j := i; j > 0 && names[j] < names[j-1]; j-- {
			names[j], names[j-1] = names[j-1], names[j]
		}
	}
	for _, n := range names {
		q := l[n]
		rn, unit := resourceLabelsCached(n)
		b.sample(metric, value(q.MilliValue()), "namespace", ns, "pod", pod, "container", container, "node", node,
			"resource", rn, "unit", unit, "workload_kind", w.kind, "workload", w.name)
	}
}
