// Package rules builds kubepulse's Prometheus recording and alerting rules
// from the mixin config, with a promtool unit test for every alert.
//
// Cost at 150k pods shapes every expression. The exporter puts the
// workload on every container series and exports per-workload sums, so no
// rule joins per-pod series: a rule over per-container series is one
// aggregation, and joins happen between workload-level records only. The
// recommendation group runs every 30m and reads its own 30m summaries over
// 7 days (336 points per workload), never 7 days of raw samples.
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
// About one group per concern. The heavy groups (recording.heavyInterval)
// each read one kind of per-container series and aggregate it in one step
// to the level alerts and dashboards read; every join in the other groups
// is at workload cardinality or below. Memory per workload and usage per
// node come summed from the exporter, so they need no heavy group.
const (
	GroupWorkloadCPU = "kubepulse-workload-cpu.rules"
	GroupLogs        = "kubepulse-logs.rules"
	GroupWorkload    = "kubepulse-workload.rules"
	// Utilization divides the workload records: a group of its own, so
	// neither half passes 2 s at 150k pods (225k output series in all).
	GroupWorkloadUtilization = "kubepulse-workload-utilization.rules"
	GroupNamespace           = "kubepulse-namespace.rules"
	GroupNode                = "kubepulse-node.rules"
	GroupCluster             = "kubepulse-cluster.rules"
	GroupLoadTest            = "kubepulse-loadtest.rules"
	GroupHPA                 = "kubepulse-hpa.rules"
	// GroupRecommendations runs every recommendations.interval: its rules
	// summarise a whole interval, and only recommendations read them.
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
	// evalInterval is the tests' evaluation interval: the smallest group
	// interval.
	evalInterval time.Duration
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
	WorkloadCPU, WorkloadMem, WorkloadRequests, WorkloadLimits, WLPods       string
	WLCPURatioReq, WLCPURatioLim, WLMemRatioReq, WLMemRatioLim               string
	WLPodCPUAvg, WLPodMemMax, WLPodRequestsAvg                               string
	NSCPU, NSMem, NSRequests, NSLimits                                       string
	NodeCPU, NodeMem, NodeReqRatio, NodeLimRatio, NodeCPURatio, NodeMemRatio string
	ClusterAlloc, ClusterAllocMax, ClusterRequests, ClusterNodes             string
	LogNSRate, LogWLRate                                                     string
	LTRate, LTErrorRatio, LTRunRate, LTRunErrorRatio                         string
	LTQuantile                                                               func(q string) string
	CPUSummary, MemSummary, CPURecommended, MemRecommended                   string
	WLCPURatioReqPeak                                                        string
}

// NamesFor returns the record names for cfg.
func NamesFor(cfg *config.Config) Names {
	r := "rate" + cfg.Recording.RateWindow.String()
	si := cfg.Recommendations.Interval.String()
	q := quantileName(cfg.Recommendations.CPUQuantile)
	return Names{
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
		NodeCPU:          "node:kubepulse_node_cpu_usage_seconds:" + r,
		NodeMem:          "node:kubepulse_node_memory_working_set_bytes:sum",
		NodeReqRatio:     "node:kubepulse_node_requests:ratio_allocatable",
		NodeLimRatio:     "node:kubepulse_node_limits:ratio_allocatable",
		NodeCPURatio:     "node:kubepulse_cpu_usage:ratio_allocatable",
		NodeMemRatio:     "node:kubepulse_memory_working_set:ratio_allocatable",
		ClusterAlloc:     "cluster:kubepulse_node_allocatable:sum",
		ClusterAllocMax:  "cluster:kubepulse_node_allocatable:max",
		ClusterRequests:  "cluster:kubepulse_node_requests:sum",
		ClusterNodes:     "cluster:kubepulse_nodes:count",
		LogNSRate:        "namespace:kubepulse_log_matches:" + r,
		LogWLRate:        "namespace_workload:kubepulse_log_matches:" + r,
		LTRate:           "run_label:kubepulse_loadtest_requests:" + r,
		LTErrorRatio:     "run_label:kubepulse_loadtest_requests:error_ratio_" + r,
		LTRunRate:        "run:kubepulse_loadtest_requests:" + r,
		LTRunErrorRatio:  "run:kubepulse_loadtest_requests:error_ratio_" + r,
		LTQuantile: func(qn string) string {
			return "run_label:kubepulse_loadtest_request_duration_seconds:" + qn + "_" + r
		},
		CPUSummary:        "namespace_workload:kubepulse_pod_cpu_usage_seconds:" + q + "_" + si,
		MemSummary:        "namespace_workload:kubepulse_pod_memory_working_set_bytes:max_" + si,
		CPURecommended:    "namespace_workload:kubepulse_pod_cpu_request:recommended",
		MemRecommended:    "namespace_workload:kubepulse_pod_memory_request:recommended",
		WLCPURatioReqPeak: "namespace_workload:kubepulse_container_cpu_usage:ratio_requests_max_" + si,
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

// Build returns the rules for cfg. Its error is a config error (an alert
// key no alert has, a threshold out of range), naming the file and line.
func Build(cfg *config.Config) (*Set, error) {
	settings, err := ResolveAlerts(cfg)
	if err != nil {
		return nil, err
	}
	x := &b{cfg: cfg, c: cfg.Selectors.ClusterLabel, w: cfg.Recording.RateWindow.String()}
	n := NamesFor(cfg)
	iv, heavyIv := model.Duration(cfg.Recording.Interval), model.Duration(cfg.Recording.HeavyEvery())
	wl := x.by("namespace", "workload_kind", "workload")
	wlr := x.by("namespace", "workload_kind", "workload", "resource")
	s := &Set{rateWindow: model.Duration(cfg.Recording.RateWindow),
		testSteps:    testStepsPerMinute(time.Duration(cfg.Recording.RateWindow), time.Duration(cfg.Recording.Interval)),
		evalInterval: time.Duration(cfg.Recording.Interval)}
	group := func(name string, every model.Duration, rs ...rulefmt.Rule) {
		s.Records = append(s.Records, rulefmt.RuleGroup{Name: name, Interval: every, Rules: rs})
	}
	cpuRate := fmt.Sprintf(`rate(%s[%s])`, x.sel("kubepulse_container_cpu_usage_seconds_total"), x.w)

	// Heavy groups: one aggregation of one per-container metric each, the
	// workload labels taken from the series themselves. Containers of pods
	// the exporter could not place in a workload keep workload="", summed
	// per namespace like any other.
	group(GroupWorkloadCPU, heavyIv, rec(n.WorkloadCPU, fmt.Sprintf(`sum by (%s) (%s)`, wl, cpuRate)))
	// Summed over the error rules: every reader sums them anyway, and the
	// per-rule split is in the raw counters for the dashboard panel that
	// shows it. Zero rates are kept: the HPA-backing log series must read
	// 0, not nothing, while a workload logs no errors.
	group(GroupLogs, heavyIv,
		rec(n.LogWLRate, fmt.Sprintf(`sum by (%s) (rate(%s[%s]))`, wl, x.sel("kubepulse_log_matches_total", cfg.Selectors.LogErrorRules), x.w)),
		rec(n.LogNSRate, fmt.Sprintf(`sum by (%s) (%s)`, x.by("namespace"), n.LogWLRate)))

	// Workload level: the exporter's per-workload gauges (resource-holding
	// pods only) and ratios between workload records, one series per
	// workload on each side.
	group(GroupWorkload, iv,
		// Working set per workload and its largest pod, summed by the
		// exporter from the same reads as the container series (a gauge
		// sum is exact); sum and max by across exporter instances.
		rec(n.WorkloadMem, fmt.Sprintf(`sum by (%s) (%s)`, wl, x.sel("kubepulse_workload_memory_working_set_bytes"))),
		rec(n.WLPodMemMax, fmt.Sprintf(`max by (%s) (%s)`, wl, x.sel("kubepulse_workload_pod_max_memory_working_set_bytes"))),
		rec(n.WorkloadRequests, fmt.Sprintf(`sum by (%s) (%s)`, wlr, x.sel("kubepulse_workload_resource_requests"))),
		rec(n.WorkloadLimits, fmt.Sprintf(`sum by (%s) (%s)`, wlr, x.sel("kubepulse_workload_resource_limits"))),
		rec(n.WLPods, fmt.Sprintf(`sum by (%s) (%s)`, wl, x.sel("kubepulse_workload_pods"))),
	)
	group(GroupWorkloadUtilization, iv,
		rec(n.WLCPURatioReq, fmt.Sprintf(`%s / on (%s) %s{resource="cpu"}`, n.WorkloadCPU, wl, n.WorkloadRequests)),
		rec(n.WLCPURatioLim, fmt.Sprintf(`%s / on (%s) %s{resource="cpu"}`, n.WorkloadCPU, wl, n.WorkloadLimits)),
		rec(n.WLMemRatioReq, fmt.Sprintf(`%s / on (%s) %s{resource="memory"}`, n.WorkloadMem, wl, n.WorkloadRequests)),
		rec(n.WLMemRatioLim, fmt.Sprintf(`%s / on (%s) %s{resource="memory"}`, n.WorkloadMem, wl, n.WorkloadLimits)),
		// Average per pod = workload sum / pods.
		rec(n.WLPodCPUAvg, fmt.Sprintf(`%s / on (%s) %s`, n.WorkloadCPU, wl, n.WLPods)),
		rec(n.WLPodRequestsAvg, fmt.Sprintf(`%s / on (%s) group_left %s`, n.WorkloadRequests, wl, n.WLPods)),
		// Peak utilization per recommendations.interval, recorded every
		// interval like its inputs: the over-provisioning alert samples a
		// day of it every 30m (48 points per workload).
		rec(n.WLCPURatioReqPeak, fmt.Sprintf(`max_over_time(%s[%s])`, n.WLCPURatioReq, cfg.Recommendations.Interval)))
	group(GroupNamespace, iv,
		rec(n.NSCPU, fmt.Sprintf(`sum by (%s) (%s)`, x.by("namespace"), n.WorkloadCPU)),
		rec(n.NSMem, fmt.Sprintf(`sum by (%s) (%s)`, x.by("namespace"), n.WorkloadMem)),
		rec(n.NSRequests, fmt.Sprintf(`sum by (%s) (%s)`, x.by("namespace", "resource"), n.WorkloadRequests)),
		rec(n.NSLimits, fmt.Sprintf(`sum by (%s) (%s)`, x.by("namespace", "resource"), n.WorkloadLimits)))
	group(GroupNode, iv,
		// The node's own usage (system daemons included), as the kubelet
		// reports it: what the node really has left.
		rec(n.NodeCPU, fmt.Sprintf(`sum by (%s) (rate(%s[%s]))`, x.by("node"), x.sel("kubepulse_node_cpu_usage_seconds_total"), x.w)),
		rec(n.NodeMem, fmt.Sprintf(`sum by (%s) (%s)`, x.by("node"), x.sel("kubepulse_node_memory_working_set_bytes"))),
		rec(n.NodeReqRatio, fmt.Sprintf(`sum by (%[1]s) (%[2]s) / sum by (%[1]s) (%[3]s)`, x.by("node", "resource"), x.sel("kubepulse_node_requests"), x.sel("kubepulse_node_allocatable"))),
		rec(n.NodeLimRatio, fmt.Sprintf(`sum by (%[1]s) (%[2]s) / sum by (%[1]s) (%[3]s)`, x.by("node", "resource"), x.sel("kubepulse_node_limits"), x.sel("kubepulse_node_allocatable"))),
		rec(n.NodeCPURatio, fmt.Sprintf(`%s / on (%[2]s) sum by (%[2]s) (%[3]s)`, n.NodeCPU, x.by("node"), x.sel("kubepulse_node_allocatable", `resource="cpu"`))),
		rec(n.NodeMemRatio, fmt.Sprintf(`%s / on (%[2]s) sum by (%[2]s) (%[3]s)`, n.NodeMem, x.by("node"), x.sel("kubepulse_node_allocatable", `resource="memory"`))))
	group(GroupCluster, iv,
		rec(n.ClusterAlloc, fmt.Sprintf(`sum by (%s) (%s)`, x.by("resource"), x.sel("kubepulse_node_allocatable"))),
		rec(n.ClusterAllocMax, fmt.Sprintf(`max by (%s) (%s)`, x.by("resource"), x.sel("kubepulse_node_allocatable"))),
		rec(n.ClusterRequests, fmt.Sprintf(`sum by (%s) (%s)`, x.by("resource"), x.sel("kubepulse_node_requests"))),
		rec(n.ClusterNodes, fmt.Sprintf(`count by (%s) (%s)`, x.by("resource"), x.sel("kubepulse_node_allocatable"))))
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
	group(GroupLoadTest, iv, lt...)

	if ws := cfg.Autoscaling.Workloads; len(ws) > 0 {
		var hpa []rulefmt.Rule
		for _, w := range ws {
			m := fmt.Sprintf(`namespace=%q, workload_kind=%q, workload=%q`, w.Namespace, w.Kind, w.Name)
			var expr string
			switch w.Metric {
			case "cpu":
				expr = fmt.Sprintf(`max by (namespace, workload) (%s{%s})`, n.WLCPURatioReq, m)
			case "memory":
				expr = fmt.Sprintf(`max by (namespace, workload) (%s{%s})`, n.WLMemRatioReq, m)
			case "log_errors":
				// The workload-wide total: the HPA and KEDA divide it by
				// the replicas (AverageValue), so the target is per pod.
				expr = fmt.Sprintf(`sum by (namespace, workload) (%s{%s})`, n.LogWLRate, m)
			}
			// by (namespace, workload) drops the cluster and kind labels:
			// exactly one series per workload, as the external metrics API
			// needs.
			r := rec(HPARecord(cfg, w.Metric), expr)
			// The labels the aggregation keeps anyway, set statically too:
			// rules sharing a record name stay distinct (promtool's
			// duplicate-rules lint).
			r.Labels = map[string]string{"namespace": w.Namespace, "workload": w.Name}
			hpa = append(hpa, r)
		}
		group(GroupHPA, iv, hpa...)
	}

	rc := cfg.Recommendations
	group(GroupRecommendations, model.Duration(rc.Interval),
		rec(n.CPUSummary, fmt.Sprintf(`quantile_over_time(%g, %s[%s])`, rc.CPUQuantile, n.WLPodCPUAvg, rc.Interval)),
		rec(n.MemSummary, fmt.Sprintf(`max_over_time(%s[%s])`, n.WLPodMemMax, rc.Interval)),
		rec(n.CPURecommended, fmt.Sprintf(`quantile_over_time(%g, %s[%s]) * %g`, rc.CPUQuantile, n.CPUSummary, rc.Window, rc.CPUMargin)),
		rec(n.MemRecommended, fmt.Sprintf(`max_over_time(%s[%s]) * %g`, n.MemSummary, rc.Window, rc.MemoryMargin)))

	s.buildAlerts(x, n, settings)
	s.buildHPATest(x)
	return s, nil
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
