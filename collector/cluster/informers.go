package cluster

import (
	"context"
	"strings"

	"github.com/go-kit/log/level"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
)

var (
	replicaSetsGVR = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "replicasets"}
	jobsGVR        = schema.GroupVersionResource{Group: "batch", Version: "v1", Resource: "jobs"}
)

// namespacesToWatch is one list-watch per allowed namespace, or one over all
// namespaces ("") with the denylist as a server-side field selector.
func (s *Source) namespacesToWatch() []string {
	if len(s.cfg.Namespaces) > 0 {
		return s.cfg.Namespaces
	}
	return []string{metav1.NamespaceAll}
}

func (s *Source) fieldSelector(extra ...string) string {
	var parts []string
	if len(s.cfg.Namespaces) == 0 {
		for _, ns := range s.cfg.NamespacesDenylist {
			parts = append(parts, "metadata.namespace!="+ns)
		}
	}
	parts = append(parts, extra...)
	return strings.Join(parts, ",")
}

type listFn func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error)
type watchFn func(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error)

// newInformer wraps list and watch so the source status sees every answer,
// and registers the handler; build runs with s.mu held.
func (s *Source) newInformer(client any, source string, example runtime.Object, fs string, list listFn, wat watchFn,
	transform cache.TransformFunc, h cache.ResourceEventHandler) cache.SharedIndexInformer {
	st := &sourceStatus{}
	lw := s.listWatch(client, st, fs, list, wat)
	inf := cache.NewSharedIndexInformerWithOptions(lw, example,
		cache.SharedIndexInformerOptions{Indexers: cache.Indexers{}})
	_ = inf.SetTransform(transform)
	logger := s.logger
	_ = inf.SetWatchErrorHandlerWithContext(func(ctx context.Context, r *cache.Reflector, err error) {
		st.up.Store(false)
		level.Warn(logger).Log("msg", "list/watch failed; keeping last known state and retrying with backoff", "source", source, "err", err)
	})
	counted := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(o any) { st.event(); h.OnAdd(o, false) },
		UpdateFunc: func(a, b any) { st.event(); h.OnUpdate(a, b) },
		DeleteFunc: func(o any) { st.event(); h.OnDelete(o) },
	}
	reg, _ := inf.AddEventHandler(counted)
	s.watched = append(s.watched, &watched{source: source, status: st, synced: reg.HasSynced, run: inf.RunWithContext})
	return inf
}

// listWatch wraps list and watch so the source status sees every answer:
// a failed list or watch marks the source down, a successful one up.
func (s *Source) listWatch(client any, st *sourceStatus, fs string, list listFn, wat watchFn) cache.ListerWatcher {
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			o.FieldSelector = fs
			obj, err := list(ctx, o)
			if err == nil {
				st.ok()
			} else {
				st.up.Store(false)
				level.Warn(s.logger).Log("msg", "list failed; keeping last known state and retrying with backoff", "field_selector", fs, "err", err)
			}
			return obj, err
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.FieldSelector = fs
			w, err := wat(ctx, o)
			if err == nil {
				st.ok()
			} else {
				// With watch-list semantics the initial list is a watch too,
				// and client-go reports its failure only at klog verbosity.
				st.up.Store(false)
				if ctx.Err() == nil {
					level.Warn(s.logger).Log("msg", "watch failed; keeping last known state and retrying with backoff", "field_selector", fs, "err", err)
				}
			}
			return w, err
		},
	}
	return cache.ToListWatcherWithWatchListSemantics(lw, client)
}

func (s *Source) build() {
	nodeFS := ""
	if s.cfg.Node != "" {
		nodeFS = "metadata.name=" + s.cfg.Node
	}
	nodes := s.client.CoreV1().Nodes()
	s.nodeInfs = append(s.nodeInfs, s.newInformer(s.client, "nodes", &v1.Node{}, nodeFS,
		func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) { return nodes.List(ctx, o) },
		func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) { return nodes.Watch(ctx, o) },
		stripNode, cache.ResourceEventHandlerFuncs{
			AddFunc:    func(o any) { s.onNode(o, false) },
			UpdateFunc: func(_, o any) { s.onNode(o, false) },
			DeleteFunc: func(o any) { s.onNode(o, true) },
		}))

	if s.want&(kindPods|kindOwners) != 0 {
		var extra []string
		if s.cfg.Node != "" {
			extra = append(extra, "spec.nodeName="+s.cfg.Node)
		}
		fs := s.fieldSelector(extra...)
		for _, ns := range s.namespacesToWatch() {
			pods := s.client.CoreV1().Pods(ns)
			st := &sourceStatus{}
			lw := s.listWatch(s.client, st, fs,
				func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) { return pods.List(ctx, o) },
				func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) { return pods.Watch(ctx, o) })
			sink := &podSink{s: s, st: st, keys: map[string]struct{}{}}
			r := cache.NewReflectorWithOptions(lw, &v1.Pod{}, sink, cache.ReflectorOptions{Name: "kubepulse-pods"})
			s.watched = append(s.watched, &watched{source: "pods", status: st, synced: sink.synced.Load, run: r.RunWithContext})
		}
	}
	if s.want&kindOwners != 0 && s.meta != nil {
		fs := s.fieldSelector()
		for _, gvr := range []schema.GroupVersionResource{replicaSetsGVR, jobsGVR} {
			kind := "ReplicaSet"
			if gvr == jobsGVR {
				kind = "Job"
			}
			for _, ns := range s.namespacesToWatch() {
				ri := s.meta.Resource(gvr).Namespace(ns)
				s.newInformer(s.meta, gvr.Resource, &metav1.PartialObjectMetadata{}, fs,
					func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) { return ri.List(ctx, o) },
					func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) { return ri.Watch(ctx, o) },
					stripMeta, cache.ResourceEventHandlerFuncs{
						AddFunc:    func(o any) { s.onOwner(kind, o, false) },
						UpdateFunc: func(_, o any) { s.onOwner(kind, o, false) },
						DeleteFunc: func(o any) { s.onOwner(kind, o, true) },
					})
			}
		}
	}
	if s.want&kindHPAs != 0 {
		fs := s.fieldSelector()
		for _, ns := range s.namespacesToWatch() {
			hpas := s.client.AutoscalingV2().HorizontalPodAutoscalers(ns)
			s.newInformer(s.client, "hpas", &autoscalingv2.HorizontalPodAutoscaler{}, fs,
				func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) { return hpas.List(ctx, o) },
				func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) { return hpas.Watch(ctx, o) },
				stripHPA, cache.ResourceEventHandlerFuncs{
					AddFunc:    func(o any) { s.onHPA(o, false) },
					UpdateFunc: func(_, o any) { s.onHPA(o, false) },
					DeleteFunc: func(o any) { s.onHPA(o, true) },
				})
		}
	}
}

// unwrap returns the object of a delete event, which may be a tombstone.
func unwrap(o any) any {
	if t, ok := o.(cache.DeletedFinalStateUnknown); ok {
		return t.Obj
	}
	return o
}

func (s *Source) onNode(o any, deleted bool) {
	n, ok := unwrap(o).(*v1.Node)
	if !ok {
		return
	}
	if !s.nodeAllowed(n.Name) || !s.ownsNode(n.Name) {
		deleted = true
	}
	s.nodes.setNode(n, deleted, s.renderNodes.Load())
}

func (s *Source) onOwner(kind string, o any, deleted bool) {
	m, ok := unwrap(o).(*metav1.PartialObjectMetadata)
	if !ok {
		return
	}
	keys := s.owners.setOwner(kind, m, deleted)
	if len(keys) == 0 {
		return
	}
	s.podMu.Lock()
	defer s.podMu.Unlock()
	for _, key := range keys {
		if st := s.podStates[key]; st != nil {
			s.rewireOwner(st)
		}
	}
}

func (s *Source) onHPA(o any, deleted bool) {
	h, ok := unwrap(o).(*autoscalingv2.HorizontalPodAutoscaler)
	if !ok {
		return
	}
	if deleted || !s.nsAllowed(h.Namespace) || !s.owns(string(h.UID)) {
		s.hpas.store.Delete(string(h.UID))
		return
	}
	if s.renderHPAs.Load() {
		s.hpas.set(h)
	}
}
