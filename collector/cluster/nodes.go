package cluster

import (
	"sync"

	v1 "k8s.io/api/core/v1"

	"github.com/kubepulse/kubepulse/internal/catalog"
)

var (
	nodeCapacity      = catalog.NodeCapacity
	nodeAllocatable   = catalog.NodeAllocatable
	nodeRequests      = catalog.NodeRequests
	nodeLimits        = catalog.NodeLimits
	nodeCondition     = catalog.NodeCondition
	nodeUnschedulable = catalog.NodeUnschedulable
	nodeInfo          = catalog.NodeInfo
)

const (
	famCapacity = iota
	famAllocatable
	famRequests
	famLimits
	famCondition
	famUnschedulable
	famInfo
)

// contribution is what one pod adds to its node's request and limit sums,
// kept as short sorted slices (a map per pod would cost ~10x the memory).
type contribution struct {
	node     string
	req, lim []resAmount
}

type resAmount struct {
	name  v1.ResourceName
	milli int64
}

func compact(l resList) []resAmount {
	out := make([]resAmount, 0, len(l))
	for _, n := range l.names() {
		out = append(out, resAmount{n, l[n]})
	}
	return out
}

func newContribution(node string, req, lim resList) *contribution {
	return &contribution{node: node, req: compact(req), lim: compact(lim)}
}

func sameAmounts(a, b []resAmount) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func (c *contribution) equal(o *contribution) bool {
	if c == nil || o == nil {
		return c == o
	}
	return c.node == o.node && sameAmounts(c.req, o.req) && sameAmounts(c.lim, o.lim)
}

type nodeState struct {
	node     *v1.Node // nil until the node object is seen
	req, lim resList
}

// nodeAgg keeps per-node request/limit sums updated incrementally from pod
// contributions (never by walking pods), and re-renders a node's lines when
// its object or sums change.
type nodeAgg struct {
	mu      sync.Mutex
	nodes   map[string]*nodeState
	contrib map[string]*contribution // pod UID -> contribution
	dirty   map[string]struct{}      // nodes whose sums changed since the last render
	store   *Store
	b       builder
}

func newNodeAgg() *nodeAgg {
	return &nodeAgg{
		nodes:   map[string]*nodeState{},
		contrib: map[string]*contribution{},
		dirty:   map[string]struct{}{},
		store:   NewStore(nodeCapacity, nodeAllocatable, nodeRequests, nodeLimits, nodeCondition, nodeUnschedulable, nodeInfo),
	}
}

func (a *nodeAgg) state(name string) *nodeState {
	st, ok := a.nodes[name]
	if !ok {
		st = &nodeState{req: resList{}, lim: resList{}}
		a.nodes[name] = st
	}
	return st
}

func (a *nodeAgg) setNode(n *v1.Node, deleted, render bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if deleted {
		if st, ok := a.nodes[n.Name]; ok {
			st.node = nil
			a.gc(n.Name, st)
		}
		a.store.Delete(n.Name)
		return
	}
	st := a.state(n.Name)
	st.node = n
	if render {
		a.render(n.Name, st)
	}
}

// gc drops the state of a node that is gone and has no pods left.
func (a *nodeAgg) gc(name string, st *nodeState) {
	if st.node != nil {
		return
	}
	for _, v := range st.req {
		if v != 0 {
			return
		}
	}
	for _, v := range st.lim {
		if v != 0 {
			return
		}
	}
	delete(a.nodes, name)
}

func (a *nodeAgg) setContribution(uid string, c *contribution, render bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	old := a.contrib[uid]
	if old.equal(c) {
		return
	}
	if old != nil {
		st := a.state(old.node)
		for _, a := range old.req {
			st.req[a.name] -= a.milli
		}
		for _, a := range old.lim {
			st.lim[a.name] -= a.milli
		}
		delete(a.contrib, uid)
		if render {
			a.dirty[old.node] = struct{}{}
		}
		a.gc(old.node, st)
	}
	if c != nil {
		st := a.state(c.node)
		for _, a := range c.req {
			st.req[a.name] += a.milli
		}
		for _, a := range c.lim {
			st.lim[a.name] += a.milli
		}
		a.contrib[uid] = c
		if render {
			a.dirty[c.node] = struct{}{}
		}
	}
}

// sums returns a copy of a node's request and limit sums (tests).
func (a *nodeAgg) sums(name string) (req, lim resList) {
	a.mu.Lock()
	defer a.mu.Unlock()
	req, lim = resList{}, resList{}
	if st, ok := a.nodes[name]; ok {
		req.addList(st.req)
		lim.addList(st.lim)
	}
	return req, lim
}

// flush re-renders the nodes whose sums changed. Sums are updated on every
// pod event; rendering them waits for the next scrape, so a burst of pod
// events (the initial list of 150k pods) renders each node once, not once
// per pod.
func (a *nodeAgg) flush() {
	a.mu.Lock()
	defer a.mu.Unlock()
	for name := range a.dirty {
		if st, ok := a.nodes[name]; ok {
			a.render(name, st)
		}
		delete(a.dirty, name)
	}
}

// renderAll re-renders every known node (when rendering is switched on
// after events were already processed).
func (a *nodeAgg) renderAll() {
	a.mu.Lock()
	defer a.mu.Unlock()
	for name, st := range a.nodes {
		a.render(name, st)
	}
}

func (a *nodeAgg) render(name string, st *nodeState) {
	n := st.node
	if n == nil {
		a.store.Delete(name)
		return
	}
	b := &a.b
	b.reset()
	b.family(famCapacity)
	resourceSamples(b, nodeCapacity.Name, name, toResList(n.Status.Capacity), false)
	b.family(famAllocatable)
	resourceSamples(b, nodeAllocatable.Name, name, toResList(n.Status.Allocatable), false)
	b.family(famRequests)
	resourceSamples(b, nodeRequests.Name, name, st.req, true)
	b.family(famLimits)
	resourceSamples(b, nodeLimits.Name, name, st.lim, true)
	b.family(famCondition)
	for _, c := range n.Status.Conditions {
		ct := string(c.Type)
		for _, s := range [...]struct {
			label string
			st    v1.ConditionStatus
		}{{"true", v1.ConditionTrue}, {"false", v1.ConditionFalse}, {"unknown", v1.ConditionUnknown}} {
			b.sample(nodeCondition.Name, boolValue(c.Status == s.st), "node", name, "condition", ct, "status", s.label)
		}
	}
	b.family(famUnschedulable)
	b.sample(nodeUnschedulable.Name, boolValue(n.Spec.Unschedulable), "node", name)
	b.family(famInfo)
	b.sample(nodeInfo.Name, 1, "node", name,
		"kubelet_version", n.Status.NodeInfo.KubeletVersion,
		"container_runtime", n.Status.NodeInfo.ContainerRuntimeVersion,
		"os_image", n.Status.NodeInfo.OSImage,
		"zone", firstLabel(n.Labels, v1.LabelTopologyZone, v1.LabelFailureDomainBetaZone),
		"instance_type", firstLabel(n.Labels, v1.LabelInstanceTypeStable, v1.LabelInstanceType))
	a.store.Set(name, b)
}

func toResList(l v1.ResourceList) resList {
	out := make(resList, len(l))
	out.add(l)
	return out
}

// resourceSamples writes one line per resource, sorted; sums always show cpu
// and memory (0 on an empty node) and skip other resources that sum to 0.
func resourceSamples(b *builder, metric, node string, l resList, sums bool) {
	if sums {
		for _, n := range []v1.ResourceName{v1.ResourceCPU, v1.ResourceMemory} {
			if _, ok := l[n]; !ok {
				name, unit := resourceLabels(n)
				b.sample(metric, 0, "node", node, "resource", name, "unit", unit)
			}
		}
	}
	for _, n := range l.names() {
		v := l[n]
		if sums && v == 0 && n != v1.ResourceCPU && n != v1.ResourceMemory {
			continue
		}
		name, unit := resourceLabels(n)
		b.sample(metric, value(v), "node", node, "resource", name, "unit", unit)
	}
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func firstLabel(l map[string]string, keys ...string) string {
	for _, k := range keys {
		if v, ok := l[k]; ok {
			return v
		}
	}
	return ""
}
