package mixin

import "github.com/kubepulse/kubepulse/internal/catalog"

// definitions is the exporter's metric catalogue: the generator checks its
// queries against it without linking the collectors.
func definitions() []*catalog.Family { return catalog.All() }

// prometheusSeries are series Prometheus itself writes for every target.
var prometheusSeries = []string{"up"}
