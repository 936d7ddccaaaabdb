package mixin

import "github.com/kubepulse/kubepulse/collector"

// definitions are the exporter's metric families, from the collectors' own
// Define calls.
func definitions() []collector.MetricDef { return collector.Definitions() }

// prometheusSeries are series Prometheus itself writes for every target.
var prometheusSeries = []string{"up"}
