package promtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/common/promslog"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/promql/promqltest"
	"github.com/prometheus/prometheus/rules"
	"gopkg.in/yaml.v3"
)

// Failure is one failed check, named by file and test group.
type Failure struct {
	File  string
	Group string
	Err   error
}

func (f Failure) Error() string {
	if f.Group == "" {
		return fmt.Sprintf("%s: %v", f.File, f.Err)
	}
	return fmt.Sprintf("%s: %s: %v", f.File, f.Group, f.Err)
}

// ParseFile reads a test file strictly: an unknown key is an error.
func ParseFile(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	f, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}

// Parse decodes a test file strictly.
func Parse(b []byte) (*File, error) {
	var f File
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return &f, nil
}

// RunFile runs every test group of the file at path and returns the
// failures (nil when all pass).
func RunFile(path string) []Failure {
	f, err := ParseFile(path)
	if err != nil {
		return []Failure{{File: path, Err: err}}
	}
	var ruleFiles []string
	for _, rf := range f.RuleFiles {
		if !filepath.IsAbs(rf) {
			rf = filepath.Join(filepath.Dir(path), rf)
		}
		m, err := filepath.Glob(rf)
		if err != nil || len(m) == 0 {
			return []Failure{{File: path, Err: fmt.Errorf("rule_files: %q matches no file", rf)}}
		}
		ruleFiles = append(ruleFiles, m...)
	}
	evalInterval := time.Duration(f.EvaluationInterval)
	if evalInterval == 0 {
		evalInterval = time.Minute
	}
	order := map[string]int{}
	for i, g := range f.GroupEvalOrder {
		if _, dup := order[g]; dup {
			return []Failure{{File: path, Err: fmt.Errorf("group_eval_order: group %q listed twice", g)}}
		}
		order[g] = i
	}
	var out []Failure
	for i, tg := range f.Tests {
		name := tg.Name
		if name == "" {
			name = fmt.Sprintf("test #%d", i)
		}
		if tg.Interval == 0 {
			tg.Interval = model.Duration(evalInterval)
		}
		for _, err := range runGroup(tg, evalInterval, order, ruleFiles, f.FuzzyCompare) {
			out = append(out, Failure{File: path, Group: name, Err: err})
		}
	}
	return out
}

func loadString(tg Group) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "load %s\n", time.Duration(tg.Interval))
	for _, s := range tg.InputSeries {
		fmt.Fprintf(&sb, "  %s %s\n", s.Series, s.Values)
	}
	return sb.String()
}

var promParser = parser.NewParser(parser.Options{})

func runGroup(tg Group, evalInterval time.Duration, order map[string]int, ruleFiles []string, fuzzy bool) (errs []error) {
	suite, err := promqltest.NewLazyLoader(loadString(tg), promqltest.LazyLoaderOpts{
		EnableAtModifier: true, EnableNegativeOffset: true, Parser: promParser,
	})
	if err != nil {
		return []error{fmt.Errorf("input_series: %w", err)}
	}
	defer func() {
		if err := suite.Close(); err != nil {
			errs = append(errs, err)
		}
	}()
	suite.SubqueryInterval = evalInterval

	m := rules.NewManager(&rules.ManagerOptions{
		QueryFunc:    rules.EngineQueryFunc(suite.QueryEngine(), suite.Storage()),
		AppendableV2: suite.Storage(),
		Context:      context.Background(),
		NotifyFunc:   func(context.Context, string, ...*rules.Alert) {},
		Logger:       promslog.NewNopLogger(),
		Parser:       promParser,
	})
	groupsMap, lerrs := m.LoadGroups(time.Duration(tg.Interval), labels.FromMap(tg.ExternalLabels), tg.ExternalURL, nil, false, ruleFiles...)
	if lerrs != nil {
		return lerrs
	}
	groups := make([]*rules.Group, 0, len(groupsMap))
	for _, g := range groupsMap {
		groups = append(groups, g)
	}
	// Listed groups in their order; unlisted ones after, by name, so
	// the evaluation order never depends on map iteration.
	sort.Slice(groups, func(i, j int) bool {
		oi, iok := order[groups[i].Name()]
		oj, jok := order[groups[j].Name()]
		if iok != jok {
			return iok
		}
		if oi != oj {
			return oi < oj
		}
		return groups[i].Name() < groups[j].Name()
	})
	for _, g := range groups {
		// Each group runs only at multiples of its own interval, as in a
		// server (promtool runs every group at every evaluation_interval,
		// which hides a rule that a server sees only now and then).
		if g.Interval()%evalInterval != 0 {
			return []error{fmt.Errorf("group %s: interval %s is not a multiple of evaluation_interval %s", g.Name(), g.Interval(), evalInterval)}
		}
		for _, r := range g.Rules() {
			if ar, ok := r.(*rules.AlertingRule); ok {
				ar.SetRestored(true) // so ALERTS series appear as they would
			}
		}
	}

	mint := time.Unix(0, 0).UTC()
	var maxEval model.Duration
	byTime := map[model.Duration][]AlertCase{}
	var times []model.Duration
	for _, ac := range tg.AlertRuleTests {
		if ac.Alertname == "" {
			return []error{fmt.Errorf("alert_rule_test at %s has no alertname", ac.EvalTime)}
		}
		if _, ok := byTime[ac.EvalTime]; !ok {
			times = append(times, ac.EvalTime)
		}
		byTime[ac.EvalTime] = append(byTime[ac.EvalTime], ac)
		maxEval = max(maxEval, ac.EvalTime)
	}
	for _, ec := range tg.PromqlExprTests {
		maxEval = max(maxEval, ec.EvalTime)
	}
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	maxt := mint.Add(time.Duration(maxEval))

	curr := 0
	for ts := mint; !ts.After(maxt); ts = ts.Add(evalInterval) {
		var evalErrs []error
		suite.WithSamplesTill(ts, func(err error) {
			if err != nil {
				evalErrs = append(evalErrs, err)
				return
			}
			for _, g := range groups {
				if ts.Sub(mint)%g.Interval() != 0 {
					continue
				}
				g.Eval(suite.Context(), ts)
				for _, r := range g.Rules() {
					if r.LastError() != nil {
						evalErrs = append(evalErrs, fmt.Errorf("rule %s at %s: %w", r.Name(), ts.Sub(mint), r.LastError()))
					}
				}
			}
		})
		if len(evalErrs) > 0 {
			return append(errs, evalErrs...)
		}
		// Alerts asked for at eval_time in [ts, ts+evalInterval) are
		// checked against this evaluation, as promtool does.
		for curr < len(times) && time.Duration(times[curr]) >= ts.Sub(mint) && time.Duration(times[curr]) < ts.Add(evalInterval).Sub(mint) {
			for _, ac := range byTime[times[curr]] {
				if err := checkAlerts(groups, ac); err != nil {
					errs = append(errs, err)
				}
			}
			curr++
		}
	}
	for _, ec := range tg.PromqlExprTests {
		if err := checkExpr(suite, mint, ec, fuzzy); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// alertKey renders labels and annotations in a stable, comparable form.
func alertKey(ls, anns map[string]string) string {
	return labels.FromMap(ls).String() + " " + labels.FromMap(anns).String()
}

func checkAlerts(groups []*rules.Group, ac AlertCase) error {
	var got []string
	for _, g := range groups {
		for _, r := range g.Rules() {
			ar, ok := r.(*rules.AlertingRule)
			if !ok || ar.Name() != ac.Alertname {
				continue
			}
			for _, a := range ar.ActiveAlerts() {
				if a.State == rules.StateFiring {
					got = append(got, alertKey(a.Labels.Map(), a.Annotations.Map()))
				}
			}
		}
	}
	var exp []string
	for _, e := range ac.ExpAlerts {
		ls := map[string]string{}
		for k, v := range e.ExpLabels {
			ls[k] = v
		}
		ls[labels.AlertName] = ac.Alertname
		exp = append(exp, alertKey(ls, e.ExpAnnotations))
	}
	sort.Strings(got)
	sort.Strings(exp)
	if strings.Join(got, "\n") != strings.Join(exp, "\n") {
		return fmt.Errorf("alertname: %s, time: %s:\n    exp: %s\n    got: %s", ac.Alertname, ac.EvalTime, list(exp), list(got))
	}
	return nil
}

func list(xs []string) string {
	if len(xs) == 0 {
		return "(none)"
	}
	return strings.Join(xs, "\n         ")
}

// checkExpr compares exactly, or within one ULP with fuzzy_compare (as promtool).
func checkExpr(suite *promqltest.LazyLoader, mint time.Time, ec ExprCase, fuzzy bool) error {
	ts := mint.Add(time.Duration(ec.EvalTime))
	q, err := suite.QueryEngine().NewInstantQuery(suite.Context(), suite.Queryable(), nil, ec.Expr, ts)
	if err != nil {
		return fmt.Errorf("expr %q: %w", ec.Expr, err)
	}
	defer q.Close()
	res := q.Exec(suite.Context())
	if res.Err != nil {
		return fmt.Errorf("expr %q at %s: %w", ec.Expr, ec.EvalTime, res.Err)
	}
	var vec promql.Vector
	switch v := res.Value.(type) {
	case promql.Vector:
		vec = v
	case promql.Scalar:
		vec = promql.Vector{{F: v.V, Metric: labels.EmptyLabels()}}
	default:
		return fmt.Errorf("expr %q: result is %s, not a vector or scalar", ec.Expr, res.Value.Type())
	}
	type sv struct {
		l string
		v float64
	}
	var got, exp []sv
	for _, s := range vec {
		got = append(got, sv{s.Metric.String(), s.F})
	}
	for _, s := range ec.ExpSamples {
		ls, err := promParser.ParseMetric(s.Labels)
		if err != nil && s.Labels != "" && s.Labels != "{}" {
			return fmt.Errorf("expr %q: exp_samples labels %q: %w", ec.Expr, s.Labels, err)
		}
		exp = append(exp, sv{ls.String(), s.Value})
	}
	sort.Slice(got, func(i, j int) bool { return got[i].l < got[j].l })
	sort.Slice(exp, func(i, j int) bool { return exp[i].l < exp[j].l })
	ok := len(got) == len(exp)
	for i := 0; ok && i < len(got); i++ {
		g, e := got[i].v, exp[i].v
		ok = got[i].l == exp[i].l && (g == e || (fuzzy && (math.Nextafter(e, math.Inf(-1)) == g || math.Nextafter(e, math.Inf(1)) == g)))
	}
	if !ok {
		str := func(xs []sv) string {
			var parts []string
			for _, x := range xs {
				parts = append(parts, fmt.Sprintf("%s %g", x.l, x.v))
			}
			return list(parts)
		}
		return fmt.Errorf("expr %q at %s:\n    exp: %s\n    got: %s", ec.Expr, ec.EvalTime, str(exp), str(got))
	}
	return nil
}
