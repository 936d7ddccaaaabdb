package rulesbench

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"syscall"
	"time"

	"github.com/prometheus/common/promslog"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/rules"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb"
)

// OpenTSDB opens the TSDB in dir that WriteBlocks filled and compacts its
// overlapping blocks into one. There is no WAL (the data is thrown away after
// the run). Rule output is written at timestamps inside the block's range,
// so the head accepts out-of-order samples for the hour before end, the time
// of the last raw sample; one anchor sample at end gives the head that time.
func OpenTSDB(ctx context.Context, dir string, end time.Time) (*tsdb.DB, error) {
	db, err := OpenEmptyTSDB(dir)
	if err != nil {
		return nil, err
	}
	if err := db.Compact(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("compacting the synthetic blocks: %w", err)
	}
	app := db.Appender(ctx)
	if _, err := app.Append(0, labels.FromStrings(labels.MetricName, "rulesbench_head_anchor"), end.UnixMilli()+1, 1); err != nil {
		db.Close()
		return nil, fmt.Errorf("anchoring the head: %w", err)
	}
	if err := app.Commit(); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// OpenEmptyTSDB opens a TSDB without a WAL, accepting out-of-order samples
// for an hour; LoadHead fills it.
func OpenEmptyTSDB(dir string) (*tsdb.DB, error) {
	opts := tsdb.DefaultOptions()
	opts.WALSegmentSize = -1
	opts.RetentionDuration = 0
	opts.OutOfOrderTimeWindow = time.Hour.Milliseconds()
	return tsdb.Open(dir, promslog.NewNopLogger(), nil, opts, nil)
}

// NewEngine returns a promql engine with Prometheus server defaults
// (--query.max-samples, --query.lookback-delta, 1m subquery step).
func NewEngine() *promql.Engine {
	return promql.NewEngine(promql.EngineOpts{
		Logger:                   promslog.NewNopLogger(),
		MaxSamples:               50_000_000,
		Timeout:                  2 * time.Minute,
		LookbackDelta:            5 * time.Minute,
		EnableAtModifier:         true,
		EnableNegativeOffset:     true,
		NoStepSubqueryIntervalFn: func(int64) int64 { return time.Minute.Milliseconds() },
	})
}

// Group is a loaded rule group in file order.
type Group struct {
	File  string
	Order int
	G     *rules.Group
}

// LoadGroups parses rule files with the rules manager's own loader (the same
// validation Prometheus applies) and returns the groups in file order.
func LoadGroups(ctx context.Context, db storage.Storage, engine *promql.Engine, files ...string) ([]Group, error) {
	opts := &rules.ManagerOptions{
		QueryFunc:    rules.EngineQueryFunc(engine, db),
		AppendableV2: oooAppendable{db.(storage.AppendableV2)},
		Queryable:    db,
		Context:      ctx,
		Logger:       slog.New(slog.DiscardHandler),
		NotifyFunc:   func(context.Context, string, ...*rules.Alert) {},
	}
	m := rules.NewManager(opts)
	loaded, errs := m.LoadGroups(time.Minute, labels.EmptyLabels(), "", nil, false, files...)
	if len(errs) > 0 {
		return nil, fmt.Errorf("loading %v: %v", files, errs)
	}
	// LoadGroups returns a map; recover the file order from the files
	// themselves so that groups that read other groups' output run after them.
	var out []Group
	for _, f := range files {
		order, err := groupOrder(f)
		if err != nil {
			return nil, err
		}
		for i, name := range order {
			g, ok := loaded[rules.GroupKey(f, name)]
			if !ok {
				return nil, fmt.Errorf("%s: group %q not loaded", f, name)
			}
			out = append(out, Group{File: f, Order: i, G: g})
		}
	}
	return out, nil
}

// GroupResult is the measured evaluation of one group.
type GroupResult struct {
	Name       string
	Rules      int
	Durations  []time.Duration // measured evaluations
	Median     time.Duration
	CPU        []time.Duration // process CPU time (user+system) of each measured evaluation
	MedianCPU  time.Duration
	OutSeries  int               // series the group's rules produced at the last evaluation
	Alerting   bool              // the group holds alerting rules
	Active     int               // alerts pending or firing after the last evaluation
	EmptyRules []string          // recording rules that produced nothing
	Errors     map[string]string // rule -> last error
}

// Evaluate runs every group at warmup+runs consecutive timestamps, interval
// apart, starting at first, in file order as Prometheus would; the warm-up
// evaluations give rules that read other recording rules some history. The
// last runs evaluations of each group are measured.
// Progress, when set, is told about every evaluation (long runs at full scale).
var Progress func(iteration int, group string, took time.Duration)

func Evaluate(ctx context.Context, db storage.Queryable, engine *promql.Engine, groups []Group, first time.Time, interval time.Duration, warmup, runs int) ([]GroupResult, error) {
	res := make([]GroupResult, len(groups))
	for i, g := range groups {
		res[i] = GroupResult{Name: g.G.Name(), Rules: len(g.G.Rules()), Errors: map[string]string{}}
	}
	var last time.Time
	for it := 0; it < warmup+runs; it++ {
		ts := first.Add(time.Duration(it) * interval)
		last = ts
		for i, g := range groups {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			began, cpu0 := time.Now(), cpuTime()
			g.G.Eval(ctx, ts)
			if Progress != nil {
				Progress(it, g.G.Name(), time.Since(began))
			}
			if it >= warmup {
				res[i].Durations = append(res[i].Durations, time.Since(began))
				res[i].CPU = append(res[i].CPU, cpuTime()-cpu0)
			}
		}
	}
	for i, g := range groups {
		res[i].Median = median(res[i].Durations)
		res[i].MedianCPU = median(res[i].CPU)
		for _, r := range g.G.Rules() {
			if err := r.LastError(); err != nil {
				res[i].Errors[r.Name()] = err.Error()
			}
			if ar, ok := r.(*rules.AlertingRule); ok {
				res[i].Alerting = true
				res[i].Active += len(ar.ActiveAlerts())
				continue
			}
			rr, ok := r.(*rules.RecordingRule)
			if !ok {
				continue
			}
			n, err := countSeries(ctx, db, engine, rr, last)
			if err != nil {
				res[i].Errors[r.Name()] = err.Error()
				continue
			}
			res[i].OutSeries += n
			if n == 0 {
				res[i].EmptyRules = append(res[i].EmptyRules, rr.Name())
			}
		}
	}
	return res, nil
}

// countSeries counts what a recording rule wrote at ts, with its own labels.
func countSeries(ctx context.Context, db storage.Queryable, engine *promql.Engine, r *rules.RecordingRule, ts time.Time) (int, error) {
	sel := fmt.Sprintf("{__name__=%q", r.Name())
	r.Labels().Range(func(l labels.Label) { sel += fmt.Sprintf(",%s=%q", l.Name, l.Value) })
	sel += "}"
	q, err := engine.NewInstantQuery(ctx, db, nil, sel, ts)
	if err != nil {
		return 0, err
	}
	defer q.Close()
	out := q.Exec(ctx)
	if out.Err != nil {
		return 0, out.Err
	}
	v, err := out.Vector()
	if err != nil {
		return 0, err
	}
	return len(v), nil
}

func median(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// oooAppendable lets rule output land before the end of the raw data (the
// blocks): the rules manager asks to reject out-of-order samples, because in
// a live server its output is always the newest; here the evaluation window
// lies inside the loaded range, so the output goes to the out-of-order head.
type oooAppendable struct{ storage.AppendableV2 }

func (a oooAppendable) AppenderV2(ctx context.Context) storage.AppenderV2 {
	return oooAppender{a.AppendableV2.AppenderV2(ctx)}
}

type oooAppender struct{ storage.AppenderV2 }

func (a oooAppender) Append(ref storage.SeriesRef, ls labels.Labels, st, t int64, v float64, h *histogram.Histogram, fh *histogram.FloatHistogram, opts storage.AppendV2Options) (storage.SeriesRef, error) {
	opts.RejectOutOfOrder = false
	return a.AppenderV2.Append(ref, ls, st, t, v, h, fh, opts)
}

// cpuTime is the process's user+system CPU time. On a shared machine the
// wall time of an evaluation includes waiting for a core; CPU time does not.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
