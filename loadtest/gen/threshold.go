package gen

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Threshold is a pass/fail criterion checked on the summary at the end of
// a run, in the style of k6: "p99<500ms", "errors<1%", "rps>=100", and
// for one label of a targets file "p95{label=create}<300ms".
type Threshold struct {
	Expr   string
	metric string
	label  string // empty: the whole run
	op     string
	limit  float64 // seconds, a fraction or requests per second
}

type metricKind int

const (
	latencyMetric metricKind = iota // a duration: 500ms, 1.5s, or a bare number of ms as in k6
	rateMetric                      // a share: 1% or 0.01
	rpsMetric                       // requests per second
)

var thresholdMetrics = map[string]metricKind{
	"p50": latencyMetric, "p90": latencyMetric, "p95": latencyMetric, "p99": latencyMetric,
	"min": latencyMetric, "max": latencyMetric, "avg": latencyMetric, "mean": latencyMetric,
	"errors": rateMetric, "dropped": rateMetric, "rps": rpsMetric,
}

const thresholdHelp = "write METRIC OP VALUE, e.g. p99<500ms, errors<1% or rps>=100; METRIC is p50, p90, p95, p99, min, max, avg, errors, dropped or rps, OP is <, <=, > or >=, and METRIC{label=NAME} limits it to one label"

// ParseThreshold reads one --threshold value.
func ParseThreshold(s string) (*Threshold, error) {
	t := &Threshold{Expr: strings.TrimSpace(s)}
	rest := t.Expr
	i := strings.IndexAny(rest, "{<>")
	if i < 0 {
		return nil, fmt.Errorf("threshold %q: no comparison; %s", s, thresholdHelp)
	}
	t.metric, rest = strings.ToLower(strings.TrimSpace(rest[:i])), rest[i:]
	kind, ok := thresholdMetrics[t.metric]
	if !ok {
		return nil, fmt.Errorf("threshold %q: unknown metric %q; %s", s, t.metric, thresholdHelp)
	}
	if strings.HasPrefix(rest, "{") {
		end := strings.IndexByte(rest, '}')
		sel, ok := strings.CutPrefix(strings.TrimSpace(rest[1:max(end, 1)]), "label=")
		if end < 0 || !ok || sel == "" {
			return nil, fmt.Errorf("threshold %q: a selector is {label=NAME}; %s", s, thresholdHelp)
		}
		if t.metric == "dropped" {
			return nil, fmt.Errorf("threshold %q: dropped requests have no label yet (they were never sent); use dropped without {label=…}", s)
		}
		t.label, rest = strings.Trim(sel, `"`), rest[end+1:]
	}
	for _, op := range []string{"<=", ">=", "<", ">"} {
		if strings.HasPrefix(rest, op) {
			t.op, rest = op, strings.TrimSpace(rest[len(op):])
			break
		}
	}
	if t.op == "" {
		return nil, fmt.Errorf("threshold %q: no comparison after %s; %s", s, t.metric, thresholdHelp)
	}
	v, err := parseLimit(kind, rest)
	if err != nil {
		return nil, fmt.Errorf("threshold %q: %v", s, err)
	}
	t.limit = v
	return t, nil
}

func parseLimit(kind metricKind, v string) (float64, error) {
	switch kind {
	case latencyMetric:
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms >= 0 && !math.IsInf(ms, 0) {
			return ms / 1000, nil // a bare number is milliseconds, as in k6
		}
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return 0, fmt.Errorf("%q is not a duration; write it like 500ms or 1.5s", v)
		}
		return d.Seconds(), nil
	case rateMetric:
		pct, isPct := strings.CutSuffix(v, "%")
		f, err := strconv.ParseFloat(strings.TrimSpace(pct), 64)
		if isPct {
			f /= 100
		}
		if err != nil || f < 0 || f > 1 || math.IsNaN(f) {
			return 0, fmt.Errorf("%q is not a share; write it as a percentage like 1%% or a fraction like 0.01", v)
		}
		return f, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 0 || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, fmt.Errorf("%q is not a number of requests per second", v)
	}
	return f, nil
}

// Label is the label the threshold is limited to, or "".
func (t *Threshold) Label() string { return t.label }

// ThresholdResult is a checked threshold, as reported in the summary.
type ThresholdResult struct {
	Threshold string  `json:"threshold"`
	Value     float64 `json:"value"` // seconds, a fraction or req/s
	OK        bool    `json:"ok"`
	Note      string  `json:"note,omitempty"`
	kind      metricKind
	metric    string
}

// Check evaluates the threshold on a summary. A latency or error threshold
// on a run (or label) without a completed request fails: there is nothing
// that shows it holds.
func (t *Threshold) Check(s *Summary) ThresholdResult {
	res := ThresholdResult{Threshold: t.Expr, kind: thresholdMetrics[t.metric], metric: t.metric}
	completed, failed, lat, rps := s.Completed, s.Failed, s.Latency, s.Throughput
	if t.label != "" && len(s.Endpoints) > 0 {
		found := false
		for _, e := range s.Endpoints {
			if e.Label == t.label {
				completed, failed, lat, rps, found = e.Completed, e.Failed, e.Latency, e.Throughput, true
			}
		}
		if !found {
			res.Note = "no request has label " + strconv.Quote(t.label)
			return res
		}
	}
	switch t.metric {
	case "p50":
		res.Value = lat.P50
	case "p90":
		res.Value = lat.P90
	case "p95":
		res.Value = lat.P95
	case "p99":
		res.Value = lat.P99
	case "min":
		res.Value = lat.Min
	case "max":
		res.Value = lat.Max
	case "avg", "mean":
		res.Value = lat.Mean
	case "errors":
		if completed > 0 {
			res.Value = float64(failed) / float64(completed)
		}
	case "dropped":
		if s.Scheduled > 0 {
			res.Value = float64(s.Dropped) / float64(s.Scheduled)
		}
	case "rps":
		res.Value = rps
	}
	if completed == 0 && res.kind != rpsMetric && t.metric != "dropped" {
		res.Note = "no request completed"
		return res
	}
	switch t.op {
	case "<":
		res.OK = res.Value < t.limit
	case "<=":
		res.OK = res.Value <= t.limit
	case ">":
		res.OK = res.Value > t.limit
	case ">=":
		res.OK = res.Value >= t.limit
	}
	return res
}

// CheckThresholds evaluates ts and records the results in s; it reports
// whether all hold.
func (s *Summary) CheckThresholds(ts []*Threshold) bool {
	ok := true
	s.Thresholds = s.Thresholds[:0]
	for _, t := range ts {
		r := t.Check(s)
		ok = ok && r.OK
		s.Thresholds = append(s.Thresholds, r)
	}
	return ok
}

func (r ThresholdResult) valueText() string {
	if r.Note != "" {
		return r.Note
	}
	switch r.kind {
	case latencyMetric:
		return r.metric + " " + fmtDur(time.Duration(r.Value*float64(time.Second)))
	case rateMetric:
		return fmt.Sprintf("%s %.2f%%", r.metric, r.Value*100)
	}
	return fmt.Sprintf("%s %.1f", r.metric, r.Value)
}

func writeThresholds(w io.Writer, rs []ThresholdResult) {
	fmt.Fprintf(w, "  thresholds\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, r := range rs {
		mark := "ok"
		if !r.OK {
			mark = "FAILED"
		}
		fmt.Fprintf(tw, "    %s\t%s\t(%s)\n", mark, r.Threshold, r.valueText())
	}
	_ = tw.Flush()
}
