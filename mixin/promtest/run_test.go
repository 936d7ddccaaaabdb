package promtest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const rulesYAML = `groups:
  - name: rec
    rules:
      - record: job:up:sum
        expr: sum by (job) (up)
  - name: alerts
    rules:
      - alert: JobDown
        expr: job:up:sum == 0
        for: 5m
        labels:
          severity: critical
        annotations:
          summary: Job down.
          description: '{{ $labels.job }} has been down; value {{ $value }}.'
`

func writeFiles(t *testing.T, test string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "rules.yaml"), []byte(rulesYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "test.yaml")
	if err := os.WriteFile(p, []byte(test), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRunFile(t *testing.T) {
	const head = "rule_files: [rules.yaml]\ngroup_eval_order: [rec, alerts]\ntests:\n  - interval: 1m\n    input_series:\n      - series: up{job=\"api\", instance=\"a\"}\n        values: "
	for _, tc := range []struct {
		name string
		test string
		want []string // substrings of the failures, in order; none = pass
	}{
		{"firing as expected", head + `0+0x20
    alert_rule_test:
      - eval_time: 10m
        alertname: JobDown
        exp_alerts:
          - exp_labels: {job: api, severity: critical}
            exp_annotations: {summary: Job down., description: api has been down; value 0.}
`, nil},
		{"quiet as expected", head + `1+0x20
    alert_rule_test:
      - eval_time: 10m
        alertname: JobDown
`, nil},
		{"pending is not firing", head + `0+0x20
    alert_rule_test:
      - eval_time: 3m
        alertname: JobDown
        exp_alerts:
          - exp_labels: {job: api, severity: critical}
`, []string{"alertname: JobDown, time: 3m", "got: (none)"}},
		{"wrong labels", head + `0+0x20
    alert_rule_test:
      - eval_time: 10m
        alertname: JobDown
        exp_alerts:
          - exp_labels: {job: web, severity: critical}
            exp_annotations: {summary: Job down., description: api has been down; value 0.}
`, []string{`exp: {alertname="JobDown", job="web"`}},
		{"expected quiet but fires", head + `0+0x20
    alert_rule_test:
      - eval_time: 10m
        alertname: JobDown
`, []string{"exp: (none)"}},
		{"promql expr test", head + `1+0x20
    promql_expr_test:
      - expr: job:up:sum
        eval_time: 5m
        exp_samples:
          - labels: 'job:up:sum{job="api"}'
            value: 1
`, nil},
		{"promql expr test wrong value", head + `1+0x20
    promql_expr_test:
      - expr: job:up:sum
        eval_time: 5m
        exp_samples:
          - labels: 'job:up:sum{job="api"}'
            value: 2
`, []string{`expr "job:up:sum" at 5m`}},
		{"bad series notation", head + `one two
    alert_rule_test:
      - eval_time: 1m
        alertname: JobDown
`, []string{"input_series"}},
		{"unknown key", "rule_files: [rules.yaml]\ntests:\n  - intervall: 1m\n", []string{"field intervall not found"}},
		{"missing rule file", "rule_files: [nope.yaml]\ntests: []\n", []string{"matches no file"}},
		{"alert test without name", head + `0+0x20
    alert_rule_test:
      - eval_time: 1m
`, []string{"has no alertname"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fails := RunFile(writeFiles(t, tc.test))
			if len(tc.want) == 0 {
				for _, f := range fails {
					t.Errorf("unexpected failure: %v", f)
				}
				return
			}
			if len(fails) == 0 {
				t.Fatal("passed, want a failure")
			}
			msg := fails[0].Error()
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("failure %q does not contain %q", msg, w)
				}
			}
		})
	}
}

// FuzzParse: any bytes give a file or an error, never a panic, and what
// parses renders to the loader's notation without a panic.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"rule_files: [r.yaml]\ntests:\n  - interval: 1m\n    input_series:\n      - series: up{job=\"a\"}\n        values: 0+1x10\n",
		"evaluation_interval: 5m\ntests: []\n", "tests:\n  - alert_rule_test:\n      - eval_time: 1m\n        alertname: X\n",
		"tests: [{intervall: 1m}]", "{", "",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		tf, err := Parse(b)
		if err != nil {
			return
		}
		for _, g := range tf.Tests {
			_ = loadString(g)
		}
	})
}

// A group runs only at multiples of its own interval: a record written
// every 30m is visible (5m lookback) 5 minutes in 30, so an alert on it
// with for: 5m never fires. promtool, which runs every group at every
// evaluation_interval, would pass this test.
func TestGroupIntervalIsHonoured(t *testing.T) {
	for _, tc := range []struct {
		interval string
		fires    bool
	}{{"1m", true}, {"30m", false}} {
		t.Run(tc.interval, func(t *testing.T) {
			rules := strings.Replace(rulesYAML, "  - name: rec\n", "  - name: rec\n    interval: "+tc.interval+"\n", 1)
			test := "rule_files: [rules.yaml]\ngroup_eval_order: [rec, alerts]\ntests:\n  - interval: 1m\n    input_series:\n      - series: up{job=\"api\", instance=\"a\"}\n        values: 0+0x120\n    alert_rule_test:\n      - eval_time: 100m\n        alertname: JobDown\n        exp_alerts:\n          - exp_labels: {job: api, severity: critical}\n            exp_annotations: {summary: Job down., description: api has been down; value 0.}\n"
			p := writeFiles(t, test)
			if err := os.WriteFile(filepath.Join(filepath.Dir(p), "rules.yaml"), []byte(rules), 0o644); err != nil {
				t.Fatal(err)
			}
			fails := RunFile(p)
			if tc.fires && len(fails) > 0 {
				t.Fatalf("record every %s: %v", tc.interval, fails)
			}
			if !tc.fires && (len(fails) == 0 || !strings.Contains(fails[0].Error(), "got: (none)")) {
				t.Fatalf("record every %s: want the alert never to fire, got failures %v", tc.interval, fails)
			}
		})
	}
}
