package all

import (
	"context"
	"errors"

	"github.com/kubepulse/kubepulse/collector"
	"github.com/kubepulse/kubepulse/collector/cluster"
	"github.com/kubepulse/kubepulse/collector/logs" // --collector.logs
)

// The log counters get workload labels from the shared cluster source, but
// only in DaemonSet mode (--node): then the source watches just this node's
// pods. Without --node the logs collector stays free of API access.
func init() {
	// --logs.path says what to read, so giving it enables the collector.
	collector.EnabledBy("logs", "logs.path")
	// With --node the log counters look the node's pods up through the
	// cluster source, so these cluster flags configure logs too.
	collector.SharedFlags([]string{"logs"}, "kubeconfig", "node")
	logs.ClusterWorkloads = func() (logs.WorkloadFunc, func(context.Context) error, error) {
		src, err := cluster.Shared(collector.SharedLogger())
		if err != nil {
			return nil, nil, err
		}
		if src.NodeName() == "" {
			return nil, nil, errors.New("--node is not set, so this exporter does not watch its node's pods")
		}
		src.RequireWorkloads()
		return func(ns, pod string) (string, string, bool) {
			ci, ok := src.Container(ns, pod, "")
			return ci.WorkloadKind, ci.Workload, ok
		}, src.Start, nil
	}
}
