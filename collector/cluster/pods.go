package cluster

import (
	"sync"

	v1 "k8s.io/api/core/v1"

	"github.com/kubepulse/kubepulse/collector"
)

// Every container- and pod-level series carries workload_kind and workload
// (the kubepulse_pod_owner resolution), so rules aggregate per workload
// without joining kubepulse_pod_owner back in.
var (
	containerRequests = collector.Define("pod", "kubepulse_container_resource_requests",
		"Requests of an app or sidecar container of a Pending, Running or Unknown pod, in base units (cores, bytes, count).", collector.Gauge,
		"namespace", "pod", "container", "node", "resource", "unit", "workload_kind", "workload")
	containerLimits = collector.Define("pod", "kubepulse_container_resource_limits",
		"Limits of an app or sidecar container of a Pending, Running or Unknown pod, in base units (cores, bytes, count).", collector.Gauge,
		"namespace", "pod", "container", "node", "resource", "unit", "workload_kind", "workload")
	containerRestarts = collector.Define("pod", "kubepulse_container_restarts_total",
		"Restarts of a container (app and init containers), from status.restartCount.", collector.Counter,
		"namespace", "pod", "container", "workload_kind", "workload")
	containerLastTerminated = collector.Define("pod", "kubepulse_container_last_terminated_reason",
		"Reason of the container's last termination (OOMKilled, Error, Completed, ...); the value is always 1.", collector.Gauge,
		"namespace", "pod", "container", "reason", "workload_kind", "workload")
	containerLastTerminatedTime = collector.Define("pod", "kubepulse_container_last_terminated_timestamp_seconds",
		"Unix time the container last terminated (lastState.terminated.finishedAt), present only when it has terminated before; time() minus it is how recent an OOM kill is, without increase() over every restart counter.", collector.Gauge,
		"namespace", "pod", "container", "reason", "workload_kind", "workload")
	containerWaiting = collector.Define("pod", "kubepulse_container_waiting_reason",
		"Reason the container is waiting (CrashLoopBackOff, ImagePullBackOff, ErrImagePull, CreateContainerConfigError, ...); present only while it waits, value 1.", collector.Gauge,
		"namespace", "pod", "container", "reason", "workload_kind", "workload")
	podPhase = collector.Define("pod", "kubepulse_pod_phase",
		"The pod's current phase (Pending, Running, Succeeded, Failed, Unknown); one series per pod, value 1.", collector.Gauge,
		"namespace", "pod", "phase")
	podPendingSince = collector.Define("pod", "kubepulse_pod_pending_since_timestamp_seconds",
		"Unix time the pod was created, present only while it is Pending; time() minus it is how long it has been pending.", collector.Gauge,
		"namespace", "pod", "workload_kind", "workload")
	podUnschedulable = collector.Define("pod", "kubepulse_pod_unschedulable",
		"Present with value 1 while the scheduler cannot place the pod (condition PodScheduled=False, reason Unschedulable).", collector.Gauge,
		"namespace", "pod", "workload_kind", "workload")
	podOwner = collector.Define("pod", "kubepulse_pod_owner",
		"The controller and the workload (Deployment, StatefulSet, DaemonSet, Job, CronJob) of a Pending, Running or Unknown pod; the value is always 1.",
		collector.Gauge, "namespace", "pod", "owner_kind", "owner_name", "workload_kind", "workload")
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
