package cluster

import (
	"sync"
	"sync/atomic"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
)

// Pods are the bulk of a cluster, so they do not go through an informer
// cache: like kube-state-metrics, the reflector writes straight into
// podSink, which renders each pod and keeps only a compact record of it
// (podState). Memory is then the rendered bytes plus ~100 bytes per pod,
// instead of a cached Pod object with its resource maps.

// podState is what is kept of a pod between events.
type podState struct {
	uid, ns, name, node string
	refKind, refName    string
	refController       bool
	work                workloadRef // as rendered
	limits              []ctrLimit  // for the usage collector's ratios
}

// ctrLimit is a container's cpu and memory limit in milli-units, 0 when
// unset.
type ctrLimit struct {
	name     string
	cpu, mem int64
}

func (p *podState) sameIdentity(o *podState) bool {
	return p.uid == o.uid && p.ns == o.ns && p.name == o.name && p.node == o.node &&
		p.refKind == o.refKind && p.refName == o.refName && p.refController == o.refController
}

func limitsOf(p *v1.Pod, old []ctrLimit) []ctrLimit {
	var out []ctrLimit
	forContainers(p, func(c *v1.Container) {
		cpu, mem := c.Resources.Limits[v1.ResourceCPU], c.Resources.Limits[v1.ResourceMemory]
		if cpu.IsZero() && mem.IsZero() {
			return
		}
		out = append(out, ctrLimit{name: c.Name, cpu: cpu.MilliValue(), mem: mem.MilliValue()})
	})
	if len(out) == len(old) {
		same := true
		for i := range out {
			same = same && out[i] == old[i]
		}
		if same {
			return old // keep the strings already held
		}
	}
	return out
}

func (p *podState) ref() *metav1.OwnerReference {
	if p.refKind == "" {
		return nil
	}
	c := p.refController
	return &metav1.OwnerReference{Kind: p.refKind, Name: p.refName, Controller: &c}
}

// podSink is the reflector's store for one pod list-watch.
type podSink struct {
	s      *Source
	st     *sourceStatus
	mu     sync.Mutex
	keys   map[string]struct{}
	synced atomic.Bool
}

func podKey(p *v1.Pod) string { return p.Namespace + "/" + p.Name }

var _ cache.TransformingStore = (*podSink)(nil)

// Transformer is applied by the reflector's watch-list stream, which holds
// the whole initial list in a temporary store before the first Replace: the
// pod is rendered as it arrives and only its name stays in that store, so
// 150k pods never sit decoded in memory at once. Replace then only
// reconciles names. (Watch events and a paginated list arrive as pods.)
func (k *podSink) Transformer() cache.TransformFunc {
	return func(o any) (any, error) {
		p, ok := o.(*v1.Pod)
		if !ok {
			return o, nil
		}
		k.st.event()
		k.mu.Lock()
		k.keys[podKey(p)] = struct{}{}
		k.mu.Unlock()
		k.s.podEvent(p)
		return &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Namespace: p.Namespace, Name: p.Name, UID: p.UID}}, nil
	}
}

func (k *podSink) Add(o any) error { return k.Update(o) }
func (k *podSink) Resync() error   { return nil }
func (k *podSink) Update(o any) error {
	p, ok := o.(*v1.Pod)
	if !ok {
		return nil
	}
	k.st.event()
	k.mu.Lock()
	k.keys[podKey(p)] = struct{}{}
	k.mu.Unlock()
	k.s.podEvent(p)
	return nil
}

func (k *podSink) Delete(o any) error {
	p, ok := unwrap(o).(*v1.Pod)
	if !ok {
		return nil
	}
	k.st.event()
	key := podKey(p)
	k.mu.Lock()
	delete(k.keys, key)
	k.mu.Unlock()
	k.s.podMu.Lock()
	k.s.removePodLocked(key)
	k.s.podMu.Unlock()
	return nil
}

// Replace is a full (re)list: pods missing from it were deleted while the
// watch was down.
func (k *podSink) Replace(list []any, _ string) error {
	k.st.event()
	keys := make(map[string]struct{}, len(list))
	for _, o := range list {
		switch p := o.(type) {
		case *v1.Pod: // a paginated list: render it now
			keys[podKey(p)] = struct{}{}
			k.s.podEvent(p)
		case *metav1.PartialObjectMetadata: // rendered by Transformer
			keys[p.Namespace+"/"+p.Name] = struct{}{}
		}
	}
	k.mu.Lock()
	old := k.keys
	k.keys = keys
	k.mu.Unlock()
	k.s.podMu.Lock()
	for key := range old {
		if _, ok := keys[key]; !ok {
			k.s.removePodLocked(key)
		}
	}
	k.s.podMu.Unlock()
	k.synced.Store(true)
	return nil
}

// podEvent renders a pod and updates its node's sums. It runs under podMu so
// pod events and owner re-renders never interleave for one pod.
func (s *Source) podEvent(p *v1.Pod) {
	s.podMu.Lock()
	defer s.podMu.Unlock()
	key := podKey(p)
	if !s.nsAllowed(p.Namespace) || (s.cfg.Node != "" && p.Spec.NodeName != s.cfg.Node) {
		s.removePodLocked(key)
		return
	}
	uid := string(p.UID)
	if old := s.podStates[key]; old != nil && old.uid != uid {
		s.removePodLocked(key) // same name, new pod (StatefulSet)
	}
	st := &podState{uid: uid, ns: p.Namespace, name: p.Name, node: p.Spec.NodeName}
	ref := controllerOf(p.OwnerReferences)
	if ref != nil {
		st.refKind, st.refName, st.refController = ref.Kind, ref.Name, ref.Controller != nil && *ref.Controller
	}
	old := s.podStates[key]
	if old != nil && old.sameIdentity(st) {
		st = old // keep the strings already held
	} else {
		s.podStates[key] = st
	}
	owned := s.ownsPod(p)
	s.owners.trackPod(key, p.Namespace, ref, !owned)
	st.work = s.owners.resolve(p.Namespace, ref)
	var prevLimits []ctrLimit
	if old != nil {
		prevLimits = old.limits
	}
	st.limits = limitsOf(p, prevLimits)
	holds := owned && !terminated(p)
	var c *contribution
	if holds && p.Spec.NodeName != "" {
		c = newContribution(st.node, podRequests(p), podLimits(p))
	}
	s.nodes.setContribution(uid, c, s.renderNodes.Load())
	if s.renderPods.Load() {
		var wc *wcontrib
		if holds {
			wc = newWContrib(p, wkey{p.Namespace, st.work.kind, st.work.name})
		}
		s.workloads.set(uid, wc)
		if owned {
			s.pods.set(p, st.work)
		} else {
			s.pods.store.Delete(uid)
		}
	}
}

// rewireOwner updates a pod whose ReplicaSet or Job changed owner: its
// workload labels and its workload sums. It runs under podMu.
func (s *Source) rewireOwner(st *podState) {
	w := s.owners.resolve(st.ns, st.ref())
	if w == st.work {
		return
	}
	old := st.work
	st.work = w
	if s.renderPods.Load() {
		s.pods.setWorkload(st.uid, old, w)
		s.workloads.move(st.uid, wkey{st.ns, w.kind, w.name})
	}
}

// Container returns the workload and limits of a container of a pod known
// to the pod list-watch; ok is false for an unknown pod.
func (s *Source) Container(namespace, pod, container string) (ci ContainerInfo, ok bool) {
	s.podMu.Lock()
	defer s.podMu.Unlock()
	st := s.podStates[namespace+"/"+pod]
	if st == nil {
		return ci, false
	}
	ci.WorkloadKind, ci.Workload = st.work.kind, st.work.name
	for i := range st.limits {
		if st.limits[i].name == container {
			ci.CPULimit, ci.MemoryLimit = value(st.limits[i].cpu), value(st.limits[i].mem)
			break
		}
	}
	return ci, true
}

func (s *Source) removePodLocked(key string) {
	st := s.podStates[key]
	if st == nil {
		return
	}
	delete(s.podStates, key)
	s.owners.trackPod(key, st.ns, nil, true)
	s.nodes.setContribution(st.uid, nil, s.renderNodes.Load())
	s.workloads.set(st.uid, nil)
	s.pods.store.Delete(st.uid)
}
