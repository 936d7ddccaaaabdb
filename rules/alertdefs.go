package rules

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/prometheus/common/model"

	"github.com/kubepulse/kubepulse/mixin/config"
	"github.com/kubepulse/kubepulse/mixin/promtest"
)

func dflt(th float64, f string, sev config.Severity) config.Alert {
	d, err := model.ParseDuration(f)
	if err != nil {
		panic(err)
	}
	return config.Alert{Threshold: th, For: config.Duration(d), Severity: sev}
}

func withWindow(a config.Alert, w string) config.Alert {
	d, err := model.ParseDuration(w)
	if err != nil {
		panic(err)
	}
	a.Window = config.Duration(d)
	return a
}

// Test fixtures: one container of the cart Deployment, its labels as the
// exporter writes them (workload labels on every container series).
var (
	ctrKV = []string{"namespace", "shop", "pod", "cart-1", "container", "app", "workload_kind", "Deployment", "workload", "cart"}
	podKV = []string{"namespace", "shop", "pod", "cart-1", "workload_kind", "Deployment", "workload", "cart"}
	wlKV  = []string{"namespace", "shop", "workload_kind", "Deployment", "workload", "cart"}
	hpaKV = []string{"namespace", "shop", "hpa", "cart"}
	ltKV  = []string{"run", "r1", "label", "checkout"}
)

func with(base []string, kv ...string) []string { return append(append([]string{}, base...), kv...) }

// overcommit is the resource matcher of the overcommit alerts.
func (x *b) overcommit() string {
	var rs []string
	for _, r := range x.cfg.Alerts.OvercommitResources {
		rs = append(rs, regexp.QuoteMeta(r))
	}
	return fmt.Sprintf(`resource=~%q`, strings.Join(rs, "|"))
}

// Alerts returns every alert definition, in file order.
func Alerts() []AlertSpec {
	return []AlertSpec{
		{Key: "nodeRequestsOverAllocatable", Name: "KubePulseNodeRequestsOverAllocatable", Group: GroupAlertsCapacity,
			Default: dflt(1, "15m", "warning"), Ratio: true,
			build: func(x *b, n Names, a config.Alert) (string, map[string]string, tcase) {
				node := func(res, unit string, req, alloc string) []promtest.Series {
					return in(x.ser("kubepulse_node_requests", req+"+0x40", "node", "n1", "resource", res, "unit", unit),
						x.ser("kubepulse_node_allocatable", alloc+"+0x40", "node", "n1", "resource", res, "unit", unit))
				}
				return fmt.Sprintf(`%s{%s} > %s`, n.NodeReqRatio, x.overcommit(), fmtNum(a.Threshold)), map[string]string{
						"summary":     "Pods on a node request more than the node can allocate.",
						"description": "Node {{ $labels.node }} has {{ $value | humanizePercentage }} of its allocatable {{ $labels.resource }} requested.",
					}, tcase{
						fire: node("cpu", "core", "5", "4"),
						// A GPU pool requested past its allocatable is not
						// watched by default (alerts.overcommitResources).
						quiet:  q(node("cpu", "core", "3", "4"), node("nvidia.com/gpu", "integer", "9", "8")),
						labels: x.exp("node", "n1", "resource", "cpu"), value: 1.25,
					}
			}},
		{Key: "clusterCannotLoseNode", Name: "KubePulseClusterCannotLoseNode", Group: GroupAlertsCapacity,
			Default: dflt(0, "30m", "warning"),
			build: func(x *b, n Names, a config.Alert) (string, map[string]string, tcase) {
				two := func(res, unit, req string) []promtest.Series {
					var out []promtest.Series
					for _, node := range []string{"n1", "n2"} {
						out = append(out, x.ser("kubepulse_node_allocatable", "4+0x60", "node", node, "resource", res, "unit", unit),
							x.ser("kubepulse_node_requests", req+"+0x60", "node", node, "resource", res, "unit", unit))
					}
					return out
				}
				return fmt.Sprintf(`%[1]s{%[6]s} > on (%[4]s) (%[2]s - %[3]s) and on (%[4]s) %[5]s > 1`,
						n.ClusterRequests, n.ClusterAlloc, n.ClusterAllocMax, x.by("resource"), n.ClusterNodes, x.overcommit()), map[string]string{
						"summary":     "The cluster cannot tolerate losing its largest node.",
						"description": "Pods request {{ $value | humanize }} {{ $labels.resource }}, more than the nodes could allocate without the largest one.",
					}, tcase{
						fire:   two("cpu", "core", "3"),
						quiet:  q(two("cpu", "core", "1"), two("nvidia.com/gpu", "integer", "4")),
						labels: x.exp("resource", "cpu"), value: 6,
					}
			}},
		{Key: "nodeNotReady", Name: "KubePulseNodeNotReady", Group: GroupAlertsNodes,
			Default: dflt(0, "15m", "warning"),
			build: func(x *b, n Names, a config.Alert) (string, map[string]string, tcase) {
				cond := func(t, f string) []promtest.Series {
					return in(x.ser("kubepulse_node_condition", t+"+0x30", "node", "n1", "condition", "Ready", "status", "true"),
						x.ser("kubepulse_node_condition", f+"+0x30", "node", "n1", "condition", "Ready", "status", "false"))
				}
				return fmt.Sprintf(`max by (%s) (%s) == 0`, x.by("node"), x.sel("kubepulse_node_condition", `condition="Ready"`, `status="true"`)), map[string]string{
						"summary":     "A node is not Ready.",
						"description": "Node {{ $labels.node }} has not been Ready for a while; its pods are not running or not reachable.",
					}, tcase{
						fire: cond("0", "1"), quiet: q(cond("1", "0")),
						labels: x.exp("node", "n1"), value: 0,
					}
			}},
		{Key: "nodeUnderPressure", Name: "KubePulseNodeUnderPressure", Group: GroupAlertsNodes,
			Default: dflt(0, "5m", "warning"),
			build: func(x *b, n Names, a config.Alert) (string, map[string]string, tcase) {
				cond := func(c, v string) []promtest.Series {
					return in(x.ser("kubepulse_node_condition", v+"+0x30", "node", "n1", "condition", c, "status", "true"))
				}
				return fmt.Sprintf(`max by (%s) (%s) == 1`, x.by("node", "condition"),
						x.sel("kubepulse_node_condition", `condition=~"MemoryPressure|DiskPressure|PIDPressure"`, `status="true"`)), map[string]string{
						"summary":     "A node is under memory, disk or PID pressure.",
						"description": "Node {{ $labels.node }} reports {{ $labels.condition }}; the kubelet evicts pods and admits no new ones.",
					}, tcase{
						fire: cond("DiskPressure", "1"), quiet: q(cond("DiskPressure", "0"), cond("NetworkUnavailable", "1")),
						labels: x.exp("node", "n1", "condition", "DiskPressure"), value: 1,
					}
			}},
		{Key: "podPendingTooLong", Name: "KubePulsePodPendingTooLong", Group: GroupAlertsPods,
			Default: dflt(900, "1m", "warning"),
			build: func(x *b, n Names, a config.Alert) (string, map[string]string, tcase) {
				return fmt.Sprintf(`time() - max by (%s) (%s) > %s`, x.by(podKV[0], podKV[2], podKV[4], podKV[6]),
						x.sel("kubepulse_pod_pending_since_timestamp_seconds"), fmtNum(a.Threshold)), map[string]string{
						"summary":     "A pod has been Pending for too long.",
						"description": "Pod {{ $labels.namespace }}/{{ $labels.pod }} has been Pending for {{ $value | humanizeDuration }}; see its events for why it is not scheduled or not started.",
					}, tcase{
						// Pending since t=0, then since t=1000 s: 200 s at 20m.
						fire:  in(x.ser("kubepulse_pod_pending_since_timestamp_seconds", "0+0x30", podKV...)),
						quiet: q(in(x.ser("kubepulse_pod_pending_since_timestamp_seconds", "1000+0x30", podKV...))),
						at:    "20m", labels: x.exp(podKV...), valueIsEvalTime: true,
					}
			}},
		{Key: "podUnschedulable", Name: "KubePulsePodUnschedulable", Group: GroupAlertsPods,
			Default: dflt(0, "15m", "warning"),
			build: func(x *b, n Names, a config.Alert) (string, map[string]string, tcase) {
				return fmt.Sprintf(`max by (%s) (%s) == 1`, x.by(podKV[0], podKV[2], podKV[4], podKV[6]), x.sel("kubepulse_pod_unschedulable")), map[string]string{
						"summary":     "The scheduler finds no node for a pod.",
						"description": "Pod {{ $labels.namespace }}/{{ $labels.pod }} has been unschedulable for a while: no node has the resources, or its affinity, taints or volumes rule all nodes out.",
					}, tcase{
						fire: in(x.ser("kubepulse_pod_unschedulable", "1+0x30", podKV...)), quiet: q(in(x.ser("kubepulse_pod_unschedulable", "0+0x30", podKV...))),
						labels: x.exp(podKV...), value: 1,
					}
			}},
		{Key: "memoryNearLimit", Name: "KubePulseContainerMemoryNearLimit", Group: GroupAlertsContainerMemory,
			Default: dflt(0.9, "15m", "warning"), Ratio: true,
			build: func(x *b, n Names, a config.Alert) (string, map[string]string, tcase) {
				// The exporter divides working set by limit: no join of
				// two per-container metrics in Prometheus. Filtered before
				// the max (which only drops job and instance): aggregating
				// the few containers over the threshold, not all of them.
				return fmt.Sprintf(`max by (%s) (%s > %s)`, x.ctrBy(), x.sel("kubepulse_container_memory_working_set_limit_ratio"), fmtNum(a.Threshold)), map[string]string{
						"summary":     "A container's memory is close to its limit; it risks being OOMKilled.",
						"description": "Container {{ $labels.namespace }}/{{ $labels.pod }}/{{ $labels.container }} uses {{ $value | humanizePercentage }} of its memory limit.",
					}, tcase{
						fire:   in(x.ser("kubepulse_container_memory_working_set_limit_ratio", "0.95+0x30", ctrKV...)),
						quiet:  q(in(x.ser("kubepulse_container_memory_working_set_limit_ratio", "0.5+0x30", ctrKV...))),
						labels: x.exp(ctrKV...), value: 0.95,
					}
			}},
		{Key: "cpuAtLimit", Name: "KubePulseContainerCPUAtLimit", Group: GroupAlertsContainerCPU,
			Default: dflt(0.95, "15m", "warning"), Ratio: true,
			build: func(x *b, n Names, a config.Alert) (string, map[string]string, tcase) {
				// The exporter's ratio is the usage between its last two
				// kubelet reads over the limit; the for (15m) asks for it
				// at every evaluation. An instant filter: averaging it
				// over a window would decode a window of samples of every
				// container with a CPU limit.
				return fmt.Sprintf(`max by (%s) (%s > %s)`, x.ctrBy(), x.sel("kubepulse_container_cpu_usage_limit_ratio"), fmtNum(a.Threshold)), map[string]string{
						"summary":     "A container's CPU usage is pinned at its limit; it is being throttled.",
						"description": "Container {{ $labels.namespace }}/{{ $labels.pod }}/{{ $labels.container }} uses {{ $value | humanizePercentage }} of its CPU limit.",
					}, tcase{
						fire:   in(x.ser("kubepulse_container_cpu_usage_limit_ratio", "1+0x40", ctrKV...)),
						quiet:  q(in(x.ser("kubepulse_container_cpu_usage_limit_ratio", "0.5+0x40", ctrKV...))),
						at:     "25m",
						labels: x.exp(ctrKV...), value: 1,
					}
			}},
		{Key: "oomKilled", Name: "KubePulseContainerOOMKilled", Group: GroupAlertsRestarts,
			Default: dflt(0, "0s", "warning"),
			build: func(x *b, n Names, a config.Alert) (string, map[string]string, tcase) {
				// The exporter's last-termination time: the selector
				// reads only containers whose last termination was an
				// OOM kill, not every restart counter with increase().
				// Tests evaluate at 15m (900 s since the epoch).
				term := func(r, at string) []promtest.Series {
					return in(x.ser("kubepulse_container_last_terminated_timestamp_seconds", at+"+0x30", with(ctrKV, "reason", r)...))
				}
				return fmt.Sprintf(`time() - max by (%s) (%s) < 600`, x.ctrBy(),
						x.sel("kubepulse_container_last_terminated_timestamp_seconds", `reason="OOMKilled"`)), map[string]string{
						"summary":     "A container was OOMKilled.",
						"description": "Container {{ $labels.namespace }}/{{ $labels.pod }}/{{ $labels.container }} was killed for running out of memory {{ $value | humanizeDuration }} ago.",
					}, tcase{
						// Quiet: an OOM kill 15 minutes back, and a recent
						// termination for another reason.
						fire: term("OOMKilled", "600"), quiet: q(term("OOMKilled", "0"), term("Error", "600")),
						at: "15m", labels: x.exp(ctrKV...), value: 300,
					}
			}},
		{Key: "crashLooping", Name: "KubePulseContainerCrashLooping", Group: GroupAlertsRestarts,
			Default: dflt(0, "15m", "warning"),
			build: func(x *b, n Names, a config.Alert) (string, map[string]string, tcase) {
				// The waiting reason, not a restart count: at the kubelet's
				// 5m back-off a crash-looping container restarts only ~3
				// times in 15m. max_over_time bridges the seconds it runs
				// between back-offs.
				waiting := func(r string) []promtest.Series {
					return in(x.ser("kubepulse_container_waiting_reason", "1+0x30", with(ctrKV, "reason", r)...))
				}
				return fmt.Sprintf(`max by (%s) (max_over_time(%s[%s])) >= 1`, x.ctrBy(),
						x.sel("kubepulse_container_waiting_reason", `reason="CrashLoopBackOff"`), x.w), map[string]string{
						"summary":     "A container is in CrashLoopBackOff.",
						"description": "Container {{ $labels.namespace }}/{{ $labels.pod }}/{{ $labels.container }} keeps crashing and waits in CrashLoopBackOff; see its previous logs.",
					}, tcase{
						fire: waiting("CrashLoopBackOff"), quiet: q(waiting("ContainerCreating")),
						labels: x.exp(ctrKV...), value: 1,
					}
			}},
		{Key: "overProvisioned", Name: "KubePulseWorkloadOverProvisioned", Group: GroupAlertsWorkload,
			Default: withWindow(dflt(0.3, "1h", "info"), "1d"), Ratio: true, HasWindow: true,
			build: func(x *b, n Names, a config.Alert) (string, map[string]string, tcase) {
				// The peak record is written every recording.interval; the
				// subquery samples it once per recommendations.interval
				// over the window, and the offset selector requires a
				// window of history.
				ri := x.cfg.Recommendations.Interval
				use := func(cpu string) []promtest.Series {
					return in(x.ser("kubepulse_container_cpu_usage_seconds_total", cpu+"x1600", with(ctrKV, "node", "n1")...),
						x.ser("kubepulse_workload_resource_requests", "4+0x1600", with(wlKV, "resource", "cpu", "unit", "core")...))
				}
				win := time.Duration(a.Window)
				return fmt.Sprintf(`quantile_over_time(0.95, %[1]s[%[4]s:%[5]s]) < %[2]s and on (%[3]s) %[1]s offset %[4]s`,
						n.WLCPURatioReqPeak, fmtNum(a.Threshold), x.by(wlKV[0], wlKV[2], wlKV[4]), a.Window, ri), map[string]string{
						"summary":     "A workload has used far less CPU than it requests for a long time.",
						"description": fmt.Sprintf("Workload {{ $labels.namespace }}/{{ $labels.workload }} used at most {{ $value | humanizePercentage }} of its CPU requests (p95 of its %s peaks over %s); lower its requests to the recommended value.", ri, a.Window),
					}, tcase{
						fire: use("0+30"), quiet: q(use("0+180")),
						// A window of history, then the for.
						at:     model.Duration(win + time.Duration(a.For) + 10*time.Minute).String(),
						labels: x.exp(wlKV...), value: 0.125,
					}
			}},
		{Key: "logErrorRateHigh", Name: "KubePulseLogErrorRateHigh", Group: GroupAlertsLogs,
			Default: dflt(1, "10m", "warning"),
			build: func(x *b, n Names, a config.Alert) (string, map[string]string, tcase) {
				m := func(v string) []promtest.Series {
					return in(x.ser("kubepulse_log_matches_total", v, with(ctrKV, "rule", "error")...))
				}
				// Per workload, like kubernetes-mixin's workload alerts and
				// the error-spike alert: the recorded rate, not the raw
				// counter of every container (the dashboard's pod panel
				// shows which pod logs them).
				return fmt.Sprintf(`%s > %s`, n.LogWLRate, fmtNum(a.Threshold)), map[string]string{
						"summary":     "A workload logs errors at a high rate.",
						"description": "Workload {{ $labels.namespace }}/{{ $labels.workload }} logs {{ $value | humanize }} error lines per second.",
					}, tcase{
						fire: m("0+120x30"), quiet: q(m("0+30x30")),
						labels: x.exp(wlKV...), value: 2,
					}
			}},
		{Key: "logErrorSpike", Name: "KubePulseLogErrorSpike", Group: GroupAlertsLogs,
			Default: withWindow(dflt(5, "10m", "warning"), "1d"), HasWindow: true,
			build: func(x *b, n Names, a config.Alert) (string, map[string]string, tcase) {
				m := func(v string) []promtest.Series {
					return in(x.ser("kubepulse_log_matches_total", v, with(ctrKV, "rule", "error")...))
				}
				return fmt.Sprintf(`%[1]s > %[2]s * clamp_min(avg_over_time(%[1]s[%[3]s] offset 30m), 1 / 60)`, n.LogWLRate, fmtNum(a.Threshold), a.Window), map[string]string{
						"summary":     "A workload's log error rate spiked against its own baseline.",
						"description": fmt.Sprintf("Workload {{ $labels.namespace }}/{{ $labels.workload }} logs {{ $value | humanize }} error lines per second, over %s times its average of the last %s.", fmtNum(a.Threshold), a.Window),
					}, tcase{
						fire: m("0+6x120 840+120x40"), quiet: q(m("0+6x160")),
						at:     "140m",
						labels: x.exp(wlKV...), value: 2,
					}
			}},
		{Key: "loadTestLatencySLO", Name: "KubePulseLoadTestLatencySLOBreached", Group: GroupAlertsLoadTest,
			Default: dflt(0.5, "2m", "warning"),
			build: func(x *b, n Names, a config.Alert) (string, map[string]string, tcase) {
				buckets := func(fast string) []promtest.Series {
					return in(x.ser("kubepulse_loadtest_request_duration_seconds_bucket", fast, with(ltKV, "le", "0.1")...),
						x.ser("kubepulse_loadtest_request_duration_seconds_bucket", fast, with(ltKV, "le", "0.5")...),
						x.ser("kubepulse_loadtest_request_duration_seconds_bucket", "0+10x30", with(ltKV, "le", "1")...),
						x.ser("kubepulse_loadtest_request_duration_seconds_bucket", "0+10x30", with(ltKV, "le", "+Inf")...))
				}
				return fmt.Sprintf(`%s > %s`, n.LTQuantile("p99"), fmtNum(a.Threshold)), map[string]string{
						"summary":     "A load test breaches its p99 latency SLO.",
						"description": fmt.Sprintf("Load test {{ $labels.run }} request {{ $labels.label }} has a p99 latency of {{ $value | humanizeDuration }}, above the SLO of %s.", humanDur(a.Threshold)),
					}, tcase{
						fire: buckets("0+0x30"), quiet: q(buckets("0+10x30")),
						at: "10m", labels: x.exp(ltKV...), value: 0.995,
					}
			}},
		{Key: "loadTestErrorRatio", Name: "KubePulseLoadTestErrorRatioHigh", Group: GroupAlertsLoadTest,
			Default: dflt(0.01, "2m", "warning"), Ratio: true,
			build: func(x *b, n Names, a config.Alert) (string, map[string]string, tcase) {
				reqs := func(fail string) []promtest.Series {
					return in(x.ser("kubepulse_loadtest_requests_total", "0+90x30", with(ltKV, "code", "200", "result", "success")...),
						x.ser("kubepulse_loadtest_requests_total", fail, with(ltKV, "code", "500", "result", "failure")...))
				}
				return fmt.Sprintf(`%s > %s`, n.LTErrorRatio, fmtNum(a.Threshold)), map[string]string{
						"summary":     "A load test's error ratio breaches its SLO.",
						"description": fmt.Sprintf("Load test {{ $labels.run }} request {{ $labels.label }} fails {{ $value | humanizePercentage }} of requests, above the SLO of %s.", humanPct(a.Threshold)),
					}, tcase{
						fire: reqs("0+10x30"), quiet: q(reqs("0+0x30")),
						at: "10m", labels: x.exp(ltKV...), value: 0.1,
					}
			}},
		{Key: "hpaAtMaxReplicas", Name: "KubePulseHPAAtMaxReplicas", Group: GroupAlertsHPA,
			Default: dflt(0, "15m", "warning"),
			build: func(x *b, n Names, a config.Alert) (string, map[string]string, tcase) {
				hpa := x.by("namespace", "hpa")
				reps := func(cur, des string) []promtest.Series {
					return in(x.ser("kubepulse_hpa_current_replicas", cur+"+0x30", hpaKV...),
						x.ser("kubepulse_hpa_desired_replicas", des+"+0x30", hpaKV...),
						x.ser("kubepulse_hpa_max_replicas", "10+0x30", hpaKV...),
						x.ser("kubepulse_hpa_min_replicas", "2+0x30", hpaKV...))
				}
				return fmt.Sprintf(`max by (%[1]s) (%[2]s) >= on (%[1]s) max by (%[1]s) (%[3]s) and on (%[1]s) max by (%[1]s) (%[4]s) >= on (%[1]s) max by (%[1]s) (%[3]s) unless on (%[1]s) max by (%[1]s) (%[3]s) == on (%[1]s) max by (%[1]s) (%[5]s)`,
						hpa, x.sel("kubepulse_hpa_current_replicas"), x.sel("kubepulse_hpa_max_replicas"), x.sel("kubepulse_hpa_desired_replicas"), x.sel("kubepulse_hpa_min_replicas")), map[string]string{
						"summary":     "An HPA runs at its maximum replicas and wants more.",
						"description": "HPA {{ $labels.namespace }}/{{ $labels.hpa }} has run at its maximum of {{ $value }} replicas and its metric asks for more; raise max or the workload's capacity.",
					}, tcase{
						fire: reps("10", "12"), quiet: q(reps("5", "5")),
						labels: x.exp(hpaKV...), value: 10,
					}
			}},
		{Key: "hpaUnableToScale", Name: "KubePulseHPAUnableToScale", Group: GroupAlertsHPA,
			Default: dflt(0, "15m", "warning"),
			build: func(x *b, n Names, a config.Alert) (string, map[string]string, tcase) {
				hpa := x.by("namespace", "hpa")
				st := func(cond, f, t, cur string) []promtest.Series {
					return in(x.ser("kubepulse_hpa_condition", f+"+0x30", with(hpaKV, "condition", cond, "status", "false")...),
						x.ser("kubepulse_hpa_condition", t+"+0x30", with(hpaKV, "condition", cond, "status", "true")...),
						x.ser("kubepulse_hpa_current_replicas", cur+"+0x30", hpaKV...))
				}
				// A workload scaled to zero on purpose sets ScalingActive
				// false (ScalingDisabled): not a failure.
				return fmt.Sprintf(`max by (%[1]s) (%[2]s) == 1 unless on (%[3]s) max by (%[3]s) (%[4]s) == 0`, x.by("namespace", "hpa", "condition"),
						x.sel("kubepulse_hpa_condition", `condition=~"AbleToScale|ScalingActive"`, `status=~"(?i)false"`), hpa, x.sel("kubepulse_hpa_current_replicas")), map[string]string{
						"summary":     "An HPA cannot scale.",
						"description": "HPA {{ $labels.namespace }}/{{ $labels.hpa }} reports condition {{ $labels.condition }} false.",
					}, tcase{
						fire:   st("AbleToScale", "1", "0", "3"),
						quiet:  q(st("AbleToScale", "0", "1", "3"), st("ScalingActive", "1", "0", "0")),
						labels: x.exp(with(hpaKV, "condition", "AbleToScale")...), value: 1,
					}
			}},
		{Key: "hpaMetricMissing", Name: "KubePulseHPAMetricMissing", Group: GroupAlertsHPA,
			Default: dflt(0, "15m", "warning"),
			build: func(x *b, n Names, a config.Alert) (string, map[string]string, tcase) {
				mk := with(hpaKV, "metric_name", "kubepulse_hpa_cpu_utilization_ratio", "metric_target_type", "value")
				target := x.ser("kubepulse_hpa_target_metric", "0.7+0x30", mk...)
				return fmt.Sprintf(`max by (%[1]s) (%[2]s) unless on (%[1]s) max by (%[1]s) (%[3]s)`, x.by("namespace", "hpa", "metric_name"),
						x.sel("kubepulse_hpa_target_metric"), x.sel("kubepulse_hpa_current_metric")), map[string]string{
						"summary":     "An HPA has a target but no current value for one of its metrics.",
						"description": "HPA {{ $labels.namespace }}/{{ $labels.hpa }} gets no value for metric {{ $labels.metric_name }}; check the metrics adapter and the recording rule behind it.",
					}, tcase{
						fire:   in(target),
						quiet:  q(in(target, x.ser("kubepulse_hpa_current_metric", "0.5+0x30", mk...))),
						labels: x.exp(with(hpaKV, "metric_name", "kubepulse_hpa_cpu_utilization_ratio")...), value: 0.7,
					}
			}},
		{Key: "exporterDown", Name: "KubePulseExporterDown", Group: GroupAlertsExporter,
			Default: dflt(0, "5m", "critical"),
			build: func(x *b, n Names, a config.Alert) (string, map[string]string, tcase) {
				return fmt.Sprintf(`%s == 0`, x.sel("up")), map[string]string{
						"summary":     "Prometheus cannot scrape a kubepulse exporter.",
						"description": "Target {{ $labels.instance }} of job {{ $labels.job }} is down; the kubepulse metrics it serves are missing and every alert on them is blind.",
					}, tcase{
						fire: in(x.ser("up", "0+0x30")), quiet: q(in(x.ser("up", "1+0x30"))),
						labels: x.targetExp(true), value: 0,
					}
			}},
		{Key: "exporterAbsent", Name: "KubePulseExporterAbsent", Group: GroupAlertsExporter,
			Default: dflt(0, "15m", "critical"),
			build: func(x *b, n Names, a config.Alert) (string, map[string]string, tcase) {
				return fmt.Sprintf(`absent(%s)`, x.sel("up")), map[string]string{
						"summary":     "Prometheus has no kubepulse target.",
						"description": "No target matches {{ $labels.job }}: kubepulse is not deployed, or service discovery lost it; every kubepulse alert is blind.",
					}, tcase{
						fire:   in(promtest.Series{Series: `up{job="something-else", instance="x"}`, Values: "1+0x30"}),
						quiet:  q(in(x.ser("up", "1+0x30"))),
						labels: x.targetExp(false), value: 1,
					}
			}},
		{Key: "collectorFailing", Name: "KubePulseCollectorFailing", Group: GroupAlertsExporter,
			Default: dflt(0, "10m", "warning"),
			build: func(x *b, n Names, a config.Alert) (string, map[string]string, tcase) {
				return fmt.Sprintf(`min by (%s) (%s) == 0`, x.by("instance", "collector"), x.sel("kubepulse_scrape_collector_success")), map[string]string{
						"summary":     "A kubepulse collector fails on every scrape.",
						"description": "Collector {{ $labels.collector }} on {{ $labels.instance }} has failed for a while; its metrics are missing or stale. See the exporter's log.",
					}, tcase{
						fire:   in(x.ser("kubepulse_scrape_collector_success", "0+0x30", "collector", "cluster")),
						quiet:  q(in(x.ser("kubepulse_scrape_collector_success", "1+0x30", "collector", "cluster"))),
						labels: x.exp("instance", "kubepulse-0", "collector", "cluster"), value: 0,
					}
			}},
		{Key: "logTailerLagging", Name: "KubePulseLogTailerLagging", Group: GroupAlertsExporter,
			Default: dflt(16<<20, "10m", "warning"),
			build: func(x *b, n Names, a config.Alert) (string, map[string]string, tcase) {
				return fmt.Sprintf(`max by (%s) (%s) > %s`, x.by("instance"), x.sel("kubepulse_log_lag_bytes"), fmtNum(a.Threshold)), map[string]string{
						"summary":     "The kubepulse log tailer falls behind the log files.",
						"description": "kubepulse on {{ $labels.instance }} has {{ $value | humanize1024 }}B of container logs not yet read; log error metrics lag behind.",
					}, tcase{
						fire:   in(x.ser("kubepulse_log_lag_bytes", "33554432+0x30")),
						quiet:  q(in(x.ser("kubepulse_log_lag_bytes", "1024+0x30"))),
						labels: x.exp("instance", "kubepulse-0"), value: 33554432,
					}
			}},
		{Key: "kubeletScrapeErrors", Name: "KubePulseKubeletScrapeErrors", Group: GroupAlertsExporter,
			Default: dflt(0, "15m", "warning"),
			build: func(x *b, n Names, a config.Alert) (string, map[string]string, tcase) {
				return fmt.Sprintf(`sum by (%s) (rate(%s[%s])) > %s`, x.by("node"), x.sel("kubepulse_kubelet_scrape_errors_total"), x.w, fmtNum(a.Threshold)), map[string]string{
						"summary":     "kubepulse cannot scrape a kubelet.",
						"description": "Scraping the kubelet on node {{ $labels.node }} fails {{ $value | humanize }} times per second; that node's usage metrics are missing.",
					}, tcase{
						fire:   in(x.ser("kubepulse_kubelet_scrape_errors_total", "0+1x30", "node", "n1")),
						quiet:  q(in(x.ser("kubepulse_kubelet_scrape_errors_total", "0+0x30", "node", "n1"))),
						labels: x.exp("node", "n1"), value: 1.0 / 60,
					}
			}},
		{Key: "apiserverStale", Name: "KubePulseAPIServerStale", Group: GroupAlertsExporter,
			Default: dflt(300, "5m", "critical"),
			build: func(x *b, n Names, a config.Alert) (string, map[string]string, tcase) {
				src := func(up string) []promtest.Series {
					return in(x.ser("kubepulse_source_last_sync_timestamp_seconds", "0+0x30", "source", "pods"),
						x.ser("kubepulse_source_up", up+"+0x30", "source", "pods"))
				}
				return fmt.Sprintf(`max by (%[1]s) (time() - %[2]s) > %[4]s unless on (%[1]s) max by (%[1]s) (%[3]s) == 1`, x.by("instance", "source"),
						x.sel("kubepulse_source_last_sync_timestamp_seconds", x.cfg.Selectors.APIServerSources),
						x.sel("kubepulse_source_up", x.cfg.Selectors.APIServerSources), fmtNum(a.Threshold)), map[string]string{
						"summary":     "kubepulse lost its apiserver watch; cluster metrics are stale.",
						"description": "kubepulse on {{ $labels.instance }} cannot list/watch {{ $labels.source }}; its last answer from the apiserver was {{ $value | humanizeDuration }} ago and it serves the last known state.",
					}, tcase{
						fire: src("0"), quiet: q(src("1")),
						at: "12m", labels: x.exp("instance", "kubepulse-0", "source", "pods"), valueIsEvalTime: true,
					}
			}},
	}
}

// ctrBy is the grouping of per-container alerts: the container and its
// workload (on the series since the exporter adds them).
func (x *b) ctrBy() string {
	return x.by(ctrKV[0], ctrKV[2], ctrKV[4], ctrKV[6], ctrKV[8])
}

// targetExp is the label set of an alert on up{<selector>}: the
// selector's equality matchers, plus (down) the instance and cluster of
// the test target.
func (x *b) targetExp(down bool) map[string]string {
	out := map[string]string{}
	for k, v := range x.seriesLabels() {
		if k == "instance" || k == x.c {
			if !down {
				continue
			}
		}
		out[k] = v
	}
	return out
}
