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

// Alert group names.
const (
	GroupAlertsCapacity = "kubepulse-capacity.alerts"
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

// tcase describes an alert's test: the firing inputs, the quiet inputs,
// when to look, the labels the alert must carry and the value its
// annotations render with.
type tcase struct {
	evalInterval string // test file evaluation_interval; default 1m
	fire, quiet  []promtest.Series
	at           string
	labels       map[string]string
	value        float64
	// valueIsEvalTime: the alert's value is the eval time in seconds.
	valueIsEvalTime bool
}

type alertDef struct {
	group string
	key   string
	rule  rulefmt.Rule
	test  tcase
	// perPod: the alert reads per-container series (300k at 150k pods,
	// 18 s for the four of them in one group). Sharded, it runs once per
	// FineShards pod shard, each copy in its own group: an alert
	// reads two raw metrics where a usage shard reads one, and at 9 shards
	// its copies took 0.6-0.95 s each at 150k pods. See shardAlert.
	perPod bool
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

func (s *Set) buildAlerts(x *b, n Names) {
	cfg := x.cfg
	A := &cfg.Alerts
	pc := x.by("namespace", "pod", "container")
	wl := x.by("namespace", "workload_kind", "workload")
	hpa := x.by("namespace", "hpa")
	owner := func(v string) promtest.Series {
		return x.ser("kubepulse_pod_owner", v, "namespace", "shop", "pod", "cart-1", "owner_kind", "ReplicaSet", "owner_name", "cart-5d8f", "workload_kind", "Deployment", "workload", "cart")
	}
	cont := []string{"namespace", "shop", "pod", "cart-1", "container", "app", "node", "n1"}
	with := func(base []string, kv ...string) []string { return append(append([]string{}, base...), kv...) }
	ctr := []string{"namespace", "shop", "pod", "cart-1", "container", "app"}
	lt := []string{"run", "r1", "label", "checkout"}
	window := cfg.Recording.RateWindow.String()

	defs := []alertDef{
		{GroupAlertsCapacity, "nodeRequestsOverAllocatable", rulefmt.Rule{
			Alert: "KubePulseNodeRequestsOverAllocatable",
			Expr:  fmt.Sprintf(`%s > %s`, n.NodeReqRatio, fmtNum(A.NodeRequestsOverAllocatable.Threshold)),
			Annotations: map[string]string{
				"summary":     "Pods on a node request more than the node can allocate.",
				"description": "Node {{ $labels.node }} has {{ $value | humanizePercentage }} of its allocatable {{ $labels.resource }} requested.",
			},
		}, tcase{
			fire:   []promtest.Series{x.ser("kubepulse_node_requests", "5+0x40", "node", "n1", "resource", "cpu", "unit", "core"), x.ser("kubepulse_node_allocatable", "4+0x40", "node", "n1", "resource", "cpu", "unit", "core")},
			quiet:  []promtest.Series{x.ser("kubepulse_node_requests", "3+0x40", "node", "n1", "resource", "cpu", "unit", "core"), x.ser("kubepulse_node_allocatable", "4+0x40", "node", "n1", "resource", "cpu", "unit", "core")},
			labels: x.exp("node", "n1", "resource", "cpu"), value: 1.25,
		}, false},
		{GroupAlertsCapacity, "clusterCannotLoseNode", rulefmt.Rule{
			Alert: "KubePulseClusterCannotLoseNode",
			Expr: fmt.Sprintf(`%[1]s > on (%[4]s) (%[2]s - %[3]s) and on (%[4]s) %[5]s > 1`,
				n.ClusterRequests, n.ClusterAlloc, n.ClusterAllocMax, x.by("resource"), n.ClusterNodes),
			Annotations: map[string]string{
				"summary":     "The cluster cannot tolerate losing its largest node.",
				"description": "Pods request {{ $value | humanize }} {{ $labels.resource }}, more than the nodes could allocate without the largest one.",
			},
		}, tcase{
			fire: []promtest.Series{
				x.ser("kubepulse_node_allocatable", "4+0x60", "node", "n1", "resource", "cpu", "unit", "core"),
				x.ser("kubepulse_node_allocatable", "4+0x60", "node", "n2", "resource", "cpu", "unit", "core"),
				x.ser("kubepulse_node_requests", "3+0x60", "node", "n1", "resource", "cpu", "unit", "core"),
				x.ser("kubepulse_node_requests", "3+0x60", "node", "n2", "resource", "cpu", "unit", "core")},
			quiet: []promtest.Series{
				x.ser("kubepulse_node_allocatable", "4+0x60", "node", "n1", "resource", "cpu", "unit", "core"),
				x.ser("kubepulse_node_allocatable", "4+0x60", "node", "n2", "resource", "cpu", "unit", "core"),
				x.ser("kubepulse_node_requests", "1+0x60", "node", "n1", "resource", "cpu", "unit", "core"),
				x.ser("kubepulse_node_requests", "1+0x60", "node", "n2", "resource", "cpu", "unit", "core")},
			labels: x.exp("resource", "cpu"), value: 6,
		}, false},
		{GroupAlertsWorkload, "memoryNearLimit", rulefmt.Rule{
			Alert: "KubePulseContainerMemoryNearLimit",
			Expr: fmt.Sprintf(`sum by (%[1]s) (%[2]s) / sum by (%[1]s) (%[3]s) > %[4]s`, pc,
				x.sel("kubepulse_container_memory_working_set_bytes", `container!=""`),
				x.sel("kubepulse_container_resource_limits", `resource="memory"`), fmtNum(A.MemoryNearLimit.Threshold)),
			Annotations: map[string]string{
				"summary":     "A container's memory is close to its limit; it risks being OOMKilled.",
				"description": "Container {{ $labels.namespace }}/{{ $labels.pod }}/{{ $labels.container }} uses {{ $value | humanizePercentage }} of its memory limit.",
			},
		}, tcase{
			fire:   []promtest.Series{x.ser("kubepulse_container_memory_working_set_bytes", "950+0x30", cont...), x.ser("kubepulse_container_resource_limits", "1000+0x30", with(cont, "resource", "memory", "unit", "byte")...)},
			quiet:  []promtest.Series{x.ser("kubepulse_container_memory_working_set_bytes", "500+0x30", cont...), x.ser("kubepulse_container_resource_limits", "1000+0x30", with(cont, "resource", "memory", "unit", "byte")...)},
			labels: x.exp(ctr...), value: 0.95,
		}, true},
		{GroupAlertsWorkload, "oomKilled", rulefmt.Rule{
			Alert: "KubePulseContainerOOMKilled",
			Expr: fmt.Sprintf(`sum by (%[1]s) (increase(%[2]s[10m])) > 0 and on (%[1]s) max by (%[1]s) (%[3]s) == 1`, pc,
				x.sel("kubepulse_container_restarts_total"), x.sel("kubepulse_container_last_terminated_reason", `reason="OOMKilled"`)),
			Annotations: map[string]string{
				"summary":     "A container was OOMKilled and restarted.",
				"description": "Container {{ $labels.namespace }}/{{ $labels.pod }}/{{ $labels.container }} was killed for running out of memory in the last 10 minutes.",
			},
		}, tcase{
			fire:   []promtest.Series{x.ser("kubepulse_container_restarts_total", "0+0x10 1+0x20", ctr...), x.ser("kubepulse_container_last_terminated_reason", "1+0x30", with(ctr, "reason", "OOMKilled")...)},
			quiet:  []promtest.Series{x.ser("kubepulse_container_restarts_total", "0+0x10 1+0x20", ctr...), x.ser("kubepulse_container_last_terminated_reason", "1+0x30", with(ctr, "reason", "Error")...)},
			at:     "15m",
			labels: x.exp(ctr...), value: 1,
		}, true},
		{GroupAlertsWorkload, "restartStorm", rulefmt.Rule{
			Alert: "KubePulseContainerRestartStorm",
			Expr:  fmt.Sprintf(`sum by (%s) (increase(%s[15m])) > %s`, pc, x.sel("kubepulse_container_restarts_total"), fmtNum(A.RestartStorm.Threshold)),
			Annotations: map[string]string{
				"summary":     "A container keeps restarting.",
				"description": "Container {{ $labels.namespace }}/{{ $labels.pod }}/{{ $labels.container }} restarted {{ $value | humanize }} times in 15 minutes.",
			},
		}, tcase{
			fire:   []promtest.Series{x.ser("kubepulse_container_restarts_total", "0+1x30", ctr...)},
			quiet:  []promtest.Series{x.ser("kubepulse_container_restarts_total", "0+0x30", ctr...)},
			at:     "20m",
			labels: x.exp(ctr...), value: 15,
		}, true},
		{GroupAlertsWorkload, "cpuAtLimit", rulefmt.Rule{
			Alert: "KubePulseContainerCPUAtLimit",
			Expr: fmt.Sprintf(`sum by (%[1]s) (rate(%[2]s[%[5]s])) / sum by (%[1]s) (%[3]s) > %[4]s`, pc,
				x.sel("kubepulse_container_cpu_usage_seconds_total"), x.sel("kubepulse_container_resource_limits", `resource="cpu"`),
				fmtNum(A.CPUAtLimit.Threshold), window),
			Annotations: map[string]string{
				"summary":     "A container's CPU usage is pinned at its limit; it is being throttled.",
				"description": "Container {{ $labels.namespace }}/{{ $labels.pod }}/{{ $labels.container }} uses {{ $value | humanizePercentage }} of its CPU limit.",
			},
		}, tcase{
			fire:   []promtest.Series{x.ser("kubepulse_container_cpu_usage_seconds_total", "0+60x40", cont...), x.ser("kubepulse_container_resource_limits", "1+0x40", with(cont, "resource", "cpu", "unit", "core")...)},
			quiet:  []promtest.Series{x.ser("kubepulse_container_cpu_usage_seconds_total", "0+30x40", cont...), x.ser("kubepulse_container_resource_limits", "1+0x40", with(cont, "resource", "cpu", "unit", "core")...)},
			at:     "25m",
			labels: x.exp(ctr...), value: 1,
		}, true},
		{GroupAlertsWorkload, "overProvisioned", rulefmt.Rule{
			Alert: "KubePulseWorkloadOverProvisioned",
			Expr: fmt.Sprintf(`quantile_over_time(0.95, %[1]s[1d]) < %[2]s and on (%[3]s) %[1]s offset 1d`,
				n.WLCPURatioReqMax, fmtNum(A.OverProvisioned.Threshold), wl),
			Annotations: map[string]string{
				"summary":     "A workload has used far less CPU than it requests for a day.",
				"description": fmt.Sprintf("Workload {{ $labels.namespace }}/{{ $labels.workload }} used at most {{ $value | humanizePercentage }} of its CPU requests (p95 of its %s peaks over 1 day); lower its requests to the recommended value.", cfg.Recommendations.Interval),
			},
		}, tcase{
			evalInterval: "30m",
			fire: []promtest.Series{owner("1+0x1600"),
				x.ser("kubepulse_container_cpu_usage_seconds_total", "0+30x1600", cont...),
				x.ser("kubepulse_container_resource_requests", "4+0x1600", with(cont, "resource", "cpu", "unit", "core")...)},
			quiet: []promtest.Series{owner("1+0x1600"),
				x.ser("kubepulse_container_cpu_usage_seconds_total", "0+180x1600", cont...),
				x.ser("kubepulse_container_resource_requests", "4+0x1600", with(cont, "resource", "cpu", "unit", "core")...)},
			at:     "26h",
			labels: x.exp("namespace", "shop", "workload_kind", "Deployment", "workload", "cart"), value: 0.125,
		}, false},
		{GroupAlertsLogs, "logErrorRateHigh", rulefmt.Rule{
			Alert: "KubePulseLogErrorRateHigh",
			Expr:  fmt.Sprintf(`sum by (%s) (%s) > %s`, pc, n.LogPodRate, fmtNum(A.LogErrorRateHigh.Threshold)),
			Annotations: map[string]string{
				"summary":     "A container logs errors at a high rate.",
				"description": "Container {{ $labels.namespace }}/{{ $labels.pod }}/{{ $labels.container }} logs {{ $value | humanize }} error lines per second.",
			},
		}, tcase{
			fire:   []promtest.Series{x.ser("kubepulse_log_matches_total", "0+120x30", with(ctr, "rule", "error")...)},
			quiet:  []promtest.Series{x.ser("kubepulse_log_matches_total", "0+30x30", with(ctr, "rule", "error")...)},
			labels: x.exp(ctr...), value: 2,
		}, true},
		{GroupAlertsLogs, "logErrorSpike", rulefmt.Rule{
			Alert: "KubePulseLogErrorSpike",
			Expr: fmt.Sprintf(`%[1]s > %[2]s * clamp_min(avg_over_time(%[1]s[1d] offset 30m), 1 / 60)`,
				n.LogWLRate, fmtNum(A.LogErrorSpike.Threshold)),
			Annotations: map[string]string{
				"summary":     "A workload's log error rate spiked against its own daily baseline.",
				"description": fmt.Sprintf("Workload {{ $labels.namespace }}/{{ $labels.workload }} logs {{ $value | humanize }} error lines per second, over %s times its average of the last day.", fmtNum(A.LogErrorSpike.Threshold)),
			},
		}, tcase{
			evalInterval: "5m",
			fire:         []promtest.Series{owner("1+0x160"), x.ser("kubepulse_log_matches_total", "0+6x120 840+120x40", with(ctr, "rule", "error")...)},
			quiet:        []promtest.Series{owner("1+0x160"), x.ser("kubepulse_log_matches_total", "0+6x160", with(ctr, "rule", "error")...)},
			at:           "140m",
			labels:       x.exp("namespace", "shop", "workload_kind", "Deployment", "workload", "cart"), value: 2,
		}, false},
		{GroupAlertsLoadTest, "loadTestLatencySLO", rulefmt.Rule{
			Alert: "KubePulseLoadTestLatencySLOBreached",
			Expr:  fmt.Sprintf(`%s > %s`, n.LTQuantile("p99"), fmtNum(A.LoadTestLatencySLO.Threshold)),
			Annotations: map[string]string{
				"summary":     "A load test breaches its p99 latency SLO.",
				"description": fmt.Sprintf("Load test {{ $labels.run }} request {{ $labels.label }} has a p99 latency of {{ $value | humanizeDuration }}, above the SLO of %s.", humanDur(A.LoadTestLatencySLO.Threshold)),
			},
		}, tcase{
			fire: []promtest.Series{
				x.ser("kubepulse_loadtest_request_duration_seconds_bucket", "0+0x30", with(lt, "le", "0.1")...),
				x.ser("kubepulse_loadtest_request_duration_seconds_bucket", "0+0x30", with(lt, "le", "0.5")...),
				x.ser("kubepulse_loadtest_request_duration_seconds_bucket", "0+10x30", with(lt, "le", "1")...),
				x.ser("kubepulse_loadtest_request_duration_seconds_bucket", "0+10x30", with(lt, "le", "+Inf")...)},
			quiet: []promtest.Series{
				x.ser("kubepulse_loadtest_request_duration_seconds_bucket", "0+10x30", with(lt, "le", "0.1")...),
				x.ser("kubepulse_loadtest_request_duration_seconds_bucket", "0+10x30", with(lt, "le", "0.5")...),
				x.ser("kubepulse_loadtest_request_duration_seconds_bucket", "0+10x30", with(lt, "le", "1")...),
				x.ser("kubepulse_loadtest_request_duration_seconds_bucket", "0+10x30", with(lt, "le", "+Inf")...)},
			at:     "10m",
			labels: x.exp(lt...), value: 0.995,
		}, false},
		{GroupAlertsLoadTest, "loadTestErrorRatio", rulefmt.Rule{
			Alert: "KubePulseLoadTestErrorRatioHigh",
			Expr:  fmt.Sprintf(`%s > %s`, n.LTErrorRatio, fmtNum(A.LoadTestErrorRatio.Threshold)),
			Annotations: map[string]string{
				"summary":     "A load test's error ratio breaches its SLO.",
				"description": fmt.Sprintf("Load test {{ $labels.run }} request {{ $labels.label }} fails {{ $value | humanizePercentage }} of requests, above the SLO of %s.", humanPct(A.LoadTestErrorRatio.Threshold)),
			},
		}, tcase{
			fire: []promtest.Series{
				x.ser("kubepulse_loadtest_requests_total", "0+90x30", with(lt, "code", "200", "result", "success")...),
				x.ser("kubepulse_loadtest_requests_total", "0+10x30", with(lt, "code", "500", "result", "failure")...)},
			quiet: []promtest.Series{
				x.ser("kubepulse_loadtest_requests_total", "0+90x30", with(lt, "code", "200", "result", "success")...),
				x.ser("kubepulse_loadtest_requests_total", "0+0x30", with(lt, "code", "500", "result", "failure")...)},
			at:     "10m",
			labels: x.exp(lt...), value: 0.1,
		}, false},
		{GroupAlertsHPA, "hpaAtMaxReplicas", rulefmt.Rule{
			Alert: "KubePulseHPAAtMaxReplicas",
			Expr: fmt.Sprintf(`max by (%[1]s) (%[2]s) >= on (%[1]s) max by (%[1]s) (%[3]s) and on (%[1]s) max by (%[1]s) (%[4]s) >= on (%[1]s) max by (%[1]s) (%[3]s) unless on (%[1]s) max by (%[1]s) (%[3]s) == on (%[1]s) max by (%[1]s) (%[5]s)`,
				hpa, x.sel("kubepulse_hpa_current_replicas"), x.sel("kubepulse_hpa_max_replicas"), x.sel("kubepulse_hpa_desired_replicas"), x.sel("kubepulse_hpa_min_replicas")),
			Annotations: map[string]string{
				"summary":     "An HPA runs at its maximum replicas and wants more.",
				"description": "HPA {{ $labels.namespace }}/{{ $labels.hpa }} has run at its maximum of {{ $value }} replicas and its metric asks for more; raise max or the workload's capacity.",
			},
		}, tcase{
			fire: []promtest.Series{
				x.ser("kubepulse_hpa_current_replicas", "10+0x30", "namespace", "shop", "hpa", "cart"),
				x.ser("kubepulse_hpa_desired_replicas", "12+0x30", "namespace", "shop", "hpa", "cart"),
				x.ser("kubepulse_hpa_max_replicas", "10+0x30", "namespace", "shop", "hpa", "cart"),
				x.ser("kubepulse_hpa_min_replicas", "2+0x30", "namespace", "shop", "hpa", "cart")},
			quiet: []promtest.Series{
				x.ser("kubepulse_hpa_current_replicas", "5+0x30", "namespace", "shop", "hpa", "cart"),
				x.ser("kubepulse_hpa_desired_replicas", "5+0x30", "namespace", "shop", "hpa", "cart"),
				x.ser("kubepulse_hpa_max_replicas", "10+0x30", "namespace", "shop", "hpa", "cart"),
				x.ser("kubepulse_hpa_min_replicas", "2+0x30", "namespace", "shop", "hpa", "cart")},
			labels: x.exp("namespace", "shop", "hpa", "cart"), value: 10,
		}, false},
		{GroupAlertsHPA, "hpaUnableToScale", rulefmt.Rule{
			Alert: "KubePulseHPAUnableToScale",
			Expr: fmt.Sprintf(`max by (%s) (%s) == 1`, x.by("namespace", "hpa", "condition"),
				x.sel("kubepulse_hpa_condition", `condition=~"AbleToScale|ScalingActive"`, `status=~"(?i)false"`)),
			Annotations: map[string]string{
				"summary":     "An HPA cannot scale.",
				"description": "HPA {{ $labels.namespace }}/{{ $labels.hpa }} reports condition {{ $labels.condition }} false.",
			},
		}, tcase{
			fire: []promtest.Series{
				x.ser("kubepulse_hpa_condition", "1+0x30", "namespace", "shop", "hpa", "cart", "condition", "AbleToScale", "status", "false"),
				x.ser("kubepulse_hpa_condition", "0+0x30", "namespace", "shop", "hpa", "cart", "condition", "AbleToScale", "status", "true")},
			quiet: []promtest.Series{
				x.ser("kubepulse_hpa_condition", "0+0x30", "namespace", "shop", "hpa", "cart", "condition", "AbleToScale", "status", "false"),
				x.ser("kubepulse_hpa_condition", "1+0x30", "namespace", "shop", "hpa", "cart", "condition", "AbleToScale", "status", "true")},
			labels: x.exp("namespace", "shop", "hpa", "cart", "condition", "AbleToScale"), value: 1,
		}, false},
		{GroupAlertsHPA, "hpaMetricMissing", rulefmt.Rule{
			Alert: "KubePulseHPAMetricMissing",
			Expr: fmt.Sprintf(`max by (%[1]s) (%[2]s) unless on (%[1]s) max by (%[1]s) (%[3]s)`, x.by("namespace", "hpa", "metric_name"),
				x.sel("kubepulse_hpa_target_metric"), x.sel("kubepulse_hpa_current_metric")),
			Annotations: map[string]string{
				"summary":     "An HPA has a target but no current value for one of its metrics.",
				"description": "HPA {{ $labels.namespace }}/{{ $labels.hpa }} gets no value for metric {{ $labels.metric_name }}; check the metrics adapter and the recording rule behind it.",
			},
		}, tcase{
			fire: []promtest.Series{x.ser("kubepulse_hpa_target_metric", "0.7+0x30", "namespace", "shop", "hpa", "cart", "metric_name", "kubepulse_hpa_cpu_utilization_ratio", "metric_target_type", "value")},
			quiet: []promtest.Series{x.ser("kubepulse_hpa_target_metric", "0.7+0x30", "namespace", "shop", "hpa", "cart", "metric_name", "kubepulse_hpa_cpu_utilization_ratio", "metric_target_type", "value"),
				x.ser("kubepulse_hpa_current_metric", "0.5+0x30", "namespace", "shop", "hpa", "cart", "metric_name", "kubepulse_hpa_cpu_utilization_ratio", "metric_target_type", "value")},
			labels: x.exp("namespace", "shop", "hpa", "cart", "metric_name", "kubepulse_hpa_cpu_utilization_ratio"), value: 0.7,
		}, false},
		{GroupAlertsExporter, "collectorFailing", rulefmt.Rule{
			Alert: "KubePulseCollectorFailing",
			Expr:  fmt.Sprintf(`min by (%s) (%s) == 0`, x.by("instance", "collector"), x.sel("kubepulse_scrape_collector_success")),
			Annotations: map[string]string{
				"summary":     "A kubepulse collector fails on every scrape.",
				"description": "Collector {{ $labels.collector }} on {{ $labels.instance }} has failed for a while; its metrics are missing or stale. See the exporter's log.",
			},
		}, tcase{
			fire:   []promtest.Series{x.ser("kubepulse_scrape_collector_success", "0+0x30", "collector", "cluster")},
			quiet:  []promtest.Series{x.ser("kubepulse_scrape_collector_success", "1+0x30", "collector", "cluster")},
			labels: x.exp("instance", "kubepulse-0", "collector", "cluster"), value: 0,
		}, false},
		{GroupAlertsExporter, "logTailerLagging", rulefmt.Rule{
			Alert: "KubePulseLogTailerLagging",
			Expr:  fmt.Sprintf(`max by (%s) (%s) > %s`, x.by("instance"), x.sel("kubepulse_log_lag_bytes"), fmtNum(A.LogTailerLagging.Threshold)),
			Annotations: map[string]string{
				"summary":     "The kubepulse log tailer falls behind the log files.",
				"description": "kubepulse on {{ $labels.instance }} has {{ $value | humanize1024 }}B of container logs not yet read; log error metrics lag behind.",
			},
		}, tcase{
			fire:   []promtest.Series{x.ser("kubepulse_log_lag_bytes", "33554432+0x30")},
			quiet:  []promtest.Series{x.ser("kubepulse_log_lag_bytes", "1024+0x30")},
			labels: x.exp("instance", "kubepulse-0"), value: 33554432,
		}, false},
		{GroupAlertsExporter, "kubeletScrapeErrors", rulefmt.Rule{
			Alert: "KubePulseKubeletScrapeErrors",
			Expr:  fmt.Sprintf(`sum by (%s) (rate(%s[%s])) > %s`, x.by("node"), x.sel("kubepulse_kubelet_scrape_errors_total"), window, fmtNum(A.KubeletScrapeErrors.Threshold)),
			Annotations: map[string]string{
				"summary":     "kubepulse cannot scrape a kubelet.",
				"description": "Scraping the kubelet on node {{ $labels.node }} fails {{ $value | humanize }} times per second; that node's usage metrics are missing.",
			},
		}, tcase{
			fire:   []promtest.Series{x.ser("kubepulse_kubelet_scrape_errors_total", "0+1x30", "node", "n1")},
			quiet:  []promtest.Series{x.ser("kubepulse_kubelet_scrape_errors_total", "0+0x30", "node", "n1")},
			labels: x.exp("node", "n1"), value: 1.0 / 60,
		}, false},
		{GroupAlertsExporter, "apiserverStale", rulefmt.Rule{
			Alert: "KubePulseAPIServerStale",
			Expr: fmt.Sprintf(`max by (%[1]s) (time() - %[2]s) > %[4]s unless on (%[1]s) max by (%[1]s) (%[3]s) == 1`, x.by("instance", "source"),
				x.sel("kubepulse_source_last_sync_timestamp_seconds", cfg.Selectors.APIServerSources),
				x.sel("kubepulse_source_up", cfg.Selectors.APIServerSources), fmtNum(A.APIServerStale.Threshold)),
			Annotations: map[string]string{
				"summary":     "kubepulse lost its apiserver watch; cluster metrics are stale.",
				"description": "kubepulse on {{ $labels.instance }} cannot list/watch {{ $labels.source }}; its last answer from the apiserver was {{ $value | humanizeDuration }} ago and it serves the last known state.",
			},
		}, tcase{
			fire: []promtest.Series{x.ser("kubepulse_source_last_sync_timestamp_seconds", "0+0x30", "source", "pods"),
				x.ser("kubepulse_source_up", "0+0x30", "source", "pods")},
			quiet: []promtest.Series{x.ser("kubepulse_source_last_sync_timestamp_seconds", "0+0x30", "source", "pods"),
				x.ser("kubepulse_source_up", "1+0x30", "source", "pods")},
			at:     "12m",
			labels: x.exp("instance", "kubepulse-0", "source", "pods"), valueIsEvalTime: true,
		}, false},
	}

	groups := map[string]*rulefmt.RuleGroup{}
	var order []string
	byKey := map[string]config.Alert{}
	for _, na := range cfg.AlertList() {
		byKey[na.Key] = na.Alert
	}
	for _, d := range defs {
		ac, ok := byKey[d.key]
		if !ok {
			panic("rules: alert " + d.key + " has no config entry")
		}
		if ac.Disabled {
			continue
		}
		r := d.rule
		r.For = model.Duration(ac.For)
		r.Labels = map[string]string{"severity": string(ac.Severity)}
		for k, v := range cfg.Alerts.ExtraLabels {
			r.Labels[k] = v
		}
		r.Annotations["runbook_url"] = fmt.Sprintf(cfg.Alerts.RunbookURLPattern, strings.ToLower(r.Alert))
		add := func(group string, r rulefmt.Rule) {
			g, ok := groups[group]
			if !ok {
				g = &rulefmt.RuleGroup{Name: group}
				groups[group] = g
				order = append(order, group)
			}
			g.Rules = append(g.Rules, r)
		}
		tested := r
		if n := FineShards(cfg.Recording.Shards); d.perPod && n > 1 {
			var copies []rulefmt.Rule
			for i, re := range shardRegexes(n) {
				copies = append(copies, shardAlert(r, re, i))
				add(alertShardGroup(r.Alert, i), copies[i])
			}
			// One test per alert: its pod falls in one shard, whose copy
			// fires with that shard's label.
			tested = copies[ShardOf(d.test.labels["pod"], n)]
		} else {
			add(d.group, r)
		}
		s.Tests = append(s.Tests, AlertTest{Alert: r.Alert, File: s.alertTestFile(tested, ac, d.test)})
	}
	for _, name := range order {
		s.Alerts = append(s.Alerts, *groups[name])
	}
	// Tests are written after all groups exist: fix their group order.
	for i := range s.Tests {
		s.Tests[i].File.GroupEvalOrder = s.GroupOrder()
	}
}

// shardAlert returns copy i of a per-pod alert for one pod shard: the
// shard's pod regex (pod=~".*[...]") is added to every selector of the
// expression, so each copy reads its shard's share of the per-container
// series and the copies together see every pod exactly once (the shards
// partition pod names). The copy gains a static shard="<i>" label: rules
// with the same name and labels are duplicates to promtool's lint (and
// would clash in one evaluation), even with disjoint expressions. Name and
// annotations are unchanged.
func shardAlert(r rulefmt.Rule, podRegex string, i int) rulefmt.Rule {
	m := labels.MustNewMatcher(labels.MatchRegexp, "pod", podRegex)
	e, err := parser.NewParser(parser.Options{}).ParseExpr(r.Expr)
	if err != nil {
		panic(fmt.Sprintf("rules: alert %s: %v", r.Alert, err))
	}
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok {
			vs.LabelMatchers = append(vs.LabelMatchers, m)
		}
		return nil
	})
	out := r
	out.Expr = e.String()
	out.Labels = map[string]string{"shard": strconv.Itoa(i)}
	for k, v := range r.Labels {
		out.Labels[k] = v
	}
	return out
}

// alertShardGroup names shard i of a per-pod alert:
// KubePulseContainerOOMKilled -> kubepulse-container-oom-killed-shard-<i>.alerts.
func alertShardGroup(alert string, i int) string {
	name := strings.TrimPrefix(alert, "KubePulse")
	var b strings.Builder
	b.WriteString("kubepulse")
	for j := 0; j < len(name); j++ {
		c := name[j]
		// A word starts at an upper-case letter after a lower-case one, or
		// before one (OOMKilled -> oom-killed).
		if isUpper(c) && (j == 0 || !isUpper(name[j-1]) || (j+1 < len(name) && !isUpper(name[j+1]))) {
			b.WriteByte('-')
		}
		if isUpper(c) {
			c += 'a' - 'A'
		}
		b.WriteByte(c)
	}
	return b.String() + "-shard-" + strconv.Itoa(i) + ".alerts"
}

func isUpper(c byte) bool { return c >= 'A' && c <= 'Z' }

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
	f := promtest.File{
		RuleFiles: []string{"../prometheus_rules.yaml", "../prometheus_alerts.yaml"},
		Tests: []promtest.Group{
			{Name: r.Alert + " fires", Interval: s.testInterval(), InputSeries: resample(t.fire, s.testSteps),
				AlertRuleTests: []promtest.AlertCase{{EvalTime: atD, Alertname: r.Alert, ExpAlerts: []promtest.ExpAlert{{ExpLabels: lbls, ExpAnnotations: ann}}}}},
			{Name: r.Alert + " stays quiet", Interval: s.testInterval(), InputSeries: resample(t.quiet, s.testSteps),
				AlertRuleTests: []promtest.AlertCase{{EvalTime: atD, Alertname: r.Alert}}},
		},
	}
	if t.evalInterval != "" {
		d, _ := model.ParseDuration(t.evalInterval)
		f.EvaluationInterval = d
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
