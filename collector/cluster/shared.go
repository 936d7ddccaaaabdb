package cluster

import (
	"context"
	"hash/fnv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-kit/log"
	v1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"

	"github.com/kubepulse/kubepulse/collector"
)

// NodeInfo and ContainerInfo are the framework's types: Source is the
// collector.Cluster of the binary.
type (
	NodeInfo      = collector.NodeInfo
	ContainerInfo = collector.ContainerInfo
)

var _ collector.Cluster = (*Source)(nil)

// Kinds of objects the source can watch; collectors ask for what they need
// before Start.
const (
	kindNodes = 1 << iota
	kindPods
	kindOwners // ReplicaSets and Jobs, metadata only
	kindHPAs
)

// Source is the shared set of informers plus the pre-rendered stores fed by
// their events.
type Source struct {
	cfg    Config
	logger log.Logger
	rest   *rest.Config
	client kubernetes.Interface
	meta   metadata.Interface

	mu       sync.Mutex
	want     int
	started  bool
	watched  []*watched
	nodeInfs []cache.SharedIndexInformer
	claims   map[string]string // source name -> collector reporting its status

	nodes     *nodeAgg
	pods      *podRender
	workloads *workloadAgg
	hpas      *hpaRender
	owners    *ownerIndex

	podMu     sync.Mutex
	podStates map[string]*podState // "namespace/name"

	renderPods  atomic.Bool
	renderNodes atomic.Bool
	renderHPAs  atomic.Bool
}

// NewSource builds a source from explicit clients (tests, the integration
// tier); newCluster builds the exporter's one from flags.
func NewSource(cfg Config, rc *rest.Config, client kubernetes.Interface, meta metadata.Interface, logger log.Logger) *Source {
	if cfg.TotalShards < 1 {
		cfg.TotalShards = 1
	}
	if logger == nil {
		logger = log.NewNopLogger()
	}
	s := &Source{cfg: cfg, logger: logger, rest: rc, client: client, meta: meta, want: kindNodes, claims: map[string]string{}, podStates: map[string]*podState{}}
	s.owners = newOwnerIndex()
	s.nodes = newNodeAgg()
	s.pods = newPodRender()
	s.workloads = newWorkloadAgg()
	s.hpas = newHPARender()
	return s
}

// require asks for informers of the given kinds; it must precede Start.
func (s *Source) require(kinds int) {
	s.mu.Lock()
	s.want |= kinds
	s.mu.Unlock()
}

// RequirePods makes Start run the pod informer (for PodNode) even when the
// node and pod collectors are disabled.
func (s *Source) RequirePods() { s.require(kindPods) }

// RequireWorkloads makes Start run the pod list-watch and the ReplicaSet and
// Job metadata informers, so Container can resolve workloads.
func (s *Source) RequireWorkloads() { s.require(kindPods | kindOwners) }

// claim makes collector the one that reports the status of the named
// sources, unless another collector claimed them first; it returns the
// sources this collector reports.
func (s *Source) claim(collector string, sources ...string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var mine []string
	for _, src := range sources {
		if c, ok := s.claims[src]; !ok || c == collector {
			s.claims[src] = collector
			mine = append(mine, src)
		}
	}
	return mine
}

// Nodes returns the nodes known to the informer that this shard owns (only
// the --node one in DaemonSet mode).
func (s *Source) Nodes() []NodeInfo {
	s.mu.Lock()
	infs := s.nodeInfs
	s.mu.Unlock()
	var out []NodeInfo
	for _, inf := range infs {
		for _, o := range inf.GetStore().List() {
			n, ok := o.(*v1.Node)
			if !ok || !s.ownsNode(n.Name) || !s.nodeAllowed(n.Name) {
				continue
			}
			ni := NodeInfo{Name: n.Name, KubeletPort: n.Status.DaemonEndpoints.KubeletEndpoint.Port}
			if ni.KubeletPort == 0 {
				ni.KubeletPort = 10250
			}
			for _, a := range n.Status.Addresses {
				if a.Type == v1.NodeInternalIP {
					ni.InternalIP = a.Address
					break
				}
			}
			out = append(out, ni)
		}
	}
	return out
}

// Client returns the typed API client.
func (s *Source) Client() kubernetes.Interface { return s.client }

// Selects reports whether the namespace passes --namespaces and
// --namespaces-denylist and the UID falls in this shard.
func (s *Source) Selects(namespace, uid string) bool { return s.nsAllowed(namespace) && s.owns(uid) }

// RESTConfig returns the client config (kubeconfig or in-cluster).
func (s *Source) RESTConfig() *rest.Config { return s.rest }

// NodeName returns the value of --node, "" when unset.
func (s *Source) NodeName() string { return s.cfg.Node }

// Start starts the informers; it is idempotent and returns at once (an
// unreachable API server is retried with backoff by the reflectors).
func (s *Source) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return nil
	}
	s.started = true
	s.build()
	for _, w := range s.watched {
		go w.run(ctx)
	}
	return nil
}

// Synced reports whether every informer listed and its handler processed the
// initial list.
func (s *Source) Synced() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.started {
		return false
	}
	for _, w := range s.watched {
		if !w.synced() {
			return false
		}
	}
	return true
}

// PodNode returns the node of a pod known to the pod list-watch.
func (s *Source) PodNode(namespace, pod string) (string, bool) {
	s.podMu.Lock()
	defer s.podMu.Unlock()
	st := s.podStates[namespace+"/"+pod]
	if st == nil {
		return "", false
	}
	return st.node, true
}

// hashShard is the consistent shard of a key (object UID, or node name).
func hashShard(key string, total int) int {
	h := fnv.New64a()
	_, _ = h.Write([]byte(key))
	return int(h.Sum64() % uint64(total))
}

func (s *Source) owns(key string) bool {
	return s.cfg.TotalShards <= 1 || hashShard(key, s.cfg.TotalShards) == s.cfg.Shard
}

// Nodes shard by name, and pods bound to a node follow their node, so one
// shard sees every pod of the nodes it reports and node request sums stay
// exact. Unscheduled pods (no node yet) shard by their UID.
func (s *Source) ownsNode(name string) bool { return s.owns(name) }

func (s *Source) ownsPod(p *v1.Pod) bool {
	if p.Spec.NodeName != "" {
		return s.owns(p.Spec.NodeName)
	}
	return s.owns(string(p.UID))
}

func (s *Source) nodeAllowed(name string) bool { return s.cfg.Node == "" || s.cfg.Node == name }

func (s *Source) nsAllowed(ns string) bool {
	if len(s.cfg.Namespaces) > 0 {
		for _, n := range s.cfg.Namespaces {
			if n == ns {
				return true
			}
		}
		return false
	}
	for _, n := range s.cfg.NamespacesDenylist {
		if n == ns {
			return false
		}
	}
	return true
}

// sourceStatus tracks one informer's connection state for
// kubepulse_source_up and kubepulse_source_last_sync_timestamp_seconds.
type sourceStatus struct {
	up       atomic.Bool
	lastSync atomic.Int64 // unix nanoseconds of the last successful answer
}

func (st *sourceStatus) ok() {
	st.up.Store(true)
	st.lastSync.Store(time.Now().UnixNano())
}

func (st *sourceStatus) event() { st.lastSync.Store(time.Now().UnixNano()) }

type watched struct {
	source string // pods, nodes, hpas, replicasets, jobs
	status *sourceStatus
	synced func() bool // listed, and the initial list handled
	run    func(ctx context.Context)
}

// sourceState aggregates the informers of one source (one per namespace
// with --namespaces): up only when all are up, last sync the oldest.
func (s *Source) sourceState(source string) (up bool, lastSync float64, found bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	up = true
	var oldest int64
	for _, w := range s.watched {
		if w.source != source {
			continue
		}
		found = true
		if !w.status.up.Load() {
			up = false
		}
		ls := w.status.lastSync.Load()
		if oldest == 0 || ls < oldest {
			oldest = ls
		}
	}
	if oldest > 0 {
		lastSync = float64(oldest) / 1e9
	}
	return up, lastSync, found
}
