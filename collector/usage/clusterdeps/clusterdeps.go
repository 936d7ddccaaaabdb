// Package clusterdeps connects the usage collector to the shared cluster
// source. It is separate from package usage so that the usage collector and
// its tests never depend on the informers.
package clusterdeps

import (
	metricsclient "k8s.io/metrics/pkg/client/clientset/versioned"

	"github.com/kubepulse/kubepulse/collector/cluster"
	"github.com/kubepulse/kubepulse/collector/usage"
)

// Deps gives the kubelet source the node list (this shard's nodes, only the
// --node one in DaemonSet mode), and the metrics-api source the REST config
// and pod-to-node lookups. It must run before src.Start.
func Deps(src *cluster.Source, f *usage.Flags) usage.Deps {
	if rc := src.RESTConfig(); rc != nil && f.Kubelet.FallbackToken == "" {
		// Out of cluster there is no service-account token file: use the
		// kubeconfig's token, as kubectl would.
		f.Kubelet.FallbackToken = rc.BearerToken
	}
	d := usage.Deps{
		NodeName: src.NodeName(),
		Synced:   src.Synced,
		Start:    src.Start,
		// Workload labels and limit ratios need the pods and their owners.
		Lookup: func(namespace, pod, container string) (usage.ContainerInfo, bool) {
			ci, ok := src.Container(namespace, pod, container)
			return usage.ContainerInfo{WorkloadKind: ci.WorkloadKind, Workload: ci.Workload, CPULimit: ci.CPULimit, MemoryLimit: ci.MemoryLimit}, ok
		},
		Nodes: func() []usage.Node {
			ns := src.Nodes()
			out := make([]usage.Node, len(ns))
			for i, n := range ns {
				out[i] = usage.Node{Name: n.Name, Address: n.InternalIP, Port: n.KubeletPort}
			}
			return out
		},
	}
	if f.Source != usage.SourceNone {
		src.RequireWorkloads()
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
	return d
}
