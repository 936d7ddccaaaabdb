package demo

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/kubepulse/kubepulse/tuning"
)

// TuneRecommender fills the recommendation column with `kubepulse tune
// resources`' own algorithm (tuning.Recommend), fed from the demo's TSDB the
// way `tune --prometheus.url` reads a Prometheus: raw series of the
// kubepulse source, one namespace at a time.
type TuneRecommender struct {
	Options tuning.Options
	Window  time.Duration // history read back; the demo's --demo.history
	Step    time.Duration // resolution of the read

	mu    sync.Mutex
	cache map[string]nsRecs // by namespace, refreshed once per Step
}

type nsRecs struct {
	at   time.Time
	recs []tuning.Recommendation
	err  error
}

// NewTuneRecommender uses tune's defaults, except that the demo's few hours
// of history are enough: MinHistory is lowered to an hour (the page says
// so), since a demo cannot wait for tune's one-day minimum.
func NewTuneRecommender(window time.Duration) *TuneRecommender {
	o := tuning.DefaultOptions()
	o.MinHistory = time.Hour
	return &TuneRecommender{Options: o, Window: window, Step: time.Minute, cache: map[string]nsRecs{}}
}

// Recommend implements Recommender.
func (r *TuneRecommender) Recommend(ctx context.Context, q Querier, w WorkloadUsage) Recommendation {
	recs, err := r.namespace(ctx, q, w.Namespace, w.Now)
	if err != nil && !errors.Is(err, tuning.ErrNoUsage) {
		return Recommendation{Text: "tune: " + err.Error()}
	}
	var cpu, mem, cpuSaved, memSaved float64
	var n int
	var reasons, bare []string
	for _, rc := range recs {
		if rc.WorkloadKind != w.Kind || rc.Workload != w.Name {
			continue
		}
		n++
		if rc.RecommendedRequest == nil {
			reasons = append(reasons, rc.Container+" "+rc.Resource+": "+rc.Reason)
			bare = append(bare, rc.Reason)
			continue
		}
		saved, _ := rc.Saved()
		if rc.Resource == tuning.CPU {
			cpu += *rc.RecommendedRequest
			cpuSaved += saved
		} else {
			mem += *rc.RecommendedRequest
			memSaved += saved
		}
	}
	switch {
	case n == 0:
		return Recommendation{Text: "no usage history yet"}
	case len(reasons) == n:
		return Recommendation{Text: bare[0]}
	}
	out := Recommendation{Text: fmt.Sprintf("cpu %s / memory %s per pod", tuning.FormatQuantity(tuning.CPU, cpu), tuning.FormatQuantity(tuning.Memory, mem)),
		Saving: fmt.Sprintf("%.2f cores, %.2f GiB", cpuSaved, memSaved/(1<<30))} // negative: more is needed
	if len(reasons) > 0 {
		out.Text += " (" + strings.Join(reasons, "; ") + ")"
	}
	return out
}

// namespace reads and recommends one namespace, cached for one Step so a
// page render costs one read per namespace.
func (r *TuneRecommender) namespace(ctx context.Context, q Querier, ns string, now time.Time) ([]tuning.Recommendation, error) {
	if now.IsZero() {
		now = time.Now()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if c, ok := r.cache[ns]; ok && now.Sub(c.at) < r.Step && !now.Before(c.at) {
		return c.recs, c.err
	}
	b := tuning.NewBuilder(tuning.SourceKubepulse)
	start := now.Add(-r.Window)
	for _, m := range tuning.SourceKubepulse.Metrics() {
		v, err := q.QueryRange(ctx, fmt.Sprintf(`%s{namespace=%q}`, m, ns), start, now, r.Step)
		if err != nil {
			r.cache[ns] = nsRecs{at: now, err: err}
			return nil, err
		}
		for _, s := range v.Series {
			ls := labels.NewBuilder(s.Metric).Set(labels.MetricName, m).Labels()
			samples := make([]tuning.Sample, len(s.Points))
			for i, p := range s.Points {
				samples[i] = tuning.Sample{T: p.T, V: p.V}
			}
			b.AddSeries(ls, samples)
		}
	}
	h, err := b.History()
	var recs []tuning.Recommendation
	if err == nil {
		recs = tuning.Recommend(h, r.Options)
	}
	r.cache[ns] = nsRecs{at: now, recs: recs, err: err}
	return recs, err
}
