package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		yaml string
		line int    // line of the first error
		want string // substring of the message
	}{
		{"unknown top-level key", "selectors:\n  job: x\n", 2, `unknown key job not found in type config.Selectors`},
		{"unknown alert key", "alerts:\n  memoryNearLimit:\n    threshhold: 0.8\n", 3, "unknown key threshhold"},
		{"bad duration", "alerts:\n  oomKilled:\n    for: 5minutes\n", 3, `"5minutes" is not a duration`},
		{"bad severity", "alerts:\n  cpuAtLimit:\n    severity: page\n", 3, `severity "page" is not one of critical|warning|info`},
		{"threshold not a number", "alerts:\n  cpuAtLimit:\n    threshold: high\n", 3, "cannot unmarshal"},
		{"negative threshold", "alerts:\n  oomKilled:\n    threshold: -1\n", 3, "alerts.oomKilled.threshold: threshold -1 must be >= 0"},
		{"bad overcommit resource", "alerts:\n  overcommitResources: [cpu, \"GPU pool\"]\n", 2, `"GPU pool" is not a resource name`},
		{"bad cluster label", "selectors:\n  clusterLabel: my-cluster\n", 2, "not a Prometheus label name"},
		{"bad selector", "selectors:\n  kubepulse: job=kubepulse\n", 2, "not a PromQL label matcher list"},
		{"runbook without %s", "alerts:\n  runbookURLPattern: https://x/runbooks\n", 2, "exactly one %s"},
		{"rate window too short", "recording:\n  interval: 1m\n  rateWindow: 1m\n", 3, "at least twice"},
		{"shards are gone", "recording:\n  shards: 9\n", 2, "unknown key shards"},
		{"heavy interval under interval", "recording:\n  interval: 2m\n  rateWindow: 5m\n  heavyInterval: 1m\n", 4, "multiple of recording.interval"},
		{"heavy interval past lookback", "recording:\n  heavyInterval: 5m\n", 2, "under 5m"},
		{"bad namespace", "prometheusRule:\n  namespace: Monitoring\n", 2, "not a Kubernetes namespace name"},
		{"bad rule label key", "prometheusRule:\n  labels:\n    \"bad key\": x\n", 3, "not a Kubernetes label key"},
		{"uid prefix too long", "dashboards:\n  uidPrefix: abcdefghijklmnopqrstuv\n", 2, "at most 21"},
		{"quantile out of range", "recommendations:\n  cpuQuantile: 90\n", 2, "between 0 and 1"},
		{"margin below 1", "recommendations:\n  memoryMargin: 0.5\n", 2, "between 1 and 10"},
		{"unknown workload metric", "autoscaling:\n  workloads:\n    - namespace: a\n      workload: b\n      metric: rps\n      target: 1\n      min: 1\n      max: 2\n", 5, `metric "rps": use one of cpu|log_errors|memory`},
		{"min above max", "autoscaling:\n  workloads:\n    - namespace: a\n      workload: b\n      metric: cpu\n      target: 0.5\n      min: 5\n      max: 2\n", 8, "max 2 must be >= min 5"},
		{"zero target", "autoscaling:\n  workloads:\n    - {namespace: a, workload: b, metric: cpu, min: 1, max: 2}\n", 3, "target 0 must be > 0"},
		{"bad kind", "autoscaling:\n  workloads:\n    - {namespace: a, workload: b, kind: DaemonSet, metric: cpu, target: 1, min: 1, max: 2}\n", 3, `kind "DaemonSet"`},
		{"duplicate workload", "autoscaling:\n  workloads:\n    - {namespace: a, workload: b, metric: cpu, target: 1, min: 1, max: 2}\n    - {namespace: a, workload: b, metric: memory, target: 1, min: 1, max: 2}\n", 4, "listed twice"},
		{"unknown workload key", "autoscaling:\n  workloads:\n    - {namespace: a, name: b}\n", 3, "unknown key name"},
		{"not yaml", "selectors: [\n", 1, "did not find expected"},
		{"two documents", "selectors: {}\n---\nalerts: {}\n", 0, "more than one YAML document"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("mixin.yaml", []byte(tc.yaml))
			if err == nil {
				t.Fatalf("no error for:\n%s", tc.yaml)
			}
			var es Errors
			if !errors.As(err, &es) || len(es) == 0 {
				t.Fatalf("error %v is not config.Errors", err)
			}
			if es[0].File != "mixin.yaml" || es[0].Line != tc.line {
				t.Errorf("error at %s:%d, want mixin.yaml:%d (%v)", es[0].File, es[0].Line, tc.line, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
			if tc.line > 0 && !strings.HasPrefix(err.Error(), "mixin.yaml:") {
				t.Errorf("error %q does not start with file:line", err)
			}
		})
	}
}

func TestParseKeepsDefaults(t *testing.T) {
	cfg, err := Parse("m.yaml", []byte(`
alerts:
  memoryNearLimit:
    threshold: 0.8
  extraLabels: {team: sre}
autoscaling:
  workloads:
    - {namespace: shop, workload: cart, metric: cpu, target: 0.7, min: 2, max: 10}
`))
	if err != nil {
		t.Fatal(err)
	}
	def := Default()
	for _, tc := range []struct {
		name      string
		got, want any
	}{
		{"overridden threshold", *cfg.Alerts.Overrides["memoryNearLimit"].Threshold, 0.8},
		{"for left to the definition", cfg.Alerts.Overrides["memoryNearLimit"].For, (*Duration)(nil)},
		{"severity left to the definition", cfg.Alerts.Overrides["memoryNearLimit"].Severity, (*Severity)(nil)},
		{"other alert untouched", len(cfg.Alerts.Overrides), 1},
		{"overcommit resources default", strings.Join(cfg.Alerts.OvercommitResources, ","), strings.Join(def.Alerts.OvercommitResources, ",")},
		{"selector default", cfg.Selectors.Kubepulse, `job="kubepulse"`},
		{"extra label", cfg.Alerts.ExtraLabels["team"], "sre"},
		{"workload kind defaults to Deployment", cfg.Autoscaling.Workloads[0].Kind, "Deployment"},
		{"recording interval default", time.Duration(cfg.Recording.Interval), time.Minute},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.name, tc.got, tc.want)
		}
	}
}

func TestEmptyFileIsDefaults(t *testing.T) {
	for _, in := range []string{"", "\n# only a comment\n", "{}\n"} {
		cfg, err := Parse("m.yaml", []byte(in))
		if err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		if cfg.Selectors.ClusterLabel != "cluster" || cfg.Dashboards.UIDPrefix != "kubepulse-" {
			t.Errorf("%q: defaults lost: %+v", in, cfg.Selectors)
		}
	}
}

// FuzzParse: any input yields a config or an error naming the file, never a panic.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"", "selectors: {kubepulse: 'job=\"x\"'}\n", "alerts:\n  oomKilled:\n    for: 5m\n",
		"autoscaling:\n  workloads:\n    - {namespace: a, workload: b, metric: cpu, target: 1, min: 1, max: 2}\n",
		"recording: {interval: 1m, rateWindow: 5m}\n", "a: [\n", "alerts: {cpuAtLimit: {severity: page}}",
		"alerts: {overProvisioned: {window: 2h}, overcommitResources: [cpu]}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		_, err := Parse("fuzz.yaml", b)
		if err != nil && !strings.HasPrefix(err.Error(), "fuzz.yaml") {
			t.Fatalf("error does not name the file: %v", err)
		}
	})
}

func TestAlertOverrideApply(t *testing.T) {
	def := Alert{Threshold: 0.9, For: mustDur("15m"), Severity: "warning", Window: mustDur("1d")}
	th, sev, off := 0.8, Severity("critical"), true
	for _, tc := range []struct {
		name string
		o    AlertOverride
		want Alert
	}{
		{"empty override keeps the defaults", AlertOverride{}, def},
		{"threshold", AlertOverride{Threshold: &th}, Alert{Threshold: 0.8, For: def.For, Severity: "warning", Window: def.Window}},
		{"severity and disabled", AlertOverride{Severity: &sev, Disabled: &off}, Alert{Threshold: 0.9, For: def.For, Severity: "critical", Disabled: true, Window: def.Window}},
	} {
		if got := tc.o.Apply(def); got != tc.want {
			t.Errorf("%s: got %+v, want %+v", tc.name, got, tc.want)
		}
	}
}
