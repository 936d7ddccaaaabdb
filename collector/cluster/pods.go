package cluster

import (
	"sync"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubepulse/kubepulse/collector"
)

var (
	containerRequests = collector.Define("pod", "kubepulse_container_resource_requests",
		"Requests of an app or sidecar container, in base units (cores, bytes, count).", collector.Gauge,
		"namespace", "pod", "container", "node", "resource", "unit")
	containerLimits = collector.Define("pod", "kubepulse_container_resource_limits",
		"Limits of an app or sidecar container, in base units (cores, bytes, count).", collector.Gauge,
		"namespace", "pod", "container", "node", "resource", "unit")
	containerRestarts = collector.Define("pod", "kubepulse_container_restarts_total",
		"Restarts of a container (app and init containers), from status.restartCount.", collector.Counter,
		"namespace", "pod", "container")
	containerLastTerminated = collector.Define("pod", "kubepulse_container_last_terminated_reason",
		"Reason of the container's last termination (OOMKilled, Error, Completed, ...); the value is always 1.", collector.Gauge,
		"namespace", "pod", "container", "reason")
	podPhase = collector.Define("pod", "kubepulse_pod_phase",
		"The pod's current phase (Pending, Running, Succeeded, Failed, Unknown); one series per pod, value 1.", collector.Gauge, "namespace", "pod", "phase")
	podOwner = collector.Define("pod", "kubepulse_pod_owner",
		"The pod's controller and the workload (Deployment, StatefulSet, DaemonSet, Job, CronJob) it belongs to; the value is always 1.",
		collector.Gauge, "namespace", "pod", "owner_kind", "owner_name", "workload_kind", "workload")
)

const (
	famReq = iota
	famLim
	famRestarts
	famLastTerminated
	famPhase
	famOwner
)

const none = "<none>"

type podRender struct {
	mu     sync.Mutex
	b      builder
	owners *ownerIndex
	store  *Store
}

func newPodRender(o *ownerIndex) *podRender {
	return &podRender{owners: o, store: NewStore(containerRequests, containerLimits, containerRestarts,
		containerLastTerminated, podPhase, podOwner)}
}

func (r *podRender) set(p *v1.Pod) {
	r.mu.Lock()
	defer r.mu.Unlock()
	b := &r.b
	b.reset()
	ns, name, node := p.Namespace, p.Name, p.Spec.NodeName
	b.family(famReq)
	forContainers(p, func(c *v1.Container) {
		containerResources(b, containerRequests.Name, ns, name, c.Name, node, c.Resources.Requests)
	})
	b.family(famLim)
	forContainers(p, func(c *v1.Container) {
		containerResources(b, containerLimits.Name, ns, name, c.Name, node, c.Resources.Limits)
	})
	b.family(famRestarts)
	for _, l := range [][]v1.ContainerStatus{p.Status.InitContainerStatuses, p.Status.ContainerStatuses} {
		for i := range l {
			b.sample(containerRestarts.Name, float64(l[i].RestartCount), "namespace", ns, "pod", name, "container", l[i].Name)
		}
	}
	b.family(famLastTerminated)
	for _, l := range [][]v1.ContainerStatus{p.Status.InitContainerStatuses, p.Status.ContainerStatuses} {
		for i := range l {
			if t := l[i].LastTerminationState.Terminated; t != nil && t.Reason != "" {
				b.sample(containerLastTerminated.Name, 1, "namespace", ns, "pod", name, "container", l[i].Name, "reason", t.Reason)
			}
		}
	}
	b.family(famPhase)
	b.sample(podPhase.Name, 1, "namespace", ns, "pod", name, "phase", phaseOf(p))
	b.family(famOwner)
	r.ownerLine(b, ns, name, controllerOf(p.OwnerReferences))
	r.store.Set(string(p.UID), b)
}

// phaseOf treats an unset phase as Pending, which the API server defaults.
func phaseOf(p *v1.Pod) string {
	if p.Status.Phase == "" {
		return string(v1.PodPending)
	}
	return string(p.Status.Phase)
}

func (r *podRender) ownerLine(b *builder, ns, name string, ref *metav1.OwnerReference) {
	ok, on, wk, wn := r.owners.resolve(ns, ref)
	b.sample(podOwner.Name, 1, "namespace", ns, "pod", name, "owner_kind", ok, "owner_name", on, "workload_kind", wk, "workload", wn)
}

// setOwner re-renders only the owner line of a pod whose ReplicaSet or Job
// changed.
func (r *podRender) setOwner(uid, ns, name string, ref *metav1.OwnerReference) {
	r.mu.Lock()
	defer r.mu.Unlock()
	b := &r.b
	b.reset()
	r.ownerLine(b, ns, name, ref)
	r.store.SetFamily(uid, famOwner, b.buf)
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

func containerResources(b *builder, metric, ns, pod, container, node string, l v1.ResourceList) {
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
		b.sample(metric, value(q.MilliValue()), "namespace", ns, "pod", pod, "container", container, "node", node, "resource", rn, "unit", unit)
	}
}

// ownerIndex resolves Pod -> ReplicaSet -> Deployment and Pod -> Job ->
// CronJob from metadata-only informers, and remembers which pods point at
// which ReplicaSet/Job so they are re-rendered when it appears or changes.
type ownerIndex struct {
	mu     sync.Mutex
	owner  map[string]metav1.OwnerReference // "Kind/ns/name" -> controller of the RS/Job
	known  map[string]bool                  // "Kind/ns/name" seen
	pods   map[string]map[string]struct{}   // "Kind/ns/name" -> pod keys
	podRef map[string]string                // pod key -> "Kind/ns/name"
}

func newOwnerIndex() *ownerIndex {
	return &ownerIndex{owner: map[string]metav1.OwnerReference{}, known: map[string]bool{},
		pods: map[string]map[string]struct{}{}, podRef: map[string]string{}}
}

func controllerOf(refs []metav1.OwnerReference) *metav1.OwnerReference {
	for i := range refs {
		if refs[i].Controller != nil && *refs[i].Controller {
			return &refs[i]
		}
	}
	if len(refs) > 0 {
		return &refs[0]
	}
	return nil
}

func ownerKey(kind, ns, name string) string { return kind + "/" + ns + "/" + name }

// trackPod records which ReplicaSet or Job a pod points at.
func (o *ownerIndex) trackPod(podKey, ns string, ref *metav1.OwnerReference, remove bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	var want string
	if !remove && ref != nil && (ref.Kind == "ReplicaSet" || ref.Kind == "Job") {
		want = ownerKey(ref.Kind, ns, ref.Name)
	}
	old, had := o.podRef[podKey]
	if had && old == want {
		return
	}
	if had {
		if m := o.pods[old]; m != nil {
			delete(m, podKey)
			if len(m) == 0 {
				delete(o.pods, old)
			}
		}
		delete(o.podRef, podKey)
	}
	if want != "" {
		m := o.pods[want]
		if m == nil {
			m = map[string]struct{}{}
			o.pods[want] = m
		}
		m[podKey] = struct{}{}
		o.podRef[podKey] = want
	}
}

// setOwner records a ReplicaSet's or Job's controller and returns the keys
// of the pods whose workload label changes.
func (o *ownerIndex) setOwner(kind string, m *metav1.PartialObjectMetadata, deleted bool) []string {
	key := ownerKey(kind, m.Namespace, m.Name)
	o.mu.Lock()
	defer o.mu.Unlock()
	prev, hadPrev := o.owner[key]
	wasKnown := o.known[key]
	var ref *metav1.OwnerReference
	if !deleted {
		ref = controllerOf(m.OwnerReferences)
	}
	switch {
	case deleted:
		delete(o.owner, key)
		delete(o.known, key)
	case ref != nil:
		o.owner[key] = metav1.OwnerReference{Kind: ref.Kind, Name: ref.Name}
		o.known[key] = true
	default:
		delete(o.owner, key)
		o.known[key] = true
	}
	changed := wasKnown == deleted || (ref == nil) == hadPrev ||
		(ref != nil && (prev.Kind != ref.Kind || prev.Name != ref.Name))
	if !changed {
		return nil
	}
	out := make([]string, 0, len(o.pods[key]))
	for k := range o.pods[key] {
		out = append(out, k)
	}
	return out
}

// resolve returns owner_kind, owner_name, workload_kind, workload.
func (o *ownerIndex) resolve(ns string, ref *metav1.OwnerReference) (string, string, string, string) {
	if ref == nil {
		return none, none, none, none
	}
	switch ref.Kind {
	case "ReplicaSet", "Job":
		o.mu.Lock()
		up, ok := o.owner[ownerKey(ref.Kind, ns, ref.Name)]
		o.mu.Unlock()
		if ok && (ref.Kind == "ReplicaSet" && up.Kind == "Deployment" || ref.Kind == "Job" && up.Kind == "CronJob") {
			return ref.Kind, ref.Name, up.Kind, up.Name
		}
	}
	return ref.Kind, ref.Name, ref.Kind, ref.Name
}
