// Package promtest reads and runs promtool's rule unit-test format in
// process, on the prometheus promql engine and rules manager, so users of
// `kubepulse generate --test` need no promtool. The format is promtool's
// (facts carried over); the runner is our own.
package promtest

import "github.com/prometheus/common/model"

// File is one unit-test file.
type File struct {
	RuleFiles          []string       `yaml:"rule_files"`
	EvaluationInterval model.Duration `yaml:"evaluation_interval,omitempty"`
	GroupEvalOrder     []string       `yaml:"group_eval_order,omitempty"`
	Tests              []Group        `yaml:"tests"`
	// FuzzyCompare lets expected values differ in the last bit.
	FuzzyCompare bool `yaml:"fuzzy_compare,omitempty"`
}

// Group is input series plus the checks made against them.
type Group struct {
	Name            string            `yaml:"name,omitempty"`
	Interval        model.Duration    `yaml:"interval,omitempty"`
	InputSeries     []Series          `yaml:"input_series"`
	AlertRuleTests  []AlertCase       `yaml:"alert_rule_test,omitempty"`
	PromqlExprTests []ExprCase        `yaml:"promql_expr_test,omitempty"`
	ExternalLabels  map[string]string `yaml:"external_labels,omitempty"`
	ExternalURL     string            `yaml:"external_url,omitempty"`
}

// Series is one input series in promql test notation.
type Series struct {
	Series string `yaml:"series"`
	Values string `yaml:"values"`
}

// AlertCase lists the alerts expected to be firing at EvalTime.
type AlertCase struct {
	EvalTime  model.Duration `yaml:"eval_time"`
	Alertname string         `yaml:"alertname"`
	ExpAlerts []ExpAlert     `yaml:"exp_alerts"`
}

// ExpAlert is one expected firing alert.
type ExpAlert struct {
	ExpLabels      map[string]string `yaml:"exp_labels,omitempty"`
	ExpAnnotations map[string]string `yaml:"exp_annotations,omitempty"`
}

// ExprCase checks an expression's result at EvalTime.
type ExprCase struct {
	Expr       string         `yaml:"expr"`
	EvalTime   model.Duration `yaml:"eval_time"`
	ExpSamples []Sample       `yaml:"exp_samples"`
}

// Sample is one expected sample of an ExprCase.
type Sample struct {
	Labels string  `yaml:"labels"`
	Value  float64 `yaml:"value"`
}
