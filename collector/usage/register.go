package usage

import (
	"time"

	metricsclient "k8s.io/metrics/pkg/client/clientset/versioned"

	"github.com/kubepulse/kubepulse/collector"
)

func init() {
	collector.Register(collector.Spec{
		Name:         "usage",
		Default:      true,
		NeedsCluster: true,
		// A node-local instance that runs only the logs or loadtest
		// collectors has no cluster to read usage for.
		OnlyWith: []string{"node", "pod", "hpa"},
		New:      newFromFlags,
		Flags:    flags,
	})
}

// Sources of usage, for --usage.source.
const (
	SourceKubelet    = "kubelet"
	SourceMetricsAPI = "metrics-api"
	SourceNone       = "none"
)

// Config is the usage collector's configuration; flags fill it, New checks
// it.
type Config struct {
	Source   string
	Interval time.Duration
	Kubelet  KubeletConfig
}

var flagCfg Config

// flags declares the --usage.* flags.
func flags(f collector.Flagger) {
	c := &flagCfg
	f.Flag("usage.source", "Where container usage comes from: kubelet (each kubelet's /metrics/resource, direct), metrics-api (metrics.k8s.io PodMetrics) or none.").
		Default(SourceKubelet).EnumVar(&c.Source, SourceKubelet, SourceMetricsAPI, SourceNone)
	f.Flag("usage.interval", "How often usage is read in the background (not per Prometheus scrape).").
		Default("15s").DurationVar(&c.Interval)
	f.Flag("usage.kubelet-concurrency", "Kubelets read in parallel.").
		Default("64").IntVar(&c.Kubelet.Concurrency)
	f.Flag("usage.kubelet-timeout", "Timeout of one kubelet read (connect, TLS, headers and body).").
		Default("5s").DurationVar(&c.Kubelet.Timeout)
	f.Flag("usage.kubelet-path", "Kubelet endpoint to read; /metrics/cadvisor also works but is much larger.").
		Default("/metrics/resource").StringVar(&c.Kubelet.Path)
	f.Flag("usage.kubelet-token-file", "Bearer token sent to kubelets, re-read every round (rotated service-account tokens). Empty sends none.").
		Default("/var/run/secrets/kubernetes.io/serviceaccount/token").StringVar(&c.Kubelet.TokenFile)
	f.Flag("usage.kubelet-ca-file", "PEM CA bundle that signed the kubelets' serving certificates. Empty uses the system roots.").
		Default("").StringVar(&c.Kubelet.CAFile)
	f.Flag("usage.kubelet-insecure-skip-verify", "Do not verify kubelet serving certificates (kind, minikube and other self-signed kubelets).").
		Default("false").BoolVar(&c.Kubelet.InsecureSkipVerify)
	f.Flag("usage.kubelet-timestamps", "Expose the kubelet's sample timestamps instead of letting Prometheus stamp the scrape time.").
		Default("false").BoolVar(&c.Kubelet.Timestamps)
}

// newFromFlags wires the collector to the framework's cluster. It asks for
// the cluster even for --usage.source=none: outside a cluster usage then
// steps aside with the cluster collectors instead of running empty.
func newFromFlags(env collector.Env) (collector.Collector, error) {
	cl, err := env.Cluster()
	if err != nil {
		return nil, err
	}
	return New(flagCfg, ClusterDeps(cl), env.Logger)
}

// ClusterDeps reads what the collector needs from the cluster: the node
// list (this shard's nodes, only the --node one in DaemonSet mode) for the
// kubelet source, pod-to-node lookups and a metrics.k8s.io client for the
// metrics-api source, workload labels and limits for both. It must run
// before the cluster starts.
func ClusterDeps(cl collector.Cluster) Deps {
	var token string
	if rc := cl.RESTConfig(); rc != nil {
		token = rc.BearerToken
	}
	return Deps{
		Token:    token,
		NodeName: cl.NodeName(),
		Synced:   cl.Synced,
		Start:    cl.Start,
		Watch:    cl.RequireWorkloads,
		Lookup: func(namespace, pod, container string) (ContainerInfo, bool) {
			ci, ok := cl.Container(namespace, pod, container)
			return ContainerInfo{WorkloadKind: ci.WorkloadKind, Workload: ci.Workload, CPULimit: ci.CPULimit, MemoryLimit: ci.MemoryLimit}, ok
		},
		Nodes: func() []Node {
			ns := cl.Nodes()
			out := make([]Node, len(ns))
			for i, n := range ns {
				out[i] = Node{Name: n.Name, Address: n.InternalIP, Port: n.KubeletPort}
			}
			return out
		},
		PodNode: func(namespace, pod string) string {
			n, _ := cl.PodNode(namespace, pod)
			return n
		},
		Metrics: func() (metricsclient.Interface, error) {
			return metricsclient.NewForConfig(cl.RESTConfig())
		},
	}
}
