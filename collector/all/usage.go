package all

import (
	"github.com/go-kit/log"
	metricsclient "k8s.io/metrics/pkg/client/clientset/versioned"

	"github.com/kubepulse/kubepulse/collector"
	"github.com/kubepulse/kubepulse/collector/cluster"
	"github.com/kubepulse/kubepulse/collector/usage"
)

// The usage collector is wired to the shared cluster source here, so the
// usage package itself (and its tests) never depends on the informers.
var usageFlags usage.Flags

func init() {
	collector.RegisterFlags(func(f collector.Flagger) { usage.AddFlags(f, &usageFlags) })
	collector.Register("usage", true, func(logger log.Logger) (collector.Collector, error) {
		return newUsage(usageFlags, logger)
	})
}

// newUsage gives the kubelet source the node list and --node, and the
// metrics-api source the REST config and pod-to-node lookups.
func newUsage(f usage.Flags, logger log.Logger) (collector.Collector, error) {
	if f.Source == usage.SourceNone {
		return usage.New(f, usage.Deps{}, logger)
	}
	src, err := cluster.Shared(logger)
	if err != nil {
		return nil, err
	}
	if rc := src.RESTConfig(); rc != nil {
		// Out of cluster there is no service-account token file: use the
		// kubeconfig's token, as kubectl would.
		f.Kubelet.FallbackToken = rc.BearerToken
	}
	d := usage.Deps{
		NodeName: src.NodeName(),
		Synced:   src.Synced,
		Start:    src.Start,
		Nodes: func() []usage.Node {
			ns := src.Nodes()
			out := make([]usage.Node, len(ns))
			for i, n := range ns {
				out[i] = usage.Node{Name: n.Name, Address: n.InternalIP, Port: n.KubeletPort}
			}
			return out
		},
	}
	if f.Source == usage.SourceMetricsAPI {
		src.RequirePods() // PodNode needs the pod informer
		d.PodNode = func(namespace, pod string) string {
			n, _ := src.PodNode(namespace, pod)
			return n
		}
		d.Metrics = func() (metricsclient.Interface, error) {
			return metricsclient.NewForConfig(src.RESTConfig())
		}
	}
	return usage.New(f, d, logger)
}
