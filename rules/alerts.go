package rules

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/template"

	"github.com/kubepulse/kubepulse/mixin/config"
	"github.com/kubepulse/kubepulse/mixin/promtest"
)

// Alert group names: one per concern.
const (
	GroupAlertsCapacity = "kubepulse-capacity.alerts"
	GroupAlertsNodes    = "kubepulse-nodes.alerts"
	GroupAlertsPods     = "kubepulse-pods.alerts"
	// Memory and CPU against limits apart: each reads a 300k-series ratio
	// at 150k pods, so each is its own group (about 1.5 s there).
	GroupAlertsContainerMemory = "kubepulse-container-memory.alerts"
	GroupAlertsContainerCPU    = "kubepulse-container-cpu.alerts"
	// Restarts (OOM kills, crash loops) read only the few terminated or
	// waiting containers.
	GroupAlertsRestarts = "kubepulse-container-restarts.alerts"
	GroupAlertsWorkload = "kubepulse-workload.alerts"
	GroupAlertsLogs     = "kubepulse-logs.alerts"
	GroupAlertsLoadTest = "kubepulse-loadtest.alerts"
	GroupAlertsHPA      = "kubepulse-hpa.alerts"
	GroupAlertsExporter = "kubepulse-exporter.alerts"
)

// AlertTest is the generated promtool test of one alert.
type AlertTest struct {
	Alert string
	File  promtest.File
}

// tcase describes an alert's test: the firing inputs, the quiet inputs
// (one test group each), when to look, the labels the alert must carry
// and the value its annotations render with.
type tcase struct {
	fire  []promtest.Series
	quiet [][]promtest.Series
	// at is the eval time; default the alert's for + 5m.
	at     string
	labels map[string]string
	value  float64
	// valueIsEvalTime: the alert's value is the eval time in seconds.
	valueIsEvalTime bool
}

// q lists quiet cases.
func q(cases ...[]promtest.Series) [][]promtest.Series { return cases }

// in lists input series.
func in(ss ...promtest.Series) []promtest.Series { return ss }

// AlertSpec defines one alert in one place: its config key, its default
// settings, its group, and (build) its rule and test case.
type AlertSpec struct {
	Key     string
	Name    string
	Group   string
	Default config.Alert
	// Ratio: the threshold is a ratio (0.9 = 90%).
	Ratio bool
	// HasWindow: the alert compares against Window of history.
	HasWindow bool
	build     func(x *b, n Names, a config.Alert) (expr string, ann map[string]string, t tcase)
}

// removedAlerts are keys of alerts that are gone, with what replaced them.
var removedAlerts = map[string]string{
	"restartStorm": "it is replaced by crashLooping (kubepulse_container_waiting_reason), which a steady CrashLoopBackOff always fires",
}

// ResolveAlerts returns the effective settings of every alert: each
// definition's defaults with the config's override. An override for a key
// no alert has is an error naming the valid keys.
func ResolveAlerts(cfg *config.Config) (map[string]config.Alert, error) {
	specs := Alerts()
	byKey := map[string]AlertSpec{}
	var keys []string
	for _, sp := range specs {
		byKey[sp.Key] = sp
		keys = append(keys, sp.Key)
	}
	sort.Strings(keys)
	var errs config.Errors
	var okeys []string
	for k := range cfg.Alerts.Overrides {
		okeys = append(okeys, k)
	}
	sort.Strings(okeys)
	for _, k := range okeys {
		o := cfg.Alerts.Overrides[k]
		sp, ok := byKey[k]
		switch {
		case !ok && removedAlerts[k] != "":
			errs = append(errs, cfg.Errorf([]string{"alerts", k}, "this alert was removed: %s", removedAlerts[k]))
		case !ok:
			errs = append(errs, cfg.Errorf([]string{"alerts", k}, "no alert has this key; valid keys: %s", strings.Join(keys, ", ")))
		case sp.Ratio && o.Threshold != nil && *o.Threshold > 10:
			errs = append(errs, cfg.Errorf([]string{"alerts", k, "threshold"}, "threshold %v is a ratio; use e.g. 0.9 for 90%%", *o.Threshold))
		case !sp.HasWindow && o.Window != nil:
			errs = append(errs, cfg.Errorf([]string{"alerts", k, "window"}, "%s compares no history; window applies only to %s", k, strings.Join(windowKeys(specs), ", ")))
		case o.Window != nil && *o.Window <= 0:
			errs = append(errs, cfg.Errorf([]string{"alerts", k, "window"}, "window must be > 0"))
		}
	}
	if len(errs) > 0 {
		sort.SliceStable(errs, func(i, j int) bool { return errs[i].Line < errs[j].Line })
		return nil, errs
	}
	out := map[string]config.Alert{}
	for _, sp := range specs {
		out[sp.Key] = cfg.Alerts.Overrides[sp.Key].Apply(sp.Default)
	}
	return out, nil
}

func windowKeys(specs []AlertSpec) []string {
	var out []string
	for _, sp := range specs {
		if sp.HasWindow {
			out = append(out, sp.Key)
		}
	}
	return out
}

// seriesLabels are the labels every test input series carries: the
// equality matchers of the kubepulse selector, the cluster and an instance.
func (x *b) seriesLabels() map[string]string {
	out := map[string]string{"instance": "kubepulse-0"}
	if x.c != "" {
		out[x.c] = "c1"
	}
	if s := strings.TrimSpace(x.cfg.Selectors.Kubepulse); s != "" {
		if ms, err := parser.NewParser(parser.Options{}).ParseMetricSelector("{" + s + "}"); err == nil {
			for _, m := range ms {
				if m.Type == labels.MatchEqual {
					out[m.Name] = m.Value
				}
			}
		}
	}
	return out
}

// ser renders one input series: metric{common labels, kv...}.
func (x *b) ser(metric, values string, kv ...string) promtest.Series {
	ls := x.seriesLabels()
	for i := 0; i+1 < len(kv); i += 2 {
		ls[kv[i]] = kv[i+1]
	}
	keys := make([]string, 0, len(ls))
	for k := range ls {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%q", k, ls[k])
	}
	return promtest.Series{Series: metric + "{" + strings.Join(parts, ", ") + "}", Values: values}
}

// exp returns the expected alert labels: kv plus the cluster label.
func (x *b) exp(kv ...string) map[string]string {
	out := map[string]string{}
	if x.c != "" {
		out[x.c] = "c1"
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

func fmtNum(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

func (s *Set) buildAlerts(x *b, n Names, settings map[string]config.Alert) {
	cfg := x.cfg
	groups := map[string]*rulefmt.RuleGroup{}
	var order []string
	for _, sp := range Alerts() {
		ac := settings[sp.Key]
		if ac.Disabled {
			continue
		}
		expr, ann, tc := sp.build(x, n, ac)
		r := rulefmt.Rule{Alert: sp.Name, Expr: expr, For: model.Duration(ac.For), Annotations: ann,
			Labels: map[string]string{"severity": string(ac.Severity)}}
		for k, v := range cfg.Alerts.ExtraLabels {
			r.Labels[k] = v
		}
		r.Annotations["runbook_url"] = fmt.Sprintf(cfg.Alerts.RunbookURLPattern, strings.ToLower(r.Alert))
		g, ok := groups[sp.Group]
		if !ok {
			// An explicit interval: the tests evaluate each group at the
			// interval it really has.
			g = &rulefmt.RuleGroup{Name: sp.Group, Interval: model.Duration(cfg.Recording.Interval)}
			groups[sp.Group] = g
			order = append(order, sp.Group)
		}
		g.Rules = append(g.Rules, r)
		s.Tests = append(s.Tests, AlertTest{Alert: r.Alert, File: s.alertTestFile(r, ac, tc)})
	}
	for _, name := range order {
		s.Alerts = append(s.Alerts, *groups[name])
	}
	// Tests are written after all groups exist: fix their group order.
	for i := range s.Tests {
		s.Tests[i].File.GroupEvalOrder = s.GroupOrder()
	}
}

// alertTestFile builds the two-case test of one alert. The eval time is
// the alert's `for` plus a margin unless the case sets it.
func (s *Set) alertTestFile(r rulefmt.Rule, ac config.Alert, t tcase) promtest.File {
	// Prometheus's rate() ramps up over its first window after a series
	// starts, so a longer rate window moves the check later.
	shift := max(0, time.Duration(s.rateWindow)-5*time.Minute)
	atD := model.Duration(time.Duration(ac.For) + 5*time.Minute + shift)
	if t.at != "" {
		d, err := model.ParseDuration(t.at)
		if err != nil {
			panic(fmt.Sprintf("rules: test of %s: bad eval time %q", r.Alert, t.at))
		}
		atD = d + model.Duration(shift)
	}
	if t.valueIsEvalTime {
		t.value = time.Duration(atD).Seconds()
	}
	if time.Duration(atD) < time.Duration(ac.For)+time.Minute {
		// A longer configured `for` moves the check later; the inputs
		// are long enough for the default only, so the case may fail and
		// says so rather than passing silently.
		atD = model.Duration(time.Duration(ac.For) + time.Minute)
	}
	lbls := map[string]string{}
	for k, v := range t.labels {
		lbls[k] = v
	}
	for k, v := range r.Labels {
		lbls[k] = v
	}
	ann := renderAnnotations(r, lbls, t.value)
	// The evaluation interval is the recording interval, the smallest
	// group interval: the in-process runner evaluates every group only at
	// multiples of its own interval, as Prometheus does.
	f := promtest.File{
		RuleFiles:          []string{"../prometheus_rules.yaml", "../prometheus_alerts.yaml"},
		EvaluationInterval: model.Duration(s.evalInterval),
		Tests: []promtest.Group{
			{Name: r.Alert + " fires", Interval: s.testInterval(), InputSeries: resample(t.fire, s.testSteps),
				AlertRuleTests: []promtest.AlertCase{{EvalTime: atD, Alertname: r.Alert, ExpAlerts: []promtest.ExpAlert{{ExpLabels: lbls, ExpAnnotations: ann}}}}},
		},
	}
	for i, quiet := range t.quiet {
		name := r.Alert + " stays quiet"
		if len(t.quiet) > 1 {
			name += fmt.Sprintf(" (%d)", i+1)
		}
		f.Tests = append(f.Tests, promtest.Group{Name: name, Interval: s.testInterval(), InputSeries: resample(quiet, s.testSteps),
			AlertRuleTests: []promtest.AlertCase{{EvalTime: atD, Alertname: r.Alert}}})
	}
	return f
}

// renderAnnotations expands the annotation templates the way the rules
// manager does, for the expected side of a test.
func renderAnnotations(r rulefmt.Rule, lbls map[string]string, value float64) map[string]string {
	defs := "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL := .ExternalURL}}{{$value := .Value}}"
	out := map[string]string{}
	for k, text := range r.Annotations {
		data := template.AlertTemplateData(lbls, nil, "", promql.Sample{F: value})
		e := template.NewTemplateExpander(context.Background(), defs+text, "__alert_"+r.Alert, data, 0, nil, nil, nil)
		v, err := e.Expand()
		if err != nil {
			v = fmt.Sprintf("<error expanding template: %s>", err)
		}
		out[k] = v
	}
	return out
}

func humanDur(sec float64) string {
	d := time.Duration(sec * float64(time.Second))
	return d.String()
}

func humanPct(f float64) string {
	return strconv.FormatFloat(math.Round(f*1e6)/1e4, 'f', -1, 64) + "%"
}
