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
		// Two pods of the workload and one of another in the namespace,
		// as the exporter writes them: workload labels on every container
		// series, requests summed per workload.
		pods := []string{w.Name + "-0", w.Name + "-1", "other-0"}
		for _, pod := range pods {
			wl, kind := w.Name, w.Kind
			if pod == "other-0" {
				wl, kind = "other", "Deployment"
			}
			c := []string{"namespace", w.Namespace, "pod", pod, "container", "app", "workload_kind", kind, "workload", wl}
			switch w.Metric {
			case "cpu":
				// 0.5 core used of 1 requested per pod.
				in = append(in, x.ser("kubepulse_container_cpu_usage_seconds_total", "0+30x20", append(c, "node", "n1")...))
			case "memory":
				// 256 MiB used of 1 GiB requested per pod.
				in = append(in, x.ser("kubepulse_container_memory_working_set_bytes", "268435456+0x20", append(c, "node", "n1")...))
			case "log_errors":
				// One error line per second per pod.
				in = append(in, x.ser("kubepulse_log_matches_total", "0+60x20", append(c, "rule", "error")...))
			}
		}
		for _, wk := range []struct{ kind, name, pods string }{{w.Kind, w.Name, "2"}, {"Deployment", "other", "1"}} {
			kv := []string{"namespace", w.Namespace, "workload_kind", wk.kind, "workload", wk.name}
			in = append(in, x.ser("kubepulse_workload_pods", wk.pods+"+0x20", kv...))
			switch w.Metric {
			case "cpu":
				in = append(in, x.ser("kubepulse_workload_resource_requests", wk.pods+"+0x20", append(kv, "resource", "cpu", "unit", "core")...))
			case "memory":
				in = append(in, x.ser("kubepulse_workload_resource_requests", fmt.Sprintf("%d+0x20", map[string]int{"2": 2, "1": 1}[wk.pods]<<30), append(kv, "resource", "memory", "unit", "byte")...))
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
