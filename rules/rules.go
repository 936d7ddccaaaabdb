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

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"

	"github.com/kubepulse/kubepulse/mixin/config"
)

// Group names, in evaluation order (recording groups feed the later ones).
const (
	GroupPod             = "kubepulse-pod.rules"
	GroupWorkload        = "kubepulse-workload.rules"
	GroupNamespaceNode   = "kubepulse-namespace-node.rules"
	GroupLogs            = "kubepulse-logs.rules"
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
	PodOwner, PodCPU, PodMem, PodRequests, PodLimits                         string
	WorkloadCPU, WorkloadMem, WorkloadRequests, WorkloadLimits, WLPods       string
	WLCPURatioReq, WLCPURatioLim, WLMemRatioReq, WLMemRatioLim               string
	WLPodCPUAvg, WLPodMemMax, WLPodRequestsAvg                               string
	NSCPU, NSMem, NSRequests, NSLimits                                       string
	NodeCPU, NodeMem, NodeReqRatio, NodeLimRatio, NodeCPURatio, NodeMemRatio string
	ClusterAlloc, ClusterAllocMax, ClusterRequests, ClusterNodes             string
	LogPodRate, LogContainerRate, LogNSRate, LogLinesRate, LogWLRate         string
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
		PodCPU:           "namespace_pod:kubepulse_container_cpu_usage_seconds:" + r,
		PodMem:           "namespace_pod:kubepulse_container_memory_working_set_bytes:sum",
		PodRequests:      "namespace_pod:kubepulse_container_resource_requests:sum",
		PodLimits:        "namespace_pod:kubepulse_container_resource_limits:sum",
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
		LogContainerRate: "namespace_container:kubepulse_log_matches:" + r,
		LogNSRate:        "namespace:kubepulse_log_matches:" + r,
		LogLinesRate:     "namespace_pod_container:kubepulse_log_lines:" + r,
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
	join := func(inner string) string {
		return fmt.Sprintf("%s * on (%s) group_left (workload_kind, workload) %s", inner, pod, n.PodOwner)
	}
	s := &Set{rateWindow: model.Duration(cfg.Recording.RateWindow)}
	s.Records = append(s.Records, rulefmt.RuleGroup{Name: GroupPod, Interval: iv, Rules: []rulefmt.Rule{
		// The one join key: one series per pod, the exporter's job/instance dropped.
		rec(n.PodOwner, fmt.Sprintf(`max by (%s) (%s)`, x.by("namespace", "pod", "workload_kind", "workload"), x.sel("kubepulse_pod_owner", `workload!=""`))),
		rec(n.PodCPU, fmt.Sprintf(`sum by (%s) (rate(%s[%s]))`, x.by("namespace", "pod", "node"), x.sel("kubepulse_container_cpu_usage_seconds_total"), x.w)),
		rec(n.PodMem, fmt.Sprintf(`sum by (%s) (%s)`, x.by("namespace", "pod", "node"), x.sel("kubepulse_container_memory_working_set_bytes"))),
		rec(n.PodRequests, fmt.Sprintf(`sum by (%s) (%s)`, x.by("namespace", "pod", "resource"), x.sel("kubepulse_container_resource_requests", `resource=~"cpu|memory"`))),
		rec(n.PodLimits, fmt.Sprintf(`sum by (%s) (%s)`, x.by("namespace", "pod", "resource"), x.sel("kubepulse_container_resource_limits", `resource=~"cpu|memory"`))),
	}})
	// The joins run in their own group: groups evaluate concurrently, and
	// each stays small enough for its own time budget at 150k pods.
	s.Records = append(s.Records, rulefmt.RuleGroup{Name: GroupWorkload, Interval: iv, Rules: []rulefmt.Rule{
		rec(n.WorkloadCPU, fmt.Sprintf(`sum by (%s) (%s)`, wl, join(n.PodCPU))),
		rec(n.WorkloadMem, fmt.Sprintf(`sum by (%s) (%s)`, wl, join(n.PodMem))),
		rec(n.WorkloadRequests, fmt.Sprintf(`sum by (%s) (%s)`, x.by("namespace", "workload_kind", "workload", "resource"), join(n.PodRequests))),
		rec(n.WorkloadLimits, fmt.Sprintf(`sum by (%s) (%s)`, x.by("namespace", "workload_kind", "workload", "resource"), join(n.PodLimits))),
		rec(n.WLPods, fmt.Sprintf(`count by (%s) (%s)`, wl, n.PodOwner)),
		rec(n.WLCPURatioReq, fmt.Sprintf(`%s / on (%s) %s{resource="cpu"}`, n.WorkloadCPU, wl, n.WorkloadRequests)),
		rec(n.WLCPURatioLim, fmt.Sprintf(`%s / on (%s) %s{resource="cpu"}`, n.WorkloadCPU, wl, n.WorkloadLimits)),
		rec(n.WLMemRatioReq, fmt.Sprintf(`%s / on (%s) %s{resource="memory"}`, n.WorkloadMem, wl, n.WorkloadRequests)),
		rec(n.WLMemRatioLim, fmt.Sprintf(`%s / on (%s) %s{resource="memory"}`, n.WorkloadMem, wl, n.WorkloadLimits)),
		rec(n.WLPodCPUAvg, fmt.Sprintf(`%s / on (%s) %s`, n.WorkloadCPU, wl, n.WLPods)),
		rec(n.WLPodMemMax, fmt.Sprintf(`max by (%s) (%s)`, wl, join(n.PodMem))),
		rec(n.WLPodRequestsAvg, fmt.Sprintf(`avg by (%s) (%s)`, x.by("namespace", "workload_kind", "workload", "resource"), join(n.PodRequests))),
	}})
	s.Records = append(s.Records, rulefmt.RuleGroup{Name: GroupNamespaceNode, Interval: iv, Rules: []rulefmt.Rule{
		rec(n.NSCPU, fmt.Sprintf(`sum by (%s) (%s)`, x.by("namespace"), n.PodCPU)),
		rec(n.NSMem, fmt.Sprintf(`sum by (%s) (%s)`, x.by("namespace"), n.PodMem)),
		rec(n.NSRequests, fmt.Sprintf(`sum by (%s) (%s)`, x.by("namespace", "resource"), n.PodRequests)),
		rec(n.NSLimits, fmt.Sprintf(`sum by (%s) (%s)`, x.by("namespace", "resource"), n.PodLimits)),
		rec(n.NodeCPU, fmt.Sprintf(`sum by (%s) (%s)`, x.by("node"), n.PodCPU)),
		rec(n.NodeMem, fmt.Sprintf(`sum by (%s) (%s)`, x.by("node"), n.PodMem)),
		rec(n.NodeReqRatio, fmt.Sprintf(`sum by (%[1]s) (%[2]s) / sum by (%[1]s) (%[3]s)`, x.by("node", "resource"), x.sel("kubepulse_node_requests"), x.sel("kubepulse_node_allocatable"))),
		rec(n.NodeLimRatio, fmt.Sprintf(`sum by (%[1]s) (%[2]s) / sum by (%[1]s) (%[3]s)`, x.by("node", "resource"), x.sel("kubepulse_node_limits"), x.sel("kubepulse_node_allocatable"))),
		rec(n.NodeCPURatio, fmt.Sprintf(`%s / on (%[2]s) sum by (%[2]s) (%[3]s)`, n.NodeCPU, x.by("node"), x.sel("kubepulse_node_allocatable", `resource="cpu"`))),
		rec(n.NodeMemRatio, fmt.Sprintf(`%s / on (%[2]s) sum by (%[2]s) (%[3]s)`, n.NodeMem, x.by("node"), x.sel("kubepulse_node_allocatable", `resource="memory"`))),
		rec(n.ClusterAlloc, fmt.Sprintf(`sum by (%s) (%s)`, x.by("resource"), x.sel("kubepulse_node_allocatable"))),
		rec(n.ClusterAllocMax, fmt.Sprintf(`max by (%s) (%s)`, x.by("resource"), x.sel("kubepulse_node_allocatable"))),
		rec(n.ClusterRequests, fmt.Sprintf(`sum by (%s) (%s)`, x.by("resource"), x.sel("kubepulse_node_requests"))),
		rec(n.ClusterNodes, fmt.Sprintf(`count by (%s) (%s)`, x.by("resource"), x.sel("kubepulse_node_allocatable"))),
	}})
	logSel := x.sel("kubepulse_log_matches_total", cfg.Selectors.LogErrorRules)
	s.Records = append(s.Records, rulefmt.RuleGroup{Name: GroupLogs, Interval: iv, Rules: []rulefmt.Rule{
		rec(n.LogPodRate, fmt.Sprintf(`sum by (%s) (rate(%s[%s]))`, x.by("namespace", "pod", "container", "rule"), logSel, x.w)),
		rec(n.LogContainerRate, fmt.Sprintf(`sum by (%s) (%s)`, x.by("namespace", "container", "rule"), n.LogPodRate)),
		rec(n.LogNSRate, fmt.Sprintf(`sum by (%s) (%s)`, x.by("namespace", "rule"), n.LogPodRate)),
		rec(n.LogLinesRate, fmt.Sprintf(`sum by (%s) (rate(%s[%s]))`, x.by("namespace", "pod", "container"), x.sel("kubepulse_log_lines_total"), x.w)),
		rec(n.LogWLRate, fmt.Sprintf(`sum by (%s) (sum by (%s) (%s) * on (%s) group_left (workload_kind, workload) %s)`, wl, pod, n.LogPodRate, pod, n.PodOwner)),
	}})
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
