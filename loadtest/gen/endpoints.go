package gen

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"sync/atomic"
	"text/tabwriter"
	"time"
)

// maxEndpoints bounds the per-label breakdown: each label holds a histogram
// (~70 KiB), and a targets file with thousands of labels is a list, not a
// report.
const maxEndpoints = 256

// labelStats counts the requests of one label (targets sharing a label are
// one endpoint, as in the metrics). It is shared by all workers: the
// breakdown exists only with several labels, which spread the writes.
type labelStats struct {
	label    string
	targets  []string
	hist     Hist
	ok, fail atomic.Int64
	codes    [600]atomic.Int64
	errs     [numErrKinds]atomic.Int64
}

// newLabelStats groups the targets by label; nil when there is one label or
// more than maxEndpoints.
func newLabelStats(targets []*Target) (stats []*labelStats, index []int) {
	byLabel := map[string]int{}
	for _, t := range targets {
		i, ok := byLabel[t.Label]
		if !ok {
			i = len(stats)
			byLabel[t.Label] = i
			stats = append(stats, &labelStats{label: t.Label})
		}
		stats[i].targets = append(stats[i].targets, t.Method+" "+t.rawURL)
		index = append(index, i)
	}
	if len(stats) < 2 || len(stats) > maxEndpoints {
		return nil, nil
	}
	return stats, index
}

func (l *labelStats) record(lat time.Duration, code int, kind errKind, success bool) {
	l.hist.Record(lat)
	if kind != errNone {
		l.errs[kind].Add(1)
	} else if code > 0 && code < len(l.codes) {
		l.codes[code].Add(1)
	}
	if success {
		l.ok.Add(1)
	} else {
		l.fail.Add(1)
	}
}

// EndpointSummary is the summary of one label's requests.
type EndpointSummary struct {
	Label      string           `json:"label"`
	Targets    []string         `json:"targets"`
	Completed  int64            `json:"completed_requests"`
	Succeeded  int64            `json:"succeeded"`
	Failed     int64            `json:"failed"`
	Throughput float64          `json:"throughput_rps"`
	Latency    LatencySummary   `json:"latency_seconds"`
	Status     map[string]int64 `json:"status_codes"`
	Errors     map[string]int64 `json:"errors"`
}

func (l *labelStats) summary(seconds float64) EndpointSummary {
	e := EndpointSummary{Label: l.label, Targets: l.targets, Succeeded: l.ok.Load(), Failed: l.fail.Load(),
		Status: map[string]int64{}, Errors: map[string]int64{}}
	e.Completed = e.Succeeded + e.Failed
	if seconds > 0 {
		e.Throughput = float64(e.Completed) / seconds
	}
	for c := range l.codes {
		if n := l.codes[c].Load(); n > 0 {
			e.Status[strconv.Itoa(c)] = n
		}
	}
	for k := errKind(1); k < numErrKinds; k++ {
		if n := l.errs[k].Load(); n > 0 {
			e.Errors[k.String()] = n
		}
	}
	h := NewSnapshot()
	h.AddFrom(&l.hist)
	e.Latency = latencyOf(h)
	return e
}

func latencyOf(h *Snapshot) LatencySummary {
	return LatencySummary{
		Min: time.Duration(h.Min).Seconds(), Mean: h.Mean().Seconds(),
		P50: h.Quantile(.50).Seconds(), P90: h.Quantile(.90).Seconds(), P95: h.Quantile(.95).Seconds(),
		P99: h.Quantile(.99).Seconds(), Max: time.Duration(h.Max).Seconds(),
	}
}

// writeEndpoints prints one line per label, sorted by label.
func writeEndpoints(w io.Writer, eps []EndpointSummary) {
	eps = append([]EndpointSummary(nil), eps...)
	sort.Slice(eps, func(i, j int) bool { return eps[i].Label < eps[j].Label })
	d := func(x float64) string { return fmtDur(time.Duration(x * float64(time.Second))) }
	fmt.Fprintf(w, "  per endpoint\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "    label\tcompleted\tfailed\treq/s\tp50\tp90\tp95\tp99\tmax\tstatus\n")
	for _, e := range eps {
		status := fmtCounts(e.Status)
		if len(e.Errors) > 0 && len(e.Status) == 0 {
			status = fmtCounts(e.Errors)
		} else if len(e.Errors) > 0 {
			status += " " + fmtCounts(e.Errors)
		}
		fmt.Fprintf(tw, "    %s\t%d\t%d\t%.1f\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Label, e.Completed, e.Failed, e.Throughput,
			d(e.Latency.P50), d(e.Latency.P90), d(e.Latency.P95), d(e.Latency.P99), d(e.Latency.Max), status)
	}
	_ = tw.Flush()
}
