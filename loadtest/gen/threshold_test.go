package gen

import (
	"strings"
	"testing"
)

func TestParseThreshold(t *testing.T) {
	cases := []struct {
		in     string
		metric string
		label  string
		op     string
		limit  float64
		err    string
	}{
		{in: "p99<500ms", metric: "p99", op: "<", limit: 0.5},
		{in: " P95 <= 1.5s ", metric: "p95", op: "<=", limit: 1.5},
		{in: "avg<200", metric: "avg", op: "<", limit: 0.2}, // a bare number is ms, as in k6
		{in: "errors<1%", metric: "errors", op: "<", limit: 0.01},
		{in: "errors<=0.05", metric: "errors", op: "<=", limit: 0.05},
		{in: "dropped<0.5%", metric: "dropped", op: "<", limit: 0.005},
		{in: "rps>=100", metric: "rps", op: ">=", limit: 100},
		{in: "p90{label=create}<300ms", metric: "p90", label: "create", op: "<", limit: 0.3},
		{in: `p90{label="a b"}>1ms`, metric: "p90", label: "a b", op: ">", limit: 0.001},
		{in: "p99", err: "no comparison"},
		{in: "p98<1s", err: `unknown metric "p98"`},
		{in: "p99=1s", err: "no comparison"},
		{in: "p99<fast", err: "is not a duration"},
		{in: "p99<-1s", err: "is not a duration"},
		{in: "errors<150%", err: "is not a share"},
		{in: "errors<2", err: "is not a share"},
		{in: "rps>lots", err: "not a number of requests per second"},
		{in: "p99{create}<1s", err: "{label=NAME}"},
		{in: "p99{label=x<1s", err: "{label=NAME}"},
		{in: "dropped{label=x}<1%", err: "dropped requests have no label"},
	}
	for _, c := range cases {
		th, err := ParseThreshold(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: err %v, want %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", c.in, err)
			continue
		}
		if th.metric != c.metric || th.label != c.label || th.op != c.op || th.limit != c.limit {
			t.Errorf("%q: got %s{%s} %s %v", c.in, th.metric, th.label, th.op, th.limit)
		}
	}
}

func TestThresholdCheck(t *testing.T) {
	sum := &Summary{
		Completed: 200, Succeeded: 190, Failed: 10, Scheduled: 210, Dropped: 10, Throughput: 50,
		Latency: LatencySummary{Min: 0.001, Mean: 0.02, P50: 0.01, P90: 0.05, P95: 0.08, P99: 0.2, Max: 0.9},
		Endpoints: []EndpointSummary{
			{Label: "home", Completed: 150, Succeeded: 150, Throughput: 37.5, Latency: LatencySummary{P99: 0.05}},
			{Label: "create", Completed: 50, Succeeded: 40, Failed: 10, Throughput: 12.5, Latency: LatencySummary{P99: 0.4}},
		},
	}
	empty := &Summary{Scheduled: 10, Dropped: 10}
	cases := []struct {
		expr string
		sum  *Summary
		ok   bool
		val  float64
	}{
		{"p99<500ms", sum, true, 0.2},
		{"p99<200ms", sum, false, 0.2},
		{"p99<=200ms", sum, true, 0.2},
		{"max>1s", sum, false, 0.9},
		{"min>=1ms", sum, true, 0.001},
		{"avg<30ms", sum, true, 0.02},
		{"errors<5%", sum, false, 0.05},
		{"errors<=5%", sum, true, 0.05},
		{"dropped<5%", sum, true, 10.0 / 210},
		{"rps>=50", sum, true, 50},
		{"p99{label=home}<100ms", sum, true, 0.05},
		{"p99{label=create}<100ms", sum, false, 0.4},
		{"errors{label=create}<1%", sum, false, 0.2},
		{"rps{label=create}>20", sum, false, 12.5},
		{"p99{label=gone}<1s", sum, false, 0},
		{"p99<1s", empty, false, 0}, // nothing completed: nothing shows it holds
		{"errors<1%", empty, false, 0},
		{"dropped<50%", empty, false, 1},
	}
	for _, c := range cases {
		th, err := ParseThreshold(c.expr)
		if err != nil {
			t.Fatal(err)
		}
		r := th.Check(c.sum)
		if r.OK != c.ok || r.Value != c.val || r.Threshold != c.expr {
			t.Errorf("%s: ok=%v value=%v (%s), want ok=%v value=%v", c.expr, r.OK, r.Value, r.Note, c.ok, c.val)
		}
	}
}

// FuzzParseThreshold: any input is parsed or rejected with a message that
// quotes it, and a parsed threshold parses again from its own text to the
// same criterion.
func FuzzParseThreshold(f *testing.F) {
	for _, s := range []string{"p99<500ms", "errors<1%", "rps>=100", "p95{label=create}<=300", "dropped<0.01", "max>1h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		th, err := ParseThreshold(s)
		if err != nil {
			if !strings.Contains(err.Error(), "threshold ") {
				t.Fatalf("%q: error %q does not name the threshold", s, err)
			}
			return
		}
		again, err := ParseThreshold(th.Expr)
		if err != nil || *again != *th {
			t.Fatalf("%q parsed as %+v, its text %q as %+v (%v)", s, th, th.Expr, again, err)
		}
		th.Check(&Summary{})
	})
}
