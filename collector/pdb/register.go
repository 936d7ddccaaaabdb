package pdb

import "github.com/kubepulse/kubepulse/collector"

// The pdb collector has no flags of its own: the cluster flags choose the
// namespaces and the shard. It is off by default: reading
// PodDisruptionBudgets needs list and watch on policy/poddisruptionbudgets,
// which the default RBAC does not grant.
func init() {
	collector.Register(collector.Spec{
		Name:         "pdb",
		NeedsCluster: true,
		New: func(env collector.Env) (collector.Collector, error) {
			cl, err := env.Cluster()
			if err != nil {
				return nil, err
			}
			return New(cl), nil
		},
	})
}
