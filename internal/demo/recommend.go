package demo

import (
	"context"
	"time"
)

// WorkloadUsage is one workload as the page sees it: totals over its pods.
type WorkloadUsage struct {
	Namespace, Kind, Name  string
	Pods                   float64
	CPURequest, CPUUsage   float64   // cores
	MemRequest, MemUsage   float64   // bytes
	MemLimit, MemPeak      float64   // bytes; peak is the largest pod's working set
	CPUUsageP90, MemMax30m float64   // from the generated recommendation rules, 0 when absent
	Now                    time.Time // the page's evaluation time
}

// Recommendation is what the efficiency table shows for one workload.
type Recommendation struct {
	Text   string // e.g. "cpu 150m / memory 420Mi per pod"
	Saving string // expected saving, e.g. "-2.6 cores, -5.1 GiB"
}

// Querier runs PromQL against the demo's TSDB, for recommenders that read
// usage history the way `kubepulse tune` does from a Prometheus.
type Querier interface {
	Query(ctx context.Context, q string, ts time.Time) (*Value, error)
	QueryRange(ctx context.Context, q string, start, end time.Time, step time.Duration) (*Value, error)
}

// Recommender fills the recommendation column. The tuning package plugs in
// here through an adapter in the command; until then PendingRecommender
// says so on the page.
type Recommender interface {
	Recommend(ctx context.Context, q Querier, w WorkloadUsage) Recommendation
}

// PendingRecommender is the placeholder until `kubepulse tune` is wired in.
type PendingRecommender struct{}

// Recommend implements Recommender.
func (PendingRecommender) Recommend(context.Context, Querier, WorkloadUsage) Recommendation {
	return Recommendation{Text: "pending: kubepulse tune"}
}

// Query implements Querier.
func (d *Demo) Query(ctx context.Context, q string, ts time.Time) (*Value, error) {
	return d.prom.instant(ctx, q, ts)
}

// QueryRange implements Querier.
func (d *Demo) QueryRange(ctx context.Context, q string, start, end time.Time, step time.Duration) (*Value, error) {
	return d.prom.ranged(ctx, q, start, end, step)
}
