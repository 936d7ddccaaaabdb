package mixin

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"sort"
	"strings"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/kubepulse/kubepulse/mixin/config"
)

// Problem is one failed built-in check.
type Problem struct {
	File  string
	Where string // rule, alert or panel
	Msg   string
}

func (p Problem) String() string { return fmt.Sprintf("%s: %s: %s", p.File, p.Where, p.Msg) }

// KnownMetrics returns the series names the exporter produces, from the
// metric catalogue (internal/catalog), and the
// ones Prometheus writes for every target (up).
func KnownMetrics() map[string]bool {
	out := map[string]bool{}
	for _, n := range prometheusSeries {
		out[n] = true
	}
	for _, d := range definitions() {
		for _, n := range d.SeriesNames() {
			out[n] = true
		}
	}
	return out
}

var (
	promParser   = parser.NewParser(parser.Options{})
	recordNameRE = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*:[a-zA-Z_][a-zA-Z0-9_]*:[a-zA-Z0-9_]+$`)
	alertNameRE  = regexp.MustCompile(`^[A-Z][a-z0-9]*(?:[A-Z][a-z0-9]*)*$`)
)

// Check runs every built-in check over a generation. known is the set of
// exporter series names (KnownMetrics in production); recording-rule
// outputs are added to it.
func Check(out *Output, known map[string]bool) []Problem {
	var ps []Problem
	names := map[string]bool{}
	for k := range known {
		names[k] = true
	}
	lc := newLabelChecker(out, known)
	ps = append(ps, checkSelector(out)...)
	// Recording rule outputs, from the rendered file: what Prometheus loads.
	recGroups, errs := parseRules(out.Files[FileRules])
	for _, e := range errs {
		ps = append(ps, Problem{FileRules, "rulefmt", e.Error()})
	}
	if recGroups != nil {
		seen := map[string]bool{}
		for _, g := range recGroups.Groups {
			for _, r := range g.Rules {
				key := r.Record + labels.FromMap(r.Labels).String()
				if r.Record != "" && seen[key] {
					ps = append(ps, Problem{FileRules, r.Record, "duplicate recording rule (same name and static labels): its series would flap between expressions"})
				}
				seen[key] = true
			}
		}
		for _, g := range recGroups.Groups {
			for _, r := range g.Rules {
				if r.Record != "" {
					names[r.Record] = true
					if !recordNameRE.MatchString(r.Record) {
						ps = append(ps, Problem{FileRules, r.Record, "recording rule name must be level:metric:operations"})
					}
				}
				if r.Alert != "" {
					ps = append(ps, Problem{FileRules, r.Alert, "alerting rule in the recording rules file"})
				}
			}
		}
	}
	alertGroups, errs := parseRules(out.Files[FileAlerts])
	for _, e := range errs {
		ps = append(ps, Problem{FileAlerts, "rulefmt", e.Error()})
	}
	for _, f := range []struct {
		file string
		rgs  *rulefmt.RuleGroups
	}{{FileRules, recGroups}, {FileAlerts, alertGroups}} {
		if f.rgs == nil {
			continue
		}
		for _, g := range f.rgs.Groups {
			for _, r := range g.Rules {
				where := g.Name + "/" + r.Record + r.Alert
				ps = append(ps, checkExpr(f.file, where, r.Expr, names, lc)...)
				if r.Alert != "" {
					ps = append(ps, checkAlertGuidelines(f.file, r)...)
				}
			}
		}
	}
	for _, p := range out.Paths() {
		if !strings.HasPrefix(p, DirDashboards+"/") {
			continue
		}
		ps = append(ps, checkDashboard(p, out.Files[p], names, lc)...)
	}
	return ps
}

func parseRules(b []byte) (*rulefmt.RuleGroups, []error) {
	return rulefmt.Parse(b, false, model.UTF8Validation, promParser, slog.New(slog.NewTextHandler(io.Discard, nil)))
}

// checkAlertGuidelines applies the mixtool guidelines.
func checkAlertGuidelines(file string, r rulefmt.Rule) []Problem {
	var ps []Problem
	add := func(f string, a ...any) { ps = append(ps, Problem{file, r.Alert, fmt.Sprintf(f, a...)}) }
	if !alertNameRE.MatchString(r.Alert) {
		add("alert name must be CamelCase (letters and digits, starting upper case)")
	}
	if len(r.Alert) > 40 {
		add("alert name is %d characters; at most 40", len(r.Alert))
	}
	if sev := r.Labels["severity"]; !contains(config.Severities, sev) {
		add("severity %q must be one of %s", sev, strings.Join(config.Severities, "|"))
	}
	if s, ok := r.Annotations["summary"]; !ok || s == "" {
		add("summary annotation missing")
	} else if strings.Contains(s, "{{") {
		add("summary must be static (no template); put details in description")
	}
	if d, ok := r.Annotations["description"]; !ok || d == "" {
		add("description annotation missing")
	} else if !strings.Contains(d, "{{") {
		add("description must be templated (use $labels or $value)")
	}
	if r.Annotations["runbook_url"] == "" {
		add("runbook_url annotation missing")
	}
	return ps
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// checkExpr parses expr and reports every selected metric that neither the
// exporter nor a recording rule produces.
func checkExpr(file, where, expr string, names map[string]bool, lc labelChecker) []Problem {
	e, err := promParser.ParseExpr(expr)
	if err != nil {
		return []Problem{{file, where, fmt.Sprintf("PromQL does not parse: %v (query: %s)", err, expr)}}
	}
	var ps []Problem
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		vs, ok := n.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		if msg := unknownMetric(vs, names); msg != "" {
			ps = append(ps, Problem{file, where, msg})
		} else if msg := lc.check(vs); msg != "" {
			ps = append(ps, Problem{file, where, msg})
		}
		return nil
	})
	return ps
}

func unknownMetric(vs *parser.VectorSelector, names map[string]bool) string {
	for _, m := range vs.LabelMatchers {
		if m.Name != labels.MetricName {
			continue
		}
		if m.Type == labels.MatchEqual {
			if !names[m.Value] {
				return fmt.Sprintf("metric %s is produced neither by the exporter (collector.Definitions) nor by a recording rule", m.Value)
			}
			return ""
		}
		for n := range names {
			if m.Matches(n) {
				return ""
			}
		}
		return fmt.Sprintf("metric matcher %s matches no exporter or recorded metric", m)
	}
	return "selector " + vs.String() + " names no metric"
}

// Grafana variables, replaced by values that keep the query valid PromQL:
// intervals by durations, everything else by a plain word (inside quotes it
// is a label value; a regex accepts it).
var (
	varRE       = regexp.MustCompile(`\$\{([a-zA-Z_][a-zA-Z0-9_]*)(?::[a-z]+)?\}|\$([a-zA-Z_][a-zA-Z0-9_]*)|\[\[([a-zA-Z_][a-zA-Z0-9_]*)\]\]`)
	intervalVar = map[string]string{"__rate_interval": "5m", "__interval": "1m", "__range": "1h", "__range_s": "3600", "__interval_ms": "60000"}
	labelValsRE = regexp.MustCompile(`^\s*label_values\((.*),\s*[a-zA-Z_][a-zA-Z0-9_]*\s*\)\s*$`)
)

// SubstituteVars replaces Grafana variables in a query.
func SubstituteVars(q string) string {
	return varRE.ReplaceAllStringFunc(q, func(s string) string {
		sm := varRE.FindStringSubmatch(s)
		name := sm[1] + sm[2] + sm[3]
		if v, ok := intervalVar[name]; ok {
			return v
		}
		return "x"
	})
}

// checkDashboard walks the dashboard JSON (what Grafana will load) for
// panel targets and query variables.
func checkDashboard(file string, b []byte, names map[string]bool, lc labelChecker) []Problem {
	var d map[string]any
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&d); err != nil {
		return []Problem{{file, "json", err.Error()}}
	}
	var ps []Problem
	checkQ := func(where, q string) {
		if strings.Contains(q, "rate(") && !strings.Contains(q, "$__rate_interval") {
			ps = append(ps, Problem{file, where, "rate()/increase() must use [$__rate_interval]"})
		}
		q = SubstituteVars(q)
		if sm := labelValsRE.FindStringSubmatch(q); sm != nil {
			q = sm[1]
		}
		ps = append(ps, checkExpr(file, where, q, names, lc)...)
	}
	var walkPanels func(ps []any)
	walkPanels = func(panels []any) {
		for _, p := range panels {
			pm, _ := p.(map[string]any)
			if pm == nil {
				continue
			}
			title, _ := pm["title"].(string)
			if sub, ok := pm["panels"].([]any); ok {
				walkPanels(sub)
			}
			if pm["type"] != "row" {
				if desc, _ := pm["description"].(string); desc == "" {
					ps = append(ps, Problem{file, "panel " + title, "panel has no description"})
				}
				fc, _ := pm["fieldConfig"].(map[string]any)
				defs, _ := fc["defaults"].(map[string]any)
				if unit, _ := defs["unit"].(string); unit == "" {
					ps = append(ps, Problem{file, "panel " + title, "panel has no unit"})
				}
			}
			targets, _ := pm["targets"].([]any)
			for _, t := range targets {
				tm, _ := t.(map[string]any)
				if expr, ok := tm["expr"].(string); ok {
					checkQ("panel "+title, expr)
				}
			}
		}
	}
	panels, _ := d["panels"].([]any)
	walkPanels(panels)
	tmpl, _ := d["templating"].(map[string]any)
	vars, _ := tmpl["list"].([]any)
	seen := map[string]bool{}
	for _, v := range vars {
		vm, _ := v.(map[string]any)
		name, _ := vm["name"].(string)
		seen[name] = true
		if vm["type"] != "query" {
			continue
		}
		if def, ok := vm["definition"].(string); ok && def != "" {
			checkQ("variable "+name+" definition", def)
		}
		switch qv := vm["query"].(type) {
		case string:
			checkQ("variable "+name, qv)
		case map[string]any:
			if s, ok := qv["query"].(string); ok {
				checkQ("variable "+name, s)
			}
		}
	}
	for _, want := range []string{"datasource", "cluster"} {
		if !seen[want] {
			ps = append(ps, Problem{file, "templating", "missing the " + want + " variable"})
		}
	}
	return ps
}

// SortProblems orders problems for stable output.
func SortProblems(ps []Problem) {
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].String() < ps[j].String() })
}

// labelChecker knows the labels of every exporter series: a matcher on a
// label the series never has selects nothing, silently.
type labelChecker struct {
	labels map[string]map[string]bool // series name -> its labels
	target map[string]bool            // labels Prometheus adds (job, instance, cluster, selector labels)
}

func newLabelChecker(out *Output, known map[string]bool) labelChecker {
	lc := labelChecker{labels: map[string]map[string]bool{}, target: map[string]bool{"job": true, "instance": true}}
	for _, d := range definitions() {
		for _, n := range d.SeriesNames() {
			if !known[n] {
				continue
			}
			ls := map[string]bool{}
			for _, l := range d.Labels {
				ls[l] = true
			}
			if strings.HasSuffix(n, "_bucket") {
				ls["le"] = true
			}
			lc.labels[n] = ls
		}
	}
	if out.Config != nil {
		if c := out.Config.Selectors.ClusterLabel; c != "" {
			lc.target[c] = true
		}
		if ms, err := promParser.ParseMetricSelector("{" + out.Config.Selectors.Kubepulse + "}"); err == nil && strings.TrimSpace(out.Config.Selectors.Kubepulse) != "" {
			for _, m := range ms {
				lc.target[m.Name] = true
			}
		}
	}
	return lc
}

func (lc labelChecker) check(vs *parser.VectorSelector) string {
	ls, ok := lc.labels[vs.Name]
	if !ok {
		return "" // a recorded series: its labels are the rules' business
	}
	for _, m := range vs.LabelMatchers {
		if m.Name == labels.MetricName || ls[m.Name] || lc.target[m.Name] {
			continue
		}
		return fmt.Sprintf("%s has no label %q (its labels: %s)", vs.Name, m.Name, strings.Join(sortedKeys(ls), ", "))
	}
	return ""
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// checkSelector rejects a kubepulse selector on a label the exporter's
// metrics carry themselves (namespace, pod, ...): with honor_labels it
// would filter the data instead of picking the scrape job.
func checkSelector(out *Output) []Problem {
	if out.Config == nil || strings.TrimSpace(out.Config.Selectors.Kubepulse) == "" {
		return nil
	}
	ms, err := promParser.ParseMetricSelector("{" + out.Config.Selectors.Kubepulse + "}")
	if err != nil {
		return []Problem{{"config", "selectors.kubepulse", err.Error()}}
	}
	own := map[string]string{}
	for _, d := range definitions() {
		for _, l := range d.Labels {
			if _, ok := own[l]; !ok {
				own[l] = d.Name
			}
		}
	}
	var ps []Problem
	for _, m := range ms {
		if metric, ok := own[m.Name]; ok {
			ps = append(ps, Problem{"config", "selectors.kubepulse", fmt.Sprintf("matches on %q, a label of the exporter's own metrics (e.g. %s); select the scrape target with job or another target label", m.Name, metric)})
		}
	}
	return ps
}
