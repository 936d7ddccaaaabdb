package rules

import (
	"fmt"
	"strings"

	"github.com/prometheus/common/model"

	"github.com/kubepulse/kubepulse/mixin/promtest"
)

// shardPodNames returns valid pod names that put pods in every shard of
// every shard count, usage and log shards alike, and exercise every
// character of each shard's sets: for each character a name can end in,
// two names whose second-to-last characters fall in different halves of
// the log shards' split, and one name of a single character.
func shardPodNames() []string {
	var out []string
	for i, c := range shardAlphabet {
		out = append(out, fmt.Sprintf("web-%d%c%c", i, innerAlphabet[i%len(innerAlphabet)], c),
			fmt.Sprintf("web-%d%c%c", i, innerAlphabet[(i+1)%len(innerAlphabet)], c))
	}
	return append(out, "w")
}

// buildShardTest checks that the sharded raw aggregations and their
// combines lose and double-count nothing: one workload with a pod ending in
// each character of the shard alphabet, pod j using
// j+1 units, so every workload, node and log record must equal the sum (or
// max) over all pods, as one series.
func (s *Set) buildShardTest(x *b) {
	n := NamesFor(x.cfg)
	pods := shardPodNames()
	const ns, node = "shard-test", "shard-node"
	var in []promtest.Series
	P := len(pods)
	for j, pod := range pods {
		u := j + 1
		in = append(in, x.ser("kubepulse_pod_owner", "1+0x20", "namespace", ns, "pod", pod, "owner_kind", "ReplicaSet", "owner_name", "web-rs", "workload_kind", "Deployment", "workload", "web"))
		c := []string{"namespace", ns, "pod", pod, "container", "app", "node", node}
		in = append(in,
			x.ser("kubepulse_container_cpu_usage_seconds_total", fmt.Sprintf("0+%dx20", 60*u), c...),
			x.ser("kubepulse_container_memory_working_set_bytes", fmt.Sprintf("%d+0x20", 100*u), c...),
			x.ser("kubepulse_container_resource_requests", fmt.Sprintf("%d+0x20", u), append(c, "resource", "cpu", "unit", "core")...),
			x.ser("kubepulse_container_resource_requests", fmt.Sprintf("%d+0x20", 1000*u), append(c, "resource", "memory", "unit", "byte")...),
			x.ser("kubepulse_container_resource_limits", fmt.Sprintf("%d+0x20", 2*u), append(c, "resource", "cpu", "unit", "core")...),
			x.ser("kubepulse_container_resource_limits", fmt.Sprintf("%d+0x20", 2000*u), append(c, "resource", "memory", "unit", "byte")...),
			x.ser("kubepulse_log_matches_total", fmt.Sprintf("0+%dx20", 60*u), "namespace", ns, "pod", pod, "container", "app", "rule", "error"))
	}
	sum := float64(P*(P+1)) / 2
	var cases []promtest.ExprCase
	add := func(expr, labels string, v float64) {
		cases = append(cases, promtest.ExprCase{Expr: expr, EvalTime: model.Duration(15 * 60e9),
			ExpSamples: []promtest.Sample{{Labels: labels, Value: v}}})
	}
	wsel := fmt.Sprintf(`{namespace=%q, workload="web"}`, ns)
	for _, c := range []struct {
		record, extra string
		v             float64
	}{
		{n.WorkloadCPU, "", sum},
		{n.WorkloadMem, "", 100 * sum},
		{n.WLPodMemMax, "", 100 * float64(P)},
		{n.WorkloadRequests, `resource="cpu"`, sum},
		{n.WorkloadRequests, `resource="memory"`, 1000 * sum},
		{n.WorkloadLimits, `resource="cpu"`, 2 * sum},
		{n.WorkloadLimits, `resource="memory"`, 2000 * sum},
		{n.WLPods, "", float64(P)},
		{n.LogWLRate, "", sum},
	} {
		sel := wsel
		if c.extra != "" {
			sel = strings.TrimSuffix(wsel, "}") + ", " + c.extra + "}"
		}
		// One series per workload (and resource/rule) with the full value.
		add(fmt.Sprintf(`count(%s%s)`, c.record, sel), `{}`, 1)
		add(fmt.Sprintf(`sum by (workload) (%s%s)`, c.record, sel), `{workload="web"}`, c.v)
	}
	add(fmt.Sprintf(`count(%s{namespace=%q})`, n.PodOwner, ns), `{}`, float64(P))
	add(fmt.Sprintf(`count(%s{node=%q})`, n.NodeCPU, node), `{}`, 1)
	add(fmt.Sprintf(`sum by (node) (%s{node=%q})`, n.NodeCPU, node), fmt.Sprintf(`{node=%q}`, node), sum)
	add(fmt.Sprintf(`count(%s{node=%q})`, n.NodeMem, node), `{}`, 1)
	add(fmt.Sprintf(`sum by (node) (%s{node=%q})`, n.NodeMem, node), fmt.Sprintf(`{node=%q}`, node), 100*sum)
	s.ExprTests = append(s.ExprTests, ExprTest{Name: "sharded_records", File: promtest.File{
		RuleFiles:      []string{"../prometheus_rules.yaml"},
		GroupEvalOrder: s.recordOrder(),
		FuzzyCompare:   true,
		Tests: []promtest.Group{{
			Name:            fmt.Sprintf("%d shards: a pod in every shard, nothing lost or counted twice", x.cfg.Recording.Shards),
			Interval:        s.testInterval(),
			InputSeries:     resample(in, s.testSteps),
			PromqlExprTests: cases,
		}},
	}})
}
