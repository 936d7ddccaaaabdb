// Package tuning is `kubepulse tune`: CPU and memory requests and limits
// recommended from usage history (Recommend), proved on that history
// against the current requests, KRR simple and VPA defaults (Backtest),
// and HPA targets and replica bounds from a load test (Capacity).
//
// Data flows one way: an input (ParseOpenMetrics, or a Builder fed from the
// Prometheus API) builds a History; Recommend turns it into
// Recommendations; Summarize, Report and Patches render them. docs/tuning.md
// explains every default and why.
package tuning
