// Package catalog is the one list of every metric family kubepulse exposes:
// name, type, help and labels, one file per collector, as kube-state-metrics
// keeps its family tables. The collectors render these families, the
// generator checks its queries against them, docs/metrics.md is generated
// from them and test/rulesbench synthesizes them. It imports nothing of
// kubepulse, so the generator reads it without linking the collectors.
//
// Adding a family is one def call in the collector's file here.
package catalog

import (
	"fmt"
	"sort"
	"strings"
)

// Type is the exposition type of a family.
type Type string

const (
	Gauge     Type = "gauge"
	Counter   Type = "counter"
	Histogram Type = "histogram"
	Summary   Type = "summary"
)

// Family is one metric family.
type Family struct {
	Name      string
	Help      string
	Type      Type
	Labels    []string // besides the target's job and instance
	Collector string   // the --collector.<name> that exposes it
}

var families = map[string]*Family{}

// def adds a family at package init; a name defined twice is a programming
// error caught by every test run.
func def(collector, name, help string, typ Type, labels ...string) *Family {
	if _, dup := families[name]; dup {
		panic(fmt.Sprintf("catalog: metric %q defined twice", name))
	}
	f := &Family{Name: name, Help: help, Type: typ, Labels: labels, Collector: collector}
	families[name] = f
	return f
}

// All returns every family, sorted by name.
func All() []*Family {
	out := make([]*Family, 0, len(families))
	for _, f := range families {
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Lookup returns the family named name.
func Lookup(name string) (*Family, bool) {
	f, ok := families[name]
	return f, ok
}

// SeriesNames returns the series names the family produces in exposition
// (a histogram adds _bucket, _sum and _count), for query validation.
func (f *Family) SeriesNames() []string {
	switch f.Type {
	case Histogram:
		return []string{f.Name, f.Name + "_bucket", f.Name + "_sum", f.Name + "_count"}
	case Summary:
		return []string{f.Name, f.Name + "_sum", f.Name + "_count"}
	}
	return []string{f.Name}
}

// Header returns the "# HELP" and "# TYPE" lines for pre-rendered exposition.
func (f *Family) Header() string {
	help := strings.NewReplacer(`\`, `\\`, "\n", `\n`).Replace(f.Help)
	return "# HELP " + f.Name + " " + help + "\n# TYPE " + f.Name + " " + string(f.Type) + "\n"
}
