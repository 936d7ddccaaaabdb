// Package tuning will hold `kubepulse tune`: requests, limits, HPA targets and
// replica bounds recommended from observed usage and load-test capacity.
//
// Not implemented yet. The command prints so and exits 1. Until it lands, the
// `recommendations` recording-rule group written by `kubepulse generate`
// computes a recommended request per workload (a usage quantile over the
// configured window times a margin), shown next to the current request on the
// workload-efficiency dashboard.
package tuning
