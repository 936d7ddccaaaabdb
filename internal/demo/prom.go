package demo

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sort"
	"strconv"
	"sync"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/rules"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb"
)

// prom is the embedded Prometheus: a TSDB, the PromQL engine, and the rule
// groups loaded by the rules manager from the generated files. Scrapes and
// evaluations are driven by Demo with explicit timestamps, so the history
// fast-forward and the live loop go through the same code.
type prom struct {
	db       *tsdb.DB
	engine   *promql.Engine
	groups   []*rules.Group
	lastEval map[*rules.Group]time.Time
	target   labels.Labels // cluster, job and instance added to every scraped sample

	coarse time.Duration // minimum evaluation interval (fast-forward of old history)

	mu   sync.Mutex // one scrape or evaluation at a time
	prev map[uint64]labels.Labels
	now  time.Time // timestamp of the last scrape
}

func newProm(dir string, logger *slog.Logger, instance string, ruleFiles []string) (*prom, error) {
	opts := tsdb.DefaultOptions()
	opts.WALSegmentSize = -1 // nothing to recover: the demo starts fresh each time
	// One head block for the whole run: no compaction work during the demo.
	opts.MinBlockDuration = int64(48 * time.Hour / time.Millisecond)
	opts.MaxBlockDuration = opts.MinBlockDuration
	opts.RetentionDuration = int64(72 * time.Hour / time.Millisecond)
	db, err := tsdb.Open(dir, logger, nil, opts, nil)
	if err != nil {
		return nil, fmt.Errorf("open TSDB in %s: %w", dir, err)
	}
	p := &prom{
		db: db,
		engine: promql.NewEngine(promql.EngineOpts{
			Logger: logger, MaxSamples: 50_000_000, Timeout: 2 * time.Minute, LookbackDelta: 5 * time.Minute,
			EnableAtModifier: true, EnableNegativeOffset: true,
		}),
		lastEval: map[*rules.Group]time.Time{},
		// cluster is what a multi-cluster setup adds by relabelling; the
		// generated rules and dashboards group by it.
		target: labels.FromStrings("cluster", "demo", "job", "kubepulse", "instance", instance),
		prev:   map[uint64]labels.Labels{},
	}
	mgr := rules.NewManager(&rules.ManagerOptions{
		AppendableV2: db,
		Queryable:    db,
		QueryFunc:    rules.EngineQueryFunc(p.engine, db),
		NotifyFunc:   func(context.Context, string, ...*rules.Alert) {}, // no Alertmanager in the demo
		Context:      context.Background(),
		Logger:       logger,
	})
	groups, errs := mgr.LoadGroups(time.Minute, labels.EmptyLabels(), "", rules.DefaultEvalIterationFunc, false, ruleFiles...)
	if len(errs) > 0 {
		_ = db.Close()
		return nil, fmt.Errorf("load generated rules: %v", errs)
	}
	for _, g := range groups {
		// Nothing to restore from a fresh TSDB; without this the rules
		// keep their ALERTS series to themselves.
		for _, ar := range g.AlertingRules() {
			ar.SetRestored(true)
		}
		p.groups = append(p.groups, g)
	}
	sort.Slice(p.groups, func(i, j int) bool {
		if p.groups[i].File() != p.groups[j].File() {
			return p.groups[i].File() < p.groups[j].File()
		}
		return p.groups[i].Name() < p.groups[j].Name()
	})
	return p, nil
}

func (p *prom) close() error {
	_ = p.engine.Close()
	return p.db.Close()
}

// scrape reads h as Prometheus would (text format) and appends every sample
// at ts, with stale markers for series that disappeared, plus up and
// scrape_duration_seconds.
func (p *prom) scrape(ctx context.Context, h http.Handler, ts time.Time) (int, error) {
	start := time.Now()
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	req.Header.Set("Accept", "text/plain;version=0.0.4")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	up := 1.0
	var fams map[string]*dto.MetricFamily
	if rec.Code != http.StatusOK {
		up = 0
	} else {
		var err error
		parser := expfmt.NewTextParser(model.UTF8Validation)
		if fams, err = parser.TextToMetricFamilies(bytes.NewReader(rec.Body.Bytes())); err != nil {
			up = 0
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	t := ts.UnixMilli()
	app := p.db.AppenderV2(ctx)
	seen := map[uint64]labels.Labels{}
	b := labels.NewBuilder(labels.EmptyLabels())
	n := 0
	add := func(name string, v float64, extra ...string) {
		b.Reset(labels.EmptyLabels())
		p.target.Range(func(l labels.Label) { b.Set(l.Name, l.Value) })
		b.Set(labels.MetricName, name)
		for i := 0; i+1 < len(extra); i += 2 {
			b.Set(extra[i], extra[i+1])
		}
		ls := b.Labels()
		h := ls.Hash()
		if _, dup := seen[h]; dup {
			return
		}
		seen[h] = ls
		if _, err := app.Append(0, ls, 0, t, v, nil, nil, storage.AppendV2Options{}); err == nil {
			n++
		}
	}
	for name, mf := range fams {
		for _, m := range mf.GetMetric() {
			var base []string
			for _, lp := range m.GetLabel() {
				base = append(base, lp.GetName(), lp.GetValue())
			}
			with := func(kv ...string) []string { return append(append([]string{}, base...), kv...) }
			switch mf.GetType() {
			case dto.MetricType_COUNTER:
				add(name, m.GetCounter().GetValue(), base...)
			case dto.MetricType_GAUGE:
				add(name, m.GetGauge().GetValue(), base...)
			case dto.MetricType_UNTYPED:
				add(name, m.GetUntyped().GetValue(), base...)
			case dto.MetricType_HISTOGRAM:
				hg := m.GetHistogram()
				inf := false
				for _, bk := range hg.GetBucket() {
					if math.IsInf(bk.GetUpperBound(), 1) {
						inf = true
					}
					add(name+"_bucket", float64(bk.GetCumulativeCount()), with("le", formatLE(bk.GetUpperBound()))...)
				}
				if !inf {
					add(name+"_bucket", float64(hg.GetSampleCount()), with("le", "+Inf")...)
				}
				add(name+"_sum", hg.GetSampleSum(), base...)
				add(name+"_count", float64(hg.GetSampleCount()), base...)
			case dto.MetricType_SUMMARY:
				sm := m.GetSummary()
				for _, q := range sm.GetQuantile() {
					add(name, q.GetValue(), with("quantile", strconv.FormatFloat(q.GetQuantile(), 'g', -1, 64))...)
				}
				add(name+"_sum", sm.GetSampleSum(), base...)
				add(name+"_count", float64(sm.GetSampleCount()), base...)
			}
		}
	}
	scraped := n
	add("up", up)
	add("scrape_duration_seconds", time.Since(start).Seconds())
	add("scrape_samples_scraped", float64(scraped))
	stale := math.Float64frombits(value.StaleNaN)
	for h, ls := range p.prev {
		if _, ok := seen[h]; !ok {
			_, _ = app.Append(0, ls, 0, t, stale, nil, nil, storage.AppendV2Options{})
		}
	}
	p.prev = seen
	p.now = ts
	if err := app.Commit(); err != nil {
		return n, err
	}
	if up == 0 {
		return n, fmt.Errorf("self-scrape failed with HTTP %d", rec.Code)
	}
	return scraped, nil
}

func formatLE(v float64) string {
	if math.IsInf(v, 1) {
		return "+Inf"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// evalDue evaluates every group whose interval has passed by ts, on all
// cores. Groups are independent, as in Prometheus: a group reading another
// group's records sees its latest evaluation.
func (p *prom) evalDue(ctx context.Context, ts time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var due []*rules.Group
	for _, g := range p.groups {
		if last, ok := p.lastEval[g]; ok && ts.Sub(last) < max(g.Interval(), p.coarse) {
			continue
		}
		p.lastEval[g] = ts
		due = append(due, g)
	}
	var wg sync.WaitGroup
	next := make(chan *rules.Group)
	for i := 0; i < runtime.GOMAXPROCS(0); i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for g := range next {
				g.Eval(ctx, ts)
			}
		}()
	}
	for _, g := range due {
		next <- g
	}
	close(next)
	wg.Wait()
}

// lastScrape is the timestamp of the newest scrape: queries without a time
// use it, so the page and the API agree with the simulated clock.
func (p *prom) lastScrape() time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.now
}

// Series is one query result series, copied out of the engine's pools.
type Series struct {
	Metric labels.Labels
	Points []Point
}

// Point is one float sample (T in milliseconds).
type Point struct {
	T int64
	V float64
}

// Value is a query result: its PromQL type and its series (a scalar is one
// series without labels, a string is kept in Str).
type Value struct {
	Type   string // vector, matrix, scalar, string
	Series []Series
	Str    string
	T      int64
}

func copyResult(res *promql.Result) (*Value, error) {
	if res.Err != nil {
		return nil, res.Err
	}
	switch v := res.Value.(type) {
	case promql.Vector:
		out := &Value{Type: "vector"}
		for _, s := range v {
			if s.H != nil {
				continue
			}
			out.Series = append(out.Series, Series{Metric: s.Metric, Points: []Point{{s.T, s.F}}})
		}
		return out, nil
	case promql.Matrix:
		out := &Value{Type: "matrix"}
		for _, s := range v {
			pts := make([]Point, len(s.Floats))
			for i, f := range s.Floats {
				pts[i] = Point{f.T, f.F}
			}
			out.Series = append(out.Series, Series{Metric: s.Metric, Points: pts})
		}
		return out, nil
	case promql.Scalar:
		return &Value{Type: "scalar", Series: []Series{{Metric: labels.EmptyLabels(), Points: []Point{{v.T, v.V}}}}, T: v.T}, nil
	case promql.String:
		return &Value{Type: "string", Str: v.V, T: v.T}, nil
	}
	return nil, fmt.Errorf("unexpected result type %T", res.Value)
}

// instant runs an instant query.
func (p *prom) instant(ctx context.Context, q string, ts time.Time) (*Value, error) {
	qry, err := p.engine.NewInstantQuery(ctx, p.db, nil, q, ts)
	if err != nil {
		return nil, err
	}
	defer qry.Close()
	return copyResult(qry.Exec(ctx))
}

// ranged runs a range query.
func (p *prom) ranged(ctx context.Context, q string, start, end time.Time, step time.Duration) (*Value, error) {
	qry, err := p.engine.NewRangeQuery(ctx, p.db, nil, q, start, end, step)
	if err != nil {
		return nil, err
	}
	defer qry.Close()
	return copyResult(qry.Exec(ctx))
}
