package cluster

import (
	"sync"

	v1 "k8s.io/api/core/v1"

	"github.com/kubepulse/kubepulse/internal/catalog"
)

// Per-workload sums are kept incrementally from pod events, so a rule or a
// dashboard reads one series per workload instead of aggregating every
// container series at each evaluation.
var (
	workloadRequests = catalog.WorkloadResourceRequests
	workloadLimits   = catalog.WorkloadResourceLimits
	workloadPods     = catalog.WorkloadPods
)

const (
	famWReq = iota
	famWLim
	famWPods
)

type wkey struct{ ns, kind, name string }

func (k wkey) String() string { return k.ns + "/" + k.kind + "/" + k.name }

// wcontrib is what one pod adds to its workload.
type wcontrib struct {
	key      wkey
	req, lim []resAmount
}

type wstate struct {
	req, lim resList
	pods     int
}

type workloadAgg struct {
	mu      sync.Mutex
	contrib map[string]*wcontrib // pod UID
	sums    map[wkey]*wstate
	dirty   map[wkey]struct{}
	store   *Store
	b       builder
}

func newWorkloadAgg() *workloadAgg {
	return &workloadAgg{contrib: map[string]*wcontrib{}, sums: map[wkey]*wstate{}, dirty: map[wkey]struct{}{},
		store: NewStore(workloadRequests, workloadLimits, workloadPods)}
}

// newWContrib sums a pod's container requests and limits (the containers
// kubepulse_container_resource_* reports), so the workload gauge equals the
// sum of those series.
func newWContrib(p *v1.Pod, k wkey) *wcontrib {
	req, lim := resList{}, resList{}
	forContainers(p, func(c *v1.Container) {
		req.add(c.Resources.Requests)
		lim.add(c.Resources.Limits)
	})
	return &wcontrib{key: k, req: compact(req), lim: compact(lim)}
}

func (a *workloadAgg) set(uid string, c *wcontrib) {
	a.mu.Lock()
	defer a.mu.Unlock()
	old := a.contrib[uid]
	if old != nil && c != nil && old.key == c.key && sameAmounts(old.req, c.req) && sameAmounts(old.lim, c.lim) {
		return
	}
	if old != nil {
		a.apply(old, -1)
		delete(a.contrib, uid)
	}
	if c != nil {
		a.apply(c, 1)
		a.contrib[uid] = c
	}
}

// move re-files a pod under another workload (its ReplicaSet or Job got or
// lost its Deployment or CronJob).
func (a *workloadAgg) move(uid string, k wkey) {
	a.mu.Lock()
	defer a.mu.Unlock()
	old := a.contrib[uid]
	if old == nil || old.key == k {
		return
	}
	a.apply(old, -1)
	c := &wcontrib{key: k, req: old.req, lim: old.lim}
	a.apply(c, 1)
	a.contrib[uid] = c
}

func (a *workloadAgg) apply(c *wcontrib, sign int64) {
	st := a.sums[c.key]
	if st == nil {
		st = &wstate{req: resList{}, lim: resList{}}
		a.sums[c.key] = st
	}
	for _, r := range c.req {
		st.req[r.name] += sign * r.milli
	}
	for _, r := range c.lim {
		st.lim[r.name] += sign * r.milli
	}
	st.pods += int(sign)
	a.dirty[c.key] = struct{}{}
}

// flush renders the workloads whose sums changed since the last scrape, so
// the initial list of many pods renders each workload once.
func (a *workloadAgg) flush() {
	a.mu.Lock()
	defer a.mu.Unlock()
	for k := range a.dirty {
		delete(a.dirty, k)
		st := a.sums[k]
		if st == nil || st.pods <= 0 {
			delete(a.sums, k)
			a.store.Delete(k.String())
			continue
		}
		a.render(k, st)
	}
}

func (a *workloadAgg) render(k wkey, st *wstate) {
	b := &a.b
	b.reset()
	b.family(famWReq)
	workloadSamples(b, workloadRequests.Name, k, st.req)
	b.family(famWLim)
	workloadSamples(b, workloadLimits.Name, k, st.lim)
	b.family(famWPods)
	b.sample(workloadPods.Name, float64(st.pods), "namespace", k.ns, "workload_kind", k.kind, "workload", k.name)
	a.store.Set(k.String(), b)
}

// workloadSamples skips resources that sum to 0 (no pod of the workload
// sets them any more).
func workloadSamples(b *builder, metric string, k wkey, l resList) {
	for _, n := range l.names() {
		v := l[n]
		if v == 0 {
			delete(l, n)
			continue
		}
		rn, unit := resourceLabelsCached(n)
		b.sample(metric, value(v), "namespace", k.ns, "workload_kind", k.kind, "workload", k.name, "resource", rn, "unit", unit)
	}
}
