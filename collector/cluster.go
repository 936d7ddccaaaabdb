package collector

import (
	"context"
	"errors"
	"sync"

	"github.com/alecthomas/kingpin/v2"
	"github.com/go-kit/log"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// Cluster is the Kubernetes access the framework offers collectors: the API
// client and informer-backed lookups shared by all of them, so that a
// cluster is listed and watched once per exporter. A collector asks for it
// with Spec.NeedsCluster and gets it from Env.Cluster; package
// collector/cluster provides it.
type Cluster interface {
	// Client is the typed API client, for objects the shared informers do
	// not watch (the collector runs its own informer on it).
	Client() kubernetes.Interface
	// RESTConfig is the client configuration (kubeconfig or in-cluster),
	// for clients of other API groups such as metrics.k8s.io.
	RESTConfig() *rest.Config
	// NodeName is --node: the node this exporter runs on in DaemonSet mode,
	// "" when it watches the whole cluster.
	NodeName() string
	// Selects reports whether this exporter reports an object: its
	// namespace passes --namespaces/--namespaces-denylist and its UID falls
	// in this --shard.
	Selects(namespace, uid string) bool

	// Nodes lists the nodes this exporter reports (this shard's, only the
	// --node one in DaemonSet mode) and where their kubelets listen.
	Nodes() []NodeInfo
	// RequirePods makes Start watch pods, so that PodNode answers.
	RequirePods()
	// RequireWorkloads makes Start watch pods and their owners (ReplicaSets,
	// Jobs), so that Container answers.
	RequireWorkloads()
	// PodNode returns the node a known pod is scheduled on.
	PodNode(namespace, pod string) (node string, ok bool)
	// Container returns the workload and limits of a container of a known
	// pod; ok is false for an unknown pod.
	Container(namespace, pod, container string) (ci ContainerInfo, ok bool)

	// Start starts the shared informers; idempotent, returns at once.
	// Require* calls must come before it.
	Start(ctx context.Context) error
	// Synced reports whether every shared informer has listed.
	Synced() bool
}

// NodeInfo is a node and where its kubelet listens.
type NodeInfo struct {
	Name, InternalIP string
	KubeletPort      int32 // status.daemonEndpoints.kubeletEndpoint.Port, 10250 when unset
}

// ContainerInfo is what is known about a pod's container: the workload that
// owns the pod and the container's limits.
type ContainerInfo struct {
	WorkloadKind, Workload string
	CPULimit, MemoryLimit  float64 // cores and bytes; 0 when unset
}

// ClusterProvider makes the Cluster. Package collector/cluster provides the
// one in the binary, at init.
type ClusterProvider struct {
	// Flags declares the cluster flags (--kubeconfig, --namespaces, ...).
	Flags func(Flagger)
	// Check validates them before any collector is built, so that a bad
	// value is reported as the flag's, not as the first collector's.
	Check func() error
	// New builds the cluster access from the flags; an Unavailable error
	// means there is no cluster here.
	New func(logger log.Logger) (Cluster, error)
}

var (
	provider       ClusterProvider
	clusterFlagSet = map[string]bool{} // flags declared by provider.Flags
)

// ProvideCluster sets the cluster provider; it is called once, at init.
func ProvideCluster(p ClusterProvider) {
	regMu.Lock()
	defer regMu.Unlock()
	if provider.New != nil {
		panic("collector: ProvideCluster called twice")
	}
	provider = p
	if p.Check != nil {
		checks = append(checks, p.Check)
	}
	if p.Flags != nil {
		flagFuncs = append(flagFuncs, func(f Flagger) { p.Flags(clusterFlagger{f}) })
	}
}

// clusterOnce returns the cluster of one Build: built on the first call,
// so only when an enabled collector asks for it; later calls share it and
// its error.
func clusterOnce(logger log.Logger) func() (Cluster, error) {
	var (
		once sync.Once
		c    Cluster
		err  error
	)
	return func() (Cluster, error) {
		once.Do(func() {
			regMu.Lock()
			p := provider
			regMu.Unlock()
			if p.New == nil {
				err = Unavailable(errors.New("no cluster access in this binary"))
				return
			}
			c, err = p.New(logger)
		})
		return c, err
	}
}

// clusterFlagger records the flags the provider declares: they configure
// every collector that needs the cluster.
type clusterFlagger struct{ Flagger }

func (w clusterFlagger) Flag(name, help string) *kingpin.FlagClause {
	clusterFlagSet[name] = true
	return w.Flagger.Flag(name, help)
}
