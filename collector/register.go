package collector

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/go-kit/log"
)

// Spec is everything the framework knows about one collector. A collector
// package fills it in its register.go and passes it to Register from init;
// see docs/adding-a-collector.md.
type Spec struct {
	Name    string // --collector.<Name>, and the collector label of the scrape series
	Default bool   // on without --collector.<Name>

	// Flags declares the collector's flags (named "<Name>.*") into the
	// package's Config. Give every flag a Default, so that a second parse
	// in one process (tests) starts from the defaults.
	Flags func(Flagger)
	// EnabledBy names flags (without "--") that say where the collector
	// reads from: giving one on the command line enables it.
	EnabledBy []string

	// NeedsCluster: the collector reads Kubernetes objects, through
	// Env.Cluster. The cluster flags then configure it too (for the "flag has
	// no effect" warning); ClusterFlags narrows that to the ones that do.
	NeedsCluster bool
	ClusterFlags []string
	// OnlyWith: a default-on collector that only makes sense beside one of
	// these collectors steps aside when none of them is enabled, unless it
	// was named with --collector.<Name>.
	OnlyWith []string

	// New builds the collector after flags are parsed: it validates the
	// Config (errors name the flag and the fix) and returns ErrDisabled
	// when the flags leave it nothing to do.
	New func(Env) (Collector, error)
}

// Env is what a factory receives from the framework.
type Env struct {
	Logger  log.Logger // carries collector=<name>
	cluster func() (Cluster, error)
}

// Cluster returns the cluster access shared by every collector of this
// exporter, built on first use. Only collectors whose Spec says
// NeedsCluster get it. An error made by Unavailable means there is no
// cluster here.
func (e Env) Cluster() (Cluster, error) {
	if e.cluster == nil {
		return nil, errors.New("cluster access not declared: set Spec.NeedsCluster")
	}
	return e.cluster()
}

// Register adds a collector; call it from init in the collector's package.
func Register(s Spec) {
	if s.Name == "" || s.New == nil {
		panic("collector: Register needs a Name and a New")
	}
	r := register(s.Name, s.Default, s.New)
	regMu.Lock()
	r.spec = s
	regMu.Unlock()
	if s.Flags != nil {
		registerFlags(s.Flags)
	}
	if len(s.EnabledBy) > 0 {
		enabledBy(s.Name, s.EnabledBy...)
	}
}

// build runs the factory with its Env. explicit is true when the user
// named the collector with --collector.<name>.
func (r *registration) build(logger log.Logger, cluster func() (Cluster, error), explicit bool) (Collector, error) {
	if len(r.spec.OnlyWith) > 0 && !explicit {
		on := false
		for _, o := range r.spec.OnlyWith {
			on = on || Enabled(o)
		}
		if !on {
			return nil, fmt.Errorf("none of the %s collectors is enabled (give --collector.%s to force it): %w",
				strings.Join(r.spec.OnlyWith, ", "), r.name, ErrDisabled)
		}
	}
	env := Env{Logger: log.With(logger, "collector", r.name)}
	if r.spec.NeedsCluster {
		env.cluster = cluster
	}
	return r.factory(env)
}

// clusterOwners returns the collectors a cluster flag configures, in
// registration order; nil when f is not a cluster flag. regMu is held.
func clusterOwners(f string) []string {
	if !clusterFlagSet[f] {
		return nil
	}
	var regs []*registration
	for _, r := range registrations {
		if r.spec.NeedsCluster && (len(r.spec.ClusterFlags) == 0 || slices.Contains(r.spec.ClusterFlags, f)) {
			regs = append(regs, r)
		}
	}
	slices.SortFunc(regs, func(a, b *registration) int { return a.seq - b.seq })
	out := make([]string, len(regs))
	for i, r := range regs {
		out[i] = r.name
	}
	return out
}
