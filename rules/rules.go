// Package rules builds kubepulse's Prometheus recording and alerting rules
// from the mixin config, with a promtool unit test for every alert.
//
// Cost at 150k pods shapes every expression: the only join is through the
// small, pre-aggregated namespace_pod:kubepulse_pod_owner:relabel (one series
// per pod), done once per resource in the workload group; everything else
// builds on recorded series. The recommendation group runs every 30m and
// reads its own 30m summaries over 7 days (336 points per workload), never
// 7 days of raw samples.
package rules

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"

	"github.com/kubepulse/kubepulse/mixin/config"
)

// Group names, in evaluation order (recording groups feed the later ones).
//
// Prometheus evaluates groups concurrently and the 1 s budget is per group,
// so every group that reads a large raw metric (300k series at 150k pods)
// reads only that one, and aggregates it straight to the level alerts and
// dashboards read: no per-pod or per-container record is written for
// hundreds of thousands of series that nothing reads.
const (
	GroupPodOwner       = "kubepulse-pod-owner.rules"
	GroupWorkloadCPU    = "kubepulse-workload-cpu.rules"
	GroupWorkloadMemory = "kubepulse-workload-memory.rules"
	GroupWorkloadMemMax = "kubepulse-workload-memory-max.rules"
	// Requests and limits: one group per figure and resource, named
	// kubepulse-workload-<requests|limits>-<cpu|memory>.rules.
	GroupNodeCPU    = "kubepulse-node-cpu.rules"
	GroupNodeMemory = "kubepulse-node-memory.rules"
	// The groups reading workload records and node series (15k and 20k
	// series at 150k pods), split so that none nears the 1 s target.
	GroupWorkloadCPURatio = "kubepulse-workload-cpu-ratio.rules"
	GroupWorkloadMemRatio = "kubepulse-workload-memory-ratio.rules"
	GroupWorkloadPod      = "kubepulse-workload-pod.rules"
	GroupNamespace        = "kubepulse-namespace.rules"
	GroupNode             = "kubepulse-node.rules"
	GroupCluster          = "kubepulse-cluster.rules"
	GroupLogsPod          = "kubepulse-logs-pod.rules"
	GroupLogs             = "kubepulse-logs.rules"
	// Per-workload log rates, sharded like the usage groups (see Build).
	GroupLogsWorkload    = "kubepulse-logs-workload.rules"
	GroupLoadTest        = "kubepulse-loadtest.rules"
	GroupHPA             = "kubepulse-hpa.rules"
	GroupRecommendations = "kubepulse-recommendations.rules"
)

// Set is everything the rule generator produces.
type Set struct {
	Records []rulefmt.RuleGroup
	Alerts  []rulefmt.RuleGroup
	// Tests holds one promtool test per alert (firing and quiet case).
	Tests []AlertTest
	// ExprTests check recorded series (the HPA-backing ones).
	ExprTests []ExprTest

	rateWindow model.Duration
	// testSteps: test input series are sampled every 1m/testSteps.
	testSteps int
}

// b holds the config and renders selectors and label lists.
type b struct {
	cfg *config.Config
	c   string // cluster label or ""
	w   string // rate window, e.g. 5m
}

// by renders "cluster, a, b" (the cluster label first, when set).
func (x *b) by(ls ...string) string {
	if x.c != "" {
		ls = append([]string{x.c}, ls...)
	}
	return strings.Join(ls, ", ")
}

// sel renders metric{<kubepulse selector>, extra...}.
func (x *b) sel(metric string, extra ...string) string {
	var ms []string
	if s := strings.TrimSpace(x.cfg.Selectors.Kubepulse); s != "" {
		ms = append(ms, s)
	}
	ms = append(ms, extra...)
	if len(ms) == 0 {
		return metric
	}
	return metric + "{" + strings.Join(ms, ", ") + "}"
}

// Record names. Kept as functions of the window so a non-default
// rateWindow renames them consistently.
type Names struct {
	PodOwner                                                                 string
	WorkloadCPU, WorkloadMem, WorkloadRequests, WorkloadLimits, WLPods       string
	WLCPURatioReq, WLCPURatioLim, WLMemRatioReq, WLMemRatioLim               string
	WLPodCPUAvg, WLPodMemMax, WLPodRequestsAvg                               string
	NSCPU, NSMem, NSRequests, NSLimits                                       string
	NodeCPU, NodeMem, NodeReqRatio, NodeLimRatio, NodeCPURatio, NodeMemRatio string
	ClusterAlloc, ClusterAllocMax, ClusterRequests, ClusterNodes             string
	LogPodRate, LogNSRate, LogWLRate                                         string
	LTRate, LTErrorRatio, LTRunRate, LTRunErrorRatio                         string
	LTQuantile                                                               func(q string) string
	CPUSummary, MemSummary, CPURecommended, MemRecommended                   string
	WLCPURatioReqMax                                                         string
}

// NamesFor returns the record names for cfg.
func NamesFor(cfg *config.Config) Names {
	r := "rate" + cfg.Recording.RateWindow.String()
	si := cfg.Recommendations.Interval.String()
	q := quantileName(cfg.Recommendations.CPUQuantile)
	return Names{
		PodOwner:         "namespace_pod:kubepulse_pod_owner:relabel",
		WorkloadCPU:      "namespace_workload:kubepulse_container_cpu_usage_seconds:" + r,
		WorkloadMem:      "namespace_workload:kubepulse_container_memory_working_set_bytes:sum",
		WorkloadRequests: "namespace_workload:kubepulse_container_resource_requests:sum",
		WorkloadLimits:   "namespace_workload:kubepulse_container_resource_limits:sum",
		WLPods:           "namespace_workload:kubepulse_pods:count",
		WLCPURatioReq:    "namespace_workload:kubepulse_container_cpu_usage:ratio_requests",
		WLCPURatioLim:    "namespace_workload:kubepulse_container_cpu_usage:ratio_limits",
		WLMemRatioReq:    "namespace_workload:kubepulse_container_memory_working_set:ratio_requests",
		WLMemRatioLim:    "namespace_workload:kubepulse_container_memory_working_set:ratio_limits",
		WLPodCPUAvg:      "namespace_workload:kubepulse_pod_cpu_usage_seconds:" + r + "_avg",
		WLPodMemMax:      "namespace_workload:kubepulse_pod_memory_working_set_bytes:max",
		WLPodRequestsAvg: "namespace_workload:kubepulse_pod_resource_requests:avg",
		NSCPU:            "namespace:kubepulse_container_cpu_usage_seconds:" + r,
		NSMem:            "namespace:kubepulse_container_memory_working_set_bytes:sum",
		NSRequests:       "namespace:kubepulse_container_resource_requests:sum",
		NSLimits:         "namespace:kubepulse_container_resource_limits:sum",
		NodeCPU:          "node:kubepulse_container_cpu_usage_seconds:" + r,
		NodeMem:          "node:kubepulse_container_memory_working_set_bytes:sum",
		NodeReqRatio:     "node:kubepulse_node_requests:ratio_allocatable",
		NodeLimRatio:     "node:kubepulse_node_limits:ratio_allocatable",
		NodeCPURatio:     "node:kubepulse_cpu_usage:ratio_allocatable",
		NodeMemRatio:     "node:kubepulse_memory_working_set:ratio_allocatable",
		ClusterAlloc:     "cluster:kubepulse_node_allocatable:sum",
		ClusterAllocMax:  "cluster:kubepulse_node_allocatable:max",
		ClusterRequests:  "cluster:kubepulse_node_requests:sum",
		ClusterNodes:     "cluster:kubepulse_nodes:count",
		LogPodRate:       "namespace_pod_container:kubepulse_log_matches:" + r,
		LogNSRate:        "namespace:kubepulse_log_matches:" + r,
		LogWLRate:        "namespace_workload:kubepulse_log_matches:" + r,
		LTRate:           "run_label:kubepulse_loadtest_requests:" + r,
		LTErrorRatio:     "run_label:kubepulse_loadtest_requests:error_ratio_" + r,
		LTRunRate:        "run:kubepulse_loadtest_requests:" + r,
		LTRunErrorRatio:  "run:kubepulse_loadtest_requests:error_ratio_" + r,
		LTQuantile: func(qn string) string {
			return "run_label:kubepulse_loadtest_request_duration_seconds:" + qn + "_" + r
		},
		CPUSummary:       "namespace_workload:kubepulse_pod_cpu_usage_seconds:" + q + "_" + si,
		MemSummary:       "namespace_workload:kubepulse_pod_memory_working_set_bytes:max_" + si,
		CPURecommended:   "namespace_workload:kubepulse_pod_cpu_request:recommended",
		MemRecommended:   "namespace_workload:kubepulse_pod_memory_request:recommended",
		WLCPURatioReqMax: "namespace_workload:kubepulse_container_cpu_usage:ratio_requests_max_" + si,
	}
}

func quantileName(q float64) string {
	return "p" + strings.ReplaceAll(strconv.FormatFloat(q*100, 'f', -1, 64), ".", "_")
}

// HPARecord returns the HPA-backing series name for an autoscaling metric.
func HPARecord(cfg *config.Config, metric string) string {
	switch metric {
	case "cpu":
		return "namespace_workload:kubepulse_hpa_cpu_utilization:ratio"
	case "memory":
		return "namespace_workload:kubepulse_hpa_memory_utilization:ratio"
	case "log_errors":
		return "namespace_workload:kubepulse_hpa_log_errors:rate" + cfg.Recording.RateWindow.String()
	}
	return ""
}

func rec(name, expr string) rulefmt.Rule {
	return rulefmt.Rule{Record: name, Expr: expr}
}

// Build returns the rules for cfg.
func Build(cfg *config.Config) *Set {
	x := &b{cfg: cfg, c: cfg.Selectors.ClusterLabel, w: cfg.Recording.RateWindow.String()}
	n := NamesFor(cfg)
	iv := model.Duration(cfg.Recording.Interval)
	pod, wl := x.by("namespace", "pod"), x.by("namespace", "workload_kind", "workload")
	wlr := x.by("namespace", "workload_kind", "workload", "resource")
	s := &Set{rateWindow: model.Duration(cfg.Recording.RateWindow),
		testSteps: testStepsPerMinute(time.Duration(cfg.Recording.RateWindow), time.Duration(cfg.Recording.Interval))}
	group := func(name string, rs ...rulefmt.Rule) {
		s.Records = append(s.Records, rulefmt.RuleGroup{Name: name, Interval: iv, Rules: rs})
	}
	// Sharding (recording.shards > 1): every rule that reads a per-pod raw
	// metric runs once per shard of pods (ShardMatchers: by the last
	// character of the pod name, an exact partition) in its own group,
	// writing a partial aggregate under partialName(record) with a static
	// shard label; the group of the original name then writes the original
	// record as sum/max without (shard) over the partials, so every record
	// alerts, dashboards and HPAs read keeps its name and labels.
	shards := ShardMatchers(cfg.Recording.Shards)
	sharded := len(shards) > 1
	shardLabel := func(i int, ls map[string]string) map[string]string {
		if !sharded {
			return ls
		}
		out := map[string]string{"shard": strconv.Itoa(i)}
		for k, v := range ls {
			out[k] = v
		}
		return out
	}
	// podSel is metric{<kubepulse selector>, extra..., <shard i's pod matcher>}.
	podSel := func(i int, metric string, extra ...string) string {
		if shards[i] != "" {
			extra = append(extra, shards[i])
		}
		return x.sel(metric, extra...)
	}
	owner := func(i int) string {
		if !sharded {
			return n.PodOwner
		}
		return fmt.Sprintf(`%s{shard="%d"}`, n.PodOwner, i)
	}
	// toWorkload attaches the workload to a per-pod vector of shard i: the
	// one join, against the small owner record of the same shard.
	toWorkload := func(i int, perPod string) string {
		return fmt.Sprintf("%s * on (%s) group_left (workload_kind, workload) %s", perPod, pod, owner(i))
	}
	// heavy adds the group(s) of one raw aggregation. Unsharded: group name
	// holding record = expr(0) and then more. Sharded: one group per shard
	// holding the partial, then group name holding
	// record = <combine> without (shard) (partial) and then more.
	heavy := func(name, record, combine string, labels map[string]string, expr func(i int) string, more ...rulefmt.Rule) {
		if !sharded {
			r := rec(record, expr(0))
			r.Labels = labels
			group(name, append([]rulefmt.Rule{r}, more...)...)
			return
		}
		for i := range shards {
			r := rec(partialName(record), expr(i))
			r.Labels = shardLabel(i, labels)
			group(shardGroup(name, i), r)
		}
		var ms []string
		for k, v := range labels {
			ms = append(ms, fmt.Sprintf("%s=%q", k, v))
		}
		sel := partialName(record)
		if len(ms) > 0 {
			sel += "{" + strings.Join(ms, ", ") + "}"
		}
		r := rec(record, fmt.Sprintf(`%s without (shard) (%s)`, combine, sel))
		r.Labels = labels
		group(name, append([]rulefmt.Rule{r}, more...)...)
	}
	cpuRate := func(i int) string {
		return fmt.Sprintf(`rate(%s[%s])`, podSel(i, "kubepulse_container_cpu_usage_seconds_total"), x.w)
	}
	mem := func(i int) string { return podSel(i, "kubepulse_container_memory_working_set_bytes") }

	// The join key: one series per pod, the exporter's job/instance
	// dropped (two exporter replicas must not make the joins many-to-many).
	// Sharded, each pod's series is written by the one shard its name falls
	// in (with the shard label, which the joins' on (namespace, pod) ignore).
	ownerRule := func(i int) rulefmt.Rule {
		r := rec(n.PodOwner, fmt.Sprintf(`max by (%s) (%s)`, x.by("namespace", "pod", "workload_kind", "workload"), podSel(i, "kubepulse_pod_owner", `workload!=""`)))
		r.Labels = shardLabel(i, nil)
		return r
	}
	if !sharded {
		group(GroupPodOwner, ownerRule(0), rec(n.WLPods, fmt.Sprintf(`count by (%s) (%s)`, wl, n.PodOwner)))
	} else {
		for i := range shards {
			r := rec(partialName(n.WLPods), fmt.Sprintf(`count by (%s) (%s)`, wl, owner(i)))
			r.Labels = shardLabel(i, nil)
			group(shardGroup(GroupPodOwner, i), ownerRule(i), r)
		}
		group(GroupPodOwner, rec(n.WLPods, fmt.Sprintf(`sum without (shard) (%s)`, partialName(n.WLPods))))
	}
	heavy(GroupWorkloadCPU, n.WorkloadCPU, "sum", nil, func(i int) string {
		return fmt.Sprintf(`sum by (%s) (%s)`, wl, toWorkload(i, fmt.Sprintf(`sum by (%s) (%s)`, pod, cpuRate(i))))
	})
	heavy(GroupWorkloadMemory, n.WorkloadMem, "sum", nil, func(i int) string {
		return fmt.Sprintf(`sum by (%s) (%s)`, wl, toWorkload(i, fmt.Sprintf(`sum by (%s) (%s)`, pod, mem(i))))
	})
	heavy(GroupWorkloadMemMax, n.WLPodMemMax, "max", nil, func(i int) string {
		return fmt.Sprintf(`max by (%s) (%s)`, wl, toWorkload(i, fmt.Sprintf(`sum by (%s) (%s)`, pod, mem(i))))
	})
	for _, fig := range []struct{ metric, record string }{
		{"kubepulse_container_resource_requests", n.WorkloadRequests},
		{"kubepulse_container_resource_limits", n.WorkloadLimits},
	} {
		for _, res := range []string{"cpu", "memory"} {
			kind := strings.TrimPrefix(fig.metric, "kubepulse_container_resource_")
			// The resource is in the output anyway; as a static label it
			// keeps the two rules of one record name distinct (promtool's
			// duplicate-rules lint).
			heavy("kubepulse-workload-"+kind+"-"+res+".rules", fig.record, "sum", map[string]string{"resource": res}, func(i int) string {
				return fmt.Sprintf(`sum by (%s) (%s)`, wlr,
					toWorkload(i, fmt.Sprintf(`sum by (%s) (%s)`, x.by("namespace", "pod", "resource"), podSel(i, fig.metric, fmt.Sprintf(`resource=%q`, res)))))
			})
		}
	}
	// Node usage straight from the raw series: cheaper than writing 150k
	// per-pod records to sum them again.
	heavy(GroupNodeCPU, n.NodeCPU, "sum", nil, func(i int) string { return fmt.Sprintf(`sum by (%s) (%s)`, x.by("node"), cpuRate(i)) },
		rec(n.NodeCPURatio, fmt.Sprintf(`%s / on (%[2]s) sum by (%[2]s) (%[3]s)`, n.NodeCPU, x.by("node"), x.sel("kubepulse_node_allocatable", `resource="cpu"`))))
	heavy(GroupNodeMemory, n.NodeMem, "sum", nil, func(i int) string { return fmt.Sprintf(`sum by (%s) (%s)`, x.by("node"), mem(i)) },
		rec(n.NodeMemRatio, fmt.Sprintf(`%s / on (%[2]s) sum by (%[2]s) (%[3]s)`, n.NodeMem, x.by("node"), x.sel("kubepulse_node_allocatable", `resource="memory"`))))
	// Everything below reads workload records (15k series at 150k pods),
	// never per-pod ones.
	group(GroupWorkloadCPURatio,
		rec(n.WLCPURatioReq, fmt.Sprintf(`%s / on (%s) %s{resource="cpu"}`, n.WorkloadCPU, wl, n.WorkloadRequests)),
		rec(n.WLCPURatioLim, fmt.Sprintf(`%s / on (%s) %s{resource="cpu"}`, n.WorkloadCPU, wl, n.WorkloadLimits)))
	group(GroupWorkloadMemRatio,
		rec(n.WLMemRatioReq, fmt.Sprintf(`%s / on (%s) %s{resource="memory"}`, n.WorkloadMem, wl, n.WorkloadRequests)),
		rec(n.WLMemRatioLim, fmt.Sprintf(`%s / on (%s) %s{resource="memory"}`, n.WorkloadMem, wl, n.WorkloadLimits)))
	group(GroupWorkloadPod,
		rec(n.WLPodCPUAvg, fmt.Sprintf(`%s / on (%s) %s`, n.WorkloadCPU, wl, n.WLPods)),
		// Average per pod = workload sum / pods, not an average over 150k
		// per-pod series.
		rec(n.WLPodRequestsAvg, fmt.Sprintf(`%s / on (%s) group_left %s`, n.WorkloadRequests, wl, n.WLPods)))
	group(GroupNamespace,
		rec(n.NSCPU, fmt.Sprintf(`sum by (%s) (%s)`, x.by("namespace"), n.WorkloadCPU)),
		rec(n.NSMem, fmt.Sprintf(`sum by (%s) (%s)`, x.by("namespace"), n.WorkloadMem)),
		rec(n.NSRequests, fmt.Sprintf(`sum by (%s) (%s)`, x.by("namespace", "resource"), n.WorkloadRequests)),
		rec(n.NSLimits, fmt.Sprintf(`sum by (%s) (%s)`, x.by("namespace", "resource"), n.WorkloadLimits)))
	group(GroupNode,
		rec(n.NodeReqRatio, fmt.Sprintf(`sum by (%[1]s) (%[2]s) / sum by (%[1]s) (%[3]s)`, x.by("node", "resource"), x.sel("kubepulse_node_requests"), x.sel("kubepulse_node_allocatable"))),
		rec(n.NodeLimRatio, fmt.Sprintf(`sum by (%[1]s) (%[2]s) / sum by (%[1]s) (%[3]s)`, x.by("node", "resource"), x.sel("kubepulse_node_limits"), x.sel("kubepulse_node_allocatable"))))
	group(GroupCluster,
		rec(n.ClusterAlloc, fmt.Sprintf(`sum by (%s) (%s)`, x.by("resource"), x.sel("kubepulse_node_allocatable"))),
		rec(n.ClusterAllocMax, fmt.Sprintf(`max by (%s) (%s)`, x.by("resource"), x.sel("kubepulse_node_allocatable"))),
		rec(n.ClusterRequests, fmt.Sprintf(`sum by (%s) (%s)`, x.by("resource"), x.sel("kubepulse_node_requests"))),
		rec(n.ClusterNodes, fmt.Sprintf(`count by (%s) (%s)`, x.by("resource"), x.sel("kubepulse_node_allocatable"))))
	// Zero rates are kept: the HPA-backing log series must read 0, not
	// nothing, while a workload logs no errors. Sharded, each log shard
	// (LogShardMatchers, finer than the usage shards: the raw metric has a
	// series per rule) writes its own pods' rates, with the shard label,
	// and a partial per-namespace sum of them. The per-workload rate is
	// sharded like the usage groups: each of those shards reads its pods'
	// recorded rates (33k at 150k pods) and joins its own owner shard, so
	// the combine reads ~9 partials per workload instead of ~9 of 55.
	// There is no per-container level: a workload's pods spread over most
	// shards, so a partial keyed by container name (as a rule the
	// workload's name) would make the combine read ~shards x the containers
	// of the cluster.
	nsRate := func(pods string) rulefmt.Rule {
		return rec(n.LogNSRate, fmt.Sprintf(`sum by (%s) (%s)`, x.by("namespace"), pods))
	}
	logShards := LogShardMatchers(cfg.Recording.Shards)
	for i := range logShards {
		sel := x.sel("kubepulse_log_matches_total", cfg.Selectors.LogErrorRules)
		if sharded {
			sel = x.sel("kubepulse_log_matches_total", cfg.Selectors.LogErrorRules, logShards[i])
		}
		// Summed over the error rules: a third of the series of the raw
		// metric (3 rules by default) for the shard to write and read back;
		// every reader sums the rules anyway, and the per-rule split is in
		// the raw counters for the dashboard panel that shows it.
		r := rec(n.LogPodRate, fmt.Sprintf(`sum by (%s) (rate(%s[%s]))`, x.by("namespace", "pod", "container"), sel, x.w))
		r.Labels = shardLabel(i, nil)
		if !sharded {
			group(GroupLogsPod, r)
			group(GroupLogs, nsRate(n.LogPodRate))
			break
		}
		p := nsRate(fmt.Sprintf(`%s{shard="%d"}`, n.LogPodRate, i))
		p.Record = partialName(p.Record)
		p.Labels = shardLabel(i, nil)
		group(shardGroup(GroupLogsPod, i), r, p)
	}
	if sharded {
		group(GroupLogs, rec(n.LogNSRate, fmt.Sprintf(`sum without (shard) (%s)`, partialName(n.LogNSRate))))
	}
	heavy(GroupLogsWorkload, n.LogWLRate, "sum", nil, func(i int) string {
		pods := n.LogPodRate
		if shards[i] != "" {
			pods += "{" + shards[i] + "}"
		}
		return fmt.Sprintf(`sum by (%s) (%s)`, wl, toWorkload(i, fmt.Sprintf(`sum by (%s) (%s)`, pod, pods)))
	})
	ltReq := "kubepulse_loadtest_requests_total"
	ltDur := "kubepulse_loadtest_request_duration_seconds"
	rl := x.by("run", "label")
	lt := []rulefmt.Rule{
		rec(n.LTRate, fmt.Sprintf(`sum by (%s) (rate(%s[%s]))`, rl, x.sel(ltReq), x.w)),
		rec(n.LTErrorRatio, fmt.Sprintf(`(sum by (%[1]s) (rate(%[2]s[%[3]s])) or 0 * %[4]s) / %[4]s`, rl, x.sel(ltReq, `result!="success"`), x.w, n.LTRate)),
		rec(n.LTRunRate, fmt.Sprintf(`sum by (%s) (%s)`, x.by("run"), n.LTRate)),
		rec(n.LTRunErrorRatio, fmt.Sprintf(`(sum by (%[1]s) (rate(%[2]s[%[3]s])) or 0 * %[4]s) / %[4]s`, x.by("run"), x.sel(ltReq, `result!="success"`), x.w, n.LTRunRate)),
	}
	for _, q := range []float64{0.5, 0.9, 0.99} {
		// Native histograms first; classic buckets when the server keeps only those.
		lt = append(lt, rec(n.LTQuantile(quantileName(q)), fmt.Sprintf(
			`histogram_quantile(%[1]g, sum by (%[2]s) (rate(%[3]s[%[5]s]))) or histogram_quantile(%[1]g, sum by (%[2]s, le) (rate(%[4]s[%[5]s])))`,
			q, rl, x.sel(ltDur), x.sel(ltDur+"_bucket"), x.w)))
	}
	s.Records = append(s.Records, rulefmt.RuleGroup{Name: GroupLoadTest, Interval: iv, Rules: lt})

	if ws := cfg.Autoscaling.Workloads; len(ws) > 0 {
		g := rulefmt.RuleGroup{Name: GroupHPA, Interval: iv}
		for _, w := range ws {
			m := fmt.Sprintf(`namespace=%q, workload_kind=%q, workload=%q`, w.Namespace, w.Kind, w.Name)
			var expr string
			switch w.Metric {
			case "cpu":
				expr = fmt.Sprintf(`max by (namespace, workload) (%s{%s})`, n.WLCPURatioReq, m)
			case "memory":
				expr = fmt.Sprintf(`max by (namespace, workload) (%s{%s})`, n.WLMemRatioReq, m)
			case "log_errors":
				expr = fmt.Sprintf(`sum by (namespace, workload) (%s{%s})`, n.LogWLRate, m)
			}
			// max/sum by (namespace, workload) drops the cluster and kind
			// labels: exactly one series per workload, as the external
			// metrics API needs for a Value target.
			r := rec(HPARecord(cfg, w.Metric), expr)
			// The labels the aggregation keeps anyway, set statically too:
			// rules sharing a record name stay distinct (promtool's
			// duplicate-rules lint).
			r.Labels = map[string]string{"namespace": w.Namespace, "workload": w.Name}
			g.Rules = append(g.Rules, r)
		}
		s.Records = append(s.Records, g)
	}

	rc := cfg.Recommendations
	s.Records = append(s.Records, rulefmt.RuleGroup{Name: GroupRecommendations, Interval: model.Duration(rc.Interval), Rules: []rulefmt.Rule{
		rec(n.CPUSummary, fmt.Sprintf(`quantile_over_time(%g, %s[%s])`, rc.CPUQuantile, n.WLPodCPUAvg, rc.Interval)),
		rec(n.MemSummary, fmt.Sprintf(`max_over_time(%s[%s])`, n.WLPodMemMax, rc.Interval)),
		rec(n.CPURecommended, fmt.Sprintf(`quantile_over_time(%g, %s[%s]) * %g`, rc.CPUQuantile, n.CPUSummary, rc.Window, rc.CPUMargin)),
		rec(n.MemRecommended, fmt.Sprintf(`max_over_time(%s[%s]) * %g`, n.MemSummary, rc.Window, rc.MemoryMargin)),
		// Peak utilization per interval: the over-provisioning alert reads a
		// day of these (48 points), not a day of 1m samples.
		rec(n.WLCPURatioReqMax, fmt.Sprintf(`max_over_time(%s[%s])`, n.WLCPURatioReq, rc.Interval)),
	}})

	s.buildAlerts(x, n)
	s.buildHPATest(x)
	s.buildShardTest(x)
	return s
}

// GroupOrder lists every group name in evaluation order.
func (s *Set) GroupOrder() []string {
	var out []string
	for _, g := range s.Records {
		out = append(out, g.Name)
	}
	for _, g := range s.Alerts {
		out = append(out, g.Name)
	}
	return out
}
