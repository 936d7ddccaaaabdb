package cluster

import (
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

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

// resolve returns the pod's controller and workload.
func (o *ownerIndex) resolve(ns string, ref *metav1.OwnerReference) workloadRef {
	if ref == nil {
		return workloadRef{none, none, none, none}
	}
	switch ref.Kind {
	case "ReplicaSet", "Job":
		o.mu.Lock()
		up, ok := o.owner[ownerKey(ref.Kind, ns, ref.Name)]
		o.mu.Unlock()
		if ok && (ref.Kind == "ReplicaSet" && up.Kind == "Deployment" || ref.Kind == "Job" && up.Kind == "CronJob") {
			return workloadRef{ref.Kind, ref.Name, up.Kind, up.Name}
		}
	}
	return workloadRef{ref.Kind, ref.Name, ref.Kind, ref.Name}
}
