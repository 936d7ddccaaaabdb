// Package config is the mixin's configuration, the Go counterpart of
// kubernetes-mixin's _config: selectors, thresholds, durations, severities,
// the runbook URL pattern, PrometheusRule labels, dashboard placement and the
// workloads to autoscale. Every key has a default (Default), and Load rejects
// an unknown key or a bad value with the file, the line and the reason.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"gopkg.in/yaml.v3"
)

// Config is the whole mixin configuration. YAML keys are camelCase like
// kubernetes-mixin's.
type Config struct {
	Selectors       Selectors       `yaml:"selectors"`
	Alerts          Alerts          `yaml:"alerts"`
	Recording       Recording       `yaml:"recording"`
	PrometheusRule  PrometheusRule  `yaml:"prometheusRule"`
	Dashboards      Dashboards      `yaml:"dashboards"`
	Autoscaling     Autoscaling     `yaml:"autoscaling"`
	Recommendations Recommendations `yaml:"recommendations"`

	// Where the config came from, for errors found after parsing
	// (an unknown alert key): the file name and its YAML tree.
	file string
	root *yaml.Node
}

// Errorf returns an error at the line of path in the parsed file (no line
// for a default config).
func (c *Config) Errorf(path []string, format string, a ...any) *Error {
	file := c.file
	if file == "" {
		file = "config"
	}
	line := 0
	if c.root != nil {
		line = lineOf(c.root, path...)
	}
	return &Error{File: file, Line: line, Msg: strings.Join(path, ".") + ": " + fmt.Sprintf(format, a...)}
}

// Selectors choose the kubepulse series and name the cluster label.
type Selectors struct {
	// Kubepulse is a PromQL label matcher list added to every raw exporter
	// selector, e.g. `job="kubepulse"`.
	Kubepulse string `yaml:"kubepulse"`
	// ClusterLabel is kept through every aggregation so that one Prometheus
	// (or Thanos) can hold several clusters.
	ClusterLabel string `yaml:"clusterLabel"`
	// LogErrorRules selects the log rules (label `rule` of
	// kubepulse_log_matches_total) that count as errors.
	LogErrorRules string `yaml:"logErrorRules"`
	// APIServerSources selects the apiserver list/watch sources (label
	// `source` of kubepulse_source_up: nodes, pods, replicasets, jobs, hpas).
	APIServerSources string `yaml:"apiserverSources"`
}

// Alert is one alert's effective settings: its definition's defaults
// (rules.Alerts) with the config's override applied.
type Alert struct {
	Threshold float64
	For       Duration
	Severity  Severity
	Disabled  bool
	// Window is the look-back of alerts that compare against history
	// (overProvisioned, logErrorSpike); 0 for the others.
	Window Duration
}

// AlertOverride is what a config file may set for one alert; unset fields
// keep the definition's defaults.
type AlertOverride struct {
	Threshold *float64  `yaml:"threshold"`
	For       *Duration `yaml:"for"`
	Severity  *Severity `yaml:"severity"`
	Disabled  *bool     `yaml:"disabled"`
	Window    *Duration `yaml:"window"`
}

// Apply returns def with o's fields set over it.
func (o AlertOverride) Apply(def Alert) Alert {
	if o.Threshold != nil {
		def.Threshold = *o.Threshold
	}
	if o.For != nil {
		def.For = *o.For
	}
	if o.Severity != nil {
		def.Severity = *o.Severity
	}
	if o.Disabled != nil {
		def.Disabled = *o.Disabled
	}
	if o.Window != nil {
		def.Window = *o.Window
	}
	return def
}

// Alerts holds the shared alert settings and one override per alert key.
// The keys, defaults and expressions live with each alert's definition
// (package rules); rules.ResolveAlerts rejects a key no alert has.
type Alerts struct {
	// RunbookURLPattern has one %s, replaced by the lower-case alert name.
	RunbookURLPattern string `yaml:"runbookURLPattern"`
	// ExtraLabels are added to every alert (e.g. team: sre).
	ExtraLabels map[string]string `yaml:"extraLabels"`
	// OvercommitResources are the node resources the overcommit alerts
	// (nodeRequestsOverAllocatable, clusterCannotLoseNode) watch. A fully
	// allocated GPU or ephemeral-storage pool is normal, so only cpu and
	// memory by default.
	OvercommitResources []string `yaml:"overcommitResources"`
	// Overrides maps an alert key (e.g. memoryNearLimit) to its settings.
	Overrides map[string]AlertOverride `yaml:",inline"`
}

// HeavyEvery is the interval of the heavy groups: HeavyInterval, or
// Interval when unset.
func (r Recording) HeavyEvery() Duration {
	if r.HeavyInterval == 0 {
		return r.Interval
	}
	return r.HeavyInterval
}

// Recording tunes the recording rule groups.
type Recording struct {
	Interval Duration `yaml:"interval"`
	// HeavyInterval is the interval of the groups that read per-container
	// series (hundreds of thousands at large scale). Raising it (e.g. 2m)
	// halves their CPU; it must stay under Prometheus's 5m lookback so the
	// records they write never go stale between evaluations. 0 (the
	// default): recording.interval.
	HeavyInterval Duration `yaml:"heavyInterval"`
	// RateWindow is the window of the rate() behind the usage rules.
	RateWindow Duration `yaml:"rateWindow"`
}

// MaxUID is Grafana's limit on a dashboard uid; MaxDashboardName is the
// longest dashboard name the generator appends to dashboards.uidPrefix
// (workload-efficiency; the dashboards package tests that it is).
const (
	MaxUID           = 40
	MaxDashboardName = 19
)

// PrometheusRule places the PrometheusRule objects.
type PrometheusRule struct {
	Name      string            `yaml:"name"`
	Namespace string            `yaml:"namespace"`
	Labels    map[string]string `yaml:"labels"`
}

// Dashboards places the Grafana dashboards.
type Dashboards struct {
	Folder     string   `yaml:"folder"`
	UIDPrefix  string   `yaml:"uidPrefix"`
	Datasource string   `yaml:"datasource"`
	Namespace  string   `yaml:"namespace"`
	Refresh    string   `yaml:"refresh"`
	Tags       []string `yaml:"tags"`
}

// Autoscaling configures prometheus-adapter, KEDA and the HPAs.
type Autoscaling struct {
	// PrometheusURL is KEDA's serverAddress.
	PrometheusURL string     `yaml:"prometheusURL"`
	Workloads     []Workload `yaml:"workloads"`
}

// Workload is one workload to autoscale.
type Workload struct {
	Namespace string `yaml:"namespace"`
	// Name is the workload (Deployment, StatefulSet) name.
	Name string `yaml:"workload"`
	Kind string `yaml:"kind"`
	// Metric is one of Metrics.
	Metric string  `yaml:"metric"`
	Target float64 `yaml:"target"`
	Min    int32   `yaml:"min"`
	Max    int32   `yaml:"max"`
}

// Recommendations tunes the "recommended request" rules.
type Recommendations struct {
	CPUQuantile  float64  `yaml:"cpuQuantile"`
	CPUMargin    float64  `yaml:"cpuMargin"`
	MemoryMargin float64  `yaml:"memoryMargin"`
	Window       Duration `yaml:"window"`
	// Interval is the slow group's evaluation interval; its rules read Window
	// of the group's own hourly-ish series, not of raw samples.
	Interval Duration `yaml:"interval"`
}

// Metrics are the autoscaling metrics a workload can use and what Target means.
var Metrics = map[string]string{
	"cpu":        "CPU usage / CPU requests of the workload (0.7 = 70%)",
	"memory":     "memory working set / memory requests of the workload",
	"log_errors": "log error lines per second, summed over the workload's pods",
}

// Default returns the documented defaults (docs/mixin.md lists them).
func Default() Config {
	return Config{
		Selectors: Selectors{
			Kubepulse:        `job="kubepulse"`,
			ClusterLabel:     "cluster",
			LogErrorRules:    `rule=~".+"`,
			APIServerSources: `source=~".+"`,
		},
		Alerts: Alerts{
			RunbookURLPattern:   "https://github.com/kubepulse/kubepulse/blob/main/docs/mixin.md#%s",
			OvercommitResources: []string{"cpu", "memory"},
		},
		Recording: Recording{Interval: mustDur("1m"), RateWindow: mustDur("5m")},
		PrometheusRule: PrometheusRule{
			Name:      "kubepulse",
			Namespace: "monitoring",
		},
		Dashboards: Dashboards{
			Folder:     "kubepulse",
			UIDPrefix:  "kubepulse-",
			Datasource: "prometheus",
			Namespace:  "monitoring",
			Refresh:    "30s",
			Tags:       []string{"kubepulse"},
		},
		Autoscaling: Autoscaling{
			PrometheusURL: "http://prometheus-operated.monitoring.svc:9090",
		},
		Recommendations: Recommendations{
			CPUQuantile:  0.9,
			CPUMargin:    1.15,
			MemoryMargin: 1.2,
			Window:       mustDur("7d"),
			Interval:     mustDur("30m"),
		},
	}
}

// Duration is a Prometheus duration (30s, 5m, 1h, 7d) that reports its line
// when it does not parse.
type Duration model.Duration

func mustDur(s string) Duration {
	d, err := model.ParseDuration(s)
	if err != nil {
		panic(err)
	}
	return Duration(d)
}

// String renders the duration the way Prometheus does (1h, 5m, 0s).
func (d Duration) String() string { return model.Duration(d).String() }

// Seconds returns the duration in seconds.
func (d Duration) Seconds() float64 { return time.Duration(d).Seconds() }

// UnmarshalYAML implements yaml.Unmarshaler.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := model.ParseDuration(n.Value)
	if n.Kind != yaml.ScalarNode || err != nil {
		return &lineError{line: n.Line, msg: fmt.Sprintf("%q is not a duration; use a number and a unit, e.g. 30s, 5m, 1h, 7d", n.Value)}
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML implements yaml.Marshaler.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// Severity is one of critical|warning|info (the mixtool guideline).
type Severity string

// Severities are the allowed values.
var Severities = []string{"critical", "warning", "info"}

// UnmarshalYAML implements yaml.Unmarshaler.
func (s *Severity) UnmarshalYAML(n *yaml.Node) error {
	for _, ok := range Severities {
		if n.Kind == yaml.ScalarNode && n.Value == ok {
			*s = Severity(n.Value)
			return nil
		}
	}
	return &lineError{line: n.Line, msg: fmt.Sprintf("severity %q is not one of %s", n.Value, strings.Join(Severities, "|"))}
}

type lineError struct {
	line int
	msg  string
}

func (e *lineError) Error() string { return fmt.Sprintf("line %d: %s", e.line, e.msg) }

// Error is a configuration error at a file and line.
type Error struct {
	File string
	Line int
	Msg  string
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// Errors is every problem found in one file.
type Errors []*Error

func (es Errors) Error() string {
	s := make([]string, len(es))
	for i, e := range es {
		s[i] = e.Error()
	}
	return strings.Join(s, "\n")
}

// LoadFile reads and validates a config file over the defaults.
func LoadFile(path string) (Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Config{}, err
	}
	return Parse(path, b)
}

var yamlLineRE = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

// Parse decodes b (named file in errors) over the defaults, strictly.
func Parse(file string, b []byte) (Config, error) {
	cfg := Default()
	if len(bytes.TrimSpace(b)) == 0 {
		return cfg, nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
		return Config{}, yamlErrors(file, err)
	}
	var extra any
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return Config{}, Errors{{File: file, Msg: "more than one YAML document; put the whole config in one document"}}
	}
	var root yaml.Node
	if err := yaml.Unmarshal(b, &root); err != nil {
		return Config{}, yamlErrors(file, err)
	}
	if errs := cfg.validate(file, &root); len(errs) > 0 {
		return Config{}, errs
	}
	cfg.file, cfg.root = file, &root
	return cfg, nil
}

func yamlErrors(file string, err error) error {
	var msgs []string
	var te *yaml.TypeError
	var le *lineError
	switch {
	case errors.As(err, &te):
		msgs = te.Errors
	case errors.As(err, &le):
		msgs = []string{le.Error()}
	default:
		msgs = []string{err.Error()}
	}
	var out Errors
	for _, m := range msgs {
		e := &Error{File: file, Msg: m}
		if sm := yamlLineRE.FindStringSubmatch(m); sm != nil {
			e.Line, _ = strconv.Atoi(sm[1])
			e.Msg = sm[2]
		}
		if strings.Contains(e.Msg, "not found in type") {
			e.Msg = strings.Replace(e.Msg, "field ", "unknown key ", 1) + "; check the spelling against docs/mixin.md"
		}
		out = append(out, e)
	}
	return out
}

// lineOf finds the line of a key path (map keys, or "#N" for a list index)
// in the document; 0 when absent (the value is a default).
func lineOf(root *yaml.Node, path ...string) int {
	n := root
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	line := 0
	for _, p := range path {
		found := false
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == p {
					line = n.Content[i].Line
					n = n.Content[i+1]
					found = true
					break
				}
			}
		case yaml.SequenceNode:
			if idx, err := strconv.Atoi(strings.TrimPrefix(p, "#")); err == nil && idx < len(n.Content) {
				n = n.Content[idx]
				line = n.Line
				found = true
			}
		}
		if !found {
			return line
		}
	}
	return line
}

var (
	labelNameRE = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
	dnsLabelRE  = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	dnsNameRE   = regexp.MustCompile(`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`)
	uidRE       = regexp.MustCompile(`^[a-zA-Z0-9_-]*$`)
	kinds       = []string{"Deployment", "StatefulSet", "ReplicaSet"}
	// resourceNameRE: a Kubernetes resource name, optionally domain-prefixed.
	resourceNameRE = regexp.MustCompile(`^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[a-z0-9]([-a-z0-9._]*[a-z0-9])?$`)
)

func (c *Config) validate(file string, root *yaml.Node) Errors {
	var errs Errors
	add := func(msg string, path ...string) {
		errs = append(errs, &Error{File: file, Line: lineOf(root, path...), Msg: strings.Join(path, ".") + ": " + msg})
	}
	if c.Selectors.ClusterLabel != "" && !labelNameRE.MatchString(c.Selectors.ClusterLabel) {
		add(fmt.Sprintf("%q is not a Prometheus label name", c.Selectors.ClusterLabel), "selectors", "clusterLabel")
	}
	for _, s := range []struct{ key, v string }{
		{"kubepulse", c.Selectors.Kubepulse}, {"logErrorRules", c.Selectors.LogErrorRules}, {"apiserverSources", c.Selectors.APIServerSources},
	} {
		if err := checkMatchers(s.v); err != nil {
			add(fmt.Sprintf("%q is not a PromQL label matcher list like job=\"kubepulse\": %v", s.v, err), "selectors", s.key)
		}
	}
	if strings.Count(c.Alerts.RunbookURLPattern, "%s") != 1 || strings.Count(c.Alerts.RunbookURLPattern, "%") != 1 {
		add(fmt.Sprintf("%q must contain exactly one %%s (the alert name) and no other %%", c.Alerts.RunbookURLPattern), "alerts", "runbookURLPattern")
	}
	for k := range c.Alerts.ExtraLabels {
		if !labelNameRE.MatchString(k) || k == "severity" || k == "alertname" {
			add(fmt.Sprintf("%q is not an allowed label name (severity and alertname are set per alert)", k), "alerts", "extraLabels", k)
		}
	}
	for i, r := range c.Alerts.OvercommitResources {
		if !resourceNameRE.MatchString(r) {
			add(fmt.Sprintf("%q is not a resource name like cpu, memory or nvidia.com/gpu", r), "alerts", "overcommitResources", fmt.Sprintf("#%d", i))
		}
	}
	for k, o := range c.Alerts.Overrides {
		if o.Threshold != nil && !(*o.Threshold >= 0) {
			add(fmt.Sprintf("threshold %v must be >= 0", *o.Threshold), "alerts", k, "threshold")
		}
	}
	if c.Recording.Interval <= 0 {
		add("must be > 0", "recording", "interval")
	}
	if c.Recording.RateWindow < 2*c.Recording.Interval {
		add(fmt.Sprintf("%s must be at least twice recording.interval (%s) so rate() has two samples", c.Recording.RateWindow, c.Recording.Interval), "recording", "rateWindow")
	}
	if c.Recording.HeavyInterval != 0 && c.Recording.HeavyInterval < c.Recording.Interval || c.Recording.Interval > 0 && c.Recording.HeavyInterval%c.Recording.Interval != 0 || c.Recording.HeavyInterval >= Duration(5*time.Minute) {
		add(fmt.Sprintf("%s must be a multiple of recording.interval (%s) and under 5m (Prometheus's lookback: its records must not go stale between evaluations)", c.Recording.HeavyInterval, c.Recording.Interval), "recording", "heavyInterval")
	}
	if !dnsNameRE.MatchString(c.PrometheusRule.Name) || len(c.PrometheusRule.Name) > 240 {
		add(fmt.Sprintf("%q is not a Kubernetes object name (lower case, digits, - and .)", c.PrometheusRule.Name), "prometheusRule", "name")
	}
	for _, ns := range []struct {
		path []string
		v    string
	}{{[]string{"prometheusRule", "namespace"}, c.PrometheusRule.Namespace}, {[]string{"dashboards", "namespace"}, c.Dashboards.Namespace}} {
		if !dnsLabelRE.MatchString(ns.v) {
			add(fmt.Sprintf("%q is not a Kubernetes namespace name", ns.v), ns.path...)
		}
	}
	for k := range c.PrometheusRule.Labels {
		if !validK8sLabelKey(k) {
			add(fmt.Sprintf("%q is not a Kubernetes label key", k), "prometheusRule", "labels", k)
		}
	}
	if max := MaxUID - MaxDashboardName; !uidRE.MatchString(c.Dashboards.UIDPrefix) || len(c.Dashboards.UIDPrefix) > max {
		add(fmt.Sprintf("%q: use at most %d letters, digits, - or _ (Grafana uids are at most %d characters, and the longest dashboard name adds %d)", c.Dashboards.UIDPrefix, max, MaxUID, MaxDashboardName), "dashboards", "uidPrefix")
	}
	if c.Dashboards.Datasource == "" {
		add("must name the default Prometheus datasource", "dashboards", "datasource")
	}
	if c.Dashboards.Folder == "" {
		add("must not be empty", "dashboards", "folder")
	}
	if c.Recommendations.CPUQuantile <= 0 || c.Recommendations.CPUQuantile >= 1 {
		add(fmt.Sprintf("%v must be between 0 and 1, e.g. 0.9", c.Recommendations.CPUQuantile), "recommendations", "cpuQuantile")
	}
	for _, m := range []struct {
		k string
		v float64
	}{{"cpuMargin", c.Recommendations.CPUMargin}, {"memoryMargin", c.Recommendations.MemoryMargin}} {
		if m.v < 1 || m.v > 10 {
			add(fmt.Sprintf("%v must be between 1 and 10 (1.2 = 20%% headroom)", m.v), "recommendations", m.k)
		}
	}
	if c.Recommendations.Interval <= 0 || c.Recommendations.Window < 4*c.Recommendations.Interval {
		add(fmt.Sprintf("window %s must be at least 4 × interval %s", c.Recommendations.Window, c.Recommendations.Interval), "recommendations", "window")
	}
	seen := map[string]int{}
	for i := range c.Autoscaling.Workloads {
		w := &c.Autoscaling.Workloads[i]
		idx := fmt.Sprintf("#%d", i)
		p := func(k string) []string { return []string{"autoscaling", "workloads", idx, k} }
		if w.Kind == "" {
			w.Kind = "Deployment"
		}
		if !dnsLabelRE.MatchString(w.Namespace) {
			add(fmt.Sprintf("%q is not a Kubernetes namespace name", w.Namespace), p("namespace")...)
		}
		if !dnsNameRE.MatchString(w.Name) {
			add(fmt.Sprintf("%q is not a Kubernetes object name", w.Name), p("workload")...)
		}
		if !contains(kinds, w.Kind) {
			add(fmt.Sprintf("kind %q: use one of %s", w.Kind, strings.Join(kinds, "|")), p("kind")...)
		}
		if _, ok := Metrics[w.Metric]; !ok {
			add(fmt.Sprintf("metric %q: use one of %s", w.Metric, strings.Join(MetricNames(), "|")), p("metric")...)
		}
		if !(w.Target > 0) {
			add(fmt.Sprintf("target %v must be > 0", w.Target), p("target")...)
		}
		if w.Min < 1 {
			add(fmt.Sprintf("min %d must be >= 1", w.Min), p("min")...)
		}
		if w.Max < w.Min {
			add(fmt.Sprintf("max %d must be >= min %d", w.Max, w.Min), p("max")...)
		}
		key := w.Namespace + "/" + w.Name
		if j, dup := seen[key]; dup {
			add(fmt.Sprintf("%s is listed twice (also item %d); one HPA per workload", key, j), p("workload")...)
		}
		seen[key] = i
	}
	sort.SliceStable(errs, func(i, j int) bool { return errs[i].Line < errs[j].Line })
	return errs
}

// MetricNames lists Metrics' keys, sorted.
func MetricNames() []string {
	out := make([]string, 0, len(Metrics))
	for k := range Metrics {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

var matcherRE = regexp.MustCompile(`^\s*[a-zA-Z_][a-zA-Z0-9_]*\s*(=~|!~|!=|=)\s*"(?:[^"\\]|\\.)*"\s*$`)

// checkMatchers accepts a comma-separated list of label matchers (or "").
func checkMatchers(s string) error {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	for _, part := range splitMatchers(s) {
		if !matcherRE.MatchString(part) {
			return fmt.Errorf("bad matcher %q", strings.TrimSpace(part))
		}
	}
	return nil
}

// splitMatchers splits on commas outside quotes.
func splitMatchers(s string) []string {
	var out []string
	inQ, esc, start := false, false, 0
	for i, r := range s {
		switch {
		case esc:
			esc = false
		case r == '\\':
			esc = true
		case r == '"':
			inQ = !inQ
		case r == ',' && !inQ:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

func validK8sLabelKey(k string) bool {
	name := k
	if i := strings.LastIndex(k, "/"); i >= 0 {
		if !dnsNameRE.MatchString(k[:i]) || i > 253 {
			return false
		}
		name = k[i+1:]
	}
	return len(name) > 0 && len(name) <= 63 && regexp.MustCompile(`^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$`).MatchString(name)
}
