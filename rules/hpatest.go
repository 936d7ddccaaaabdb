package rules

import (
	"fmt"

	"github.com/prometheus/common/model"

	"github.com/kubepulse/kubepulse/mixin/promtest"
)

// ExprTest is a generated promtool test that checks recorded series
// (promql_expr_test) rather than an alert.
type ExprTest struct {
	Name string // file stem
	File promtest.File
}

// buildHPATest checks the HPA-backing records: for every configured
// workload exactly one series, {namespace, workload}, with the value its
// inputs imply, even with a second workload's pods in the same namespace.
func (s *Set) buildHPATest(x *b) {
	ws := x.cfg.Autoscaling.Workloads
	if len(ws) == 0 {
		return
	}
	var tests []promtest.Group
	for i, w := range ws {
		var in []promtest.Series
		pods := []string{w.Name + "-0", w.Name + "-1", "other-0"}
		for _, pod := range pods {
			wl, kind := w.Name, w.Kind
			if pod == "other-0" {
				wl, kind = "other", "Deployment"
			}
			in = append(in, x.ser("kubepulse_pod_owner", "1+0x20", "namespace", w.Namespace, "pod", pod, "owner_kind", "ReplicaSet", "owner_name", wl+"-rs", "workload_kind", kind, "workload", wl))
			c := []string{"namespace", w.Namespace, "pod", pod, "container", "app", "node", "n1"}
			switch w.Metric {
			case "cpu":
				// 0.5 core used of 1 requested per pod.
				in = append(in, x.ser("kubepulse_container_cpu_usage_seconds_total", "0+30x20", c...),
					x.ser("kubepulse_container_resource_requests", "1+0x20", append(c, "resource", "cpu", "unit", "core")...))
			case "memory":
				// 256 MiB used of 1 GiB requested per pod.
				in = append(in, x.ser("kubepulse_container_memory_working_set_bytes", "268435456+0x20", c...),
					x.ser("kubepulse_container_resource_requests", "1073741824+0x20", append(c, "resource", "memory", "unit", "byte")...))
			case "log_errors":
				// One error line per second per pod.
				in = append(in, x.ser("kubepulse_log_matches_total", "0+60x20", "namespace", w.Namespace, "pod", pod, "container", "app", "rule", "error"))
			}
		}
		want := map[string]float64{"cpu": 0.5, "memory": 0.25, "log_errors": 2}[w.Metric]
		tests = append(tests, promtest.Group{
			Name:        fmt.Sprintf("workload %d: %s/%s %s", i, w.Namespace, w.Name, w.Metric),
			Interval:    s.testInterval(),
			InputSeries: resample(in, s.testSteps),
			PromqlExprTests: []promtest.ExprCase{{
				Expr:     fmt.Sprintf(`%s{namespace=%q, workload=%q}`, HPARecord(x.cfg, w.Metric), w.Namespace, w.Name),
				EvalTime: model.Duration(15 * 60e9),
				ExpSamples: []promtest.Sample{{
					Labels: fmt.Sprintf(`%s{namespace=%q, workload=%q}`, HPARecord(x.cfg, w.Metric), w.Namespace, w.Name),
					Value:  want,
				}},
			}},
		})
	}
	s.ExprTests = append(s.ExprTests, ExprTest{Name: "hpa_backing_series", File: promtest.File{
		RuleFiles:      []string{"../prometheus_rules.yaml"},
		GroupEvalOrder: s.recordOrder(),
		FuzzyCompare:   true,
		Tests:          tests,
	}})
}

func (s *Set) recordOrder() []string {
	var out []string
	for _, g := range s.Records {
		out = append(out, g.Name)
	}
	return out
}
