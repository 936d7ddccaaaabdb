package cluster

import (
	"fmt"
	"strings"

	"github.com/go-kit/log"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"

	"github.com/kubepulse/kubepulse/collector"
)

// This package provides the framework's cluster access (collector.Cluster,
// configured by the flags below) and the node, pod and hpa collectors,
// which read it.

// Config is the cluster source configuration; the exporter fills it from
// flags, tests build it directly.
type Config struct {
	Kubeconfig         string
	Namespaces         []string // empty: all namespaces
	NamespacesDenylist []string
	Shard              int
	TotalShards        int
	Node               string // DaemonSet mode: only this node and its pods
}

var (
	flagKubeconfig  string
	flagNamespaces  string
	flagDenylist    string
	flagShard       int
	flagTotalShards int
	flagNode        string
)

// flags declares the cluster flags. Every flag has a Default, so that a
// second parse in the same process (tests) starts from the defaults, not
// from the last run's values.
func flags(f collector.Flagger) {
	f.Flag("kubeconfig", "Path to a kubeconfig file. Default: in-cluster config, else $KUBECONFIG or ~/.kube/config; with none of them the cluster collectors step aside unless named with --collector.<name>.").
		Default("").StringVar(&flagKubeconfig)
	f.Flag("namespaces", "Comma-separated namespaces to watch (default: all).").Default("").StringVar(&flagNamespaces)
	f.Flag("namespaces-denylist", "Comma-separated namespaces to ignore; cannot be combined with --namespaces.").
		Default("").StringVar(&flagDenylist)
	f.Flag("shard", "Shard of this exporter instance, 0 <= shard < total-shards.").Default("0").IntVar(&flagShard)
	f.Flag("total-shards", "Number of exporter shards; objects are split by a hash of their UID (nodes and their pods by node name).").
		Default("1").IntVar(&flagTotalShards)
	f.Flag("node", "DaemonSet mode: watch only this node and the pods scheduled on it (usually from the downward API spec.nodeName).").
		Default("").StringVar(&flagNode)
}

func configFromFlags() Config {
	return Config{
		Kubeconfig:         flagKubeconfig,
		Namespaces:         splitList(flagNamespaces),
		NamespacesDenylist: splitList(flagDenylist),
		Shard:              flagShard,
		TotalShards:        flagTotalShards,
		Node:               strings.TrimSpace(flagNode),
	}
}

// check runs before any collector is built, so that a bad value is
// reported as the flag's, not as the first cluster collector's.
func check() error {
	cfg := configFromFlags()
	if err := cfg.Validate(); err != nil {
		return err
	}
	if cfg.Kubeconfig != "" {
		_, err := restConfig(cfg.Kubeconfig)
		return err
	}
	return nil
}

// newCluster builds the exporter's one Source from the flags; the framework
// calls it once, when the first enabled collector asks for the cluster.
func newCluster(logger log.Logger) (collector.Cluster, error) {
	cfg := configFromFlags()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	rc, err := restConfig(cfg.Kubeconfig)
	if err != nil {
		return nil, err
	}
	client, err := kubernetes.NewForConfig(protobufConfig(rc))
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %s", oneLine(err.Error()))
	}
	meta, err := metadata.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("kubernetes metadata client: %s", oneLine(err.Error()))
	}
	return NewSource(cfg, rc, client, meta, log.With(logger, "source", "cluster")), nil
}

func init() {
	collector.ProvideCluster(collector.ClusterProvider{Flags: flags, Check: check, New: newCluster})
	// Registered in this order: "flag has no effect" warnings list the
	// collectors a cluster flag configures in registration order.
	for _, c := range []struct {
		name string
		mk   func(*Source) *Collector
	}{{"node", NewNodeCollector}, {"pod", NewPodCollector}, {"hpa", NewHPACollector}} {
		collector.Register(collector.Spec{
			Name:         c.name,
			Default:      true,
			NeedsCluster: true,
			New: func(env collector.Env) (collector.Collector, error) {
				cl, err := env.Cluster()
				if err != nil {
					return nil, err
				}
				// These collectors serve the source's own pre-rendered stores.
				s, ok := cl.(*Source)
				if !ok {
					return nil, fmt.Errorf("cluster access is a %T, not this package's Source", cl)
				}
				return c.mk(s), nil
			},
		})
	}
}

func splitList(s string) []string {
	var out []string
	seen := map[string]bool{}
	for _, p := range strings.Split(s, ",") {
		p = strings.TrimSpace(p)
		if p != "" && !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
}
