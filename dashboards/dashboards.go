// Package dashboards builds kubepulse's Grafana dashboards with
// grafana-foundation-sdk. Every dashboard has a datasource and a cluster
// variable, units and descriptions on every panel, and rates over
// $__rate_interval; heavy per-workload numbers come from the recording rules.
package dashboards

import (
	"fmt"
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/variants"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/table"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"

	"github.com/kubepulse/kubepulse/mixin/config"
	"github.com/kubepulse/kubepulse/rules"
)

// Dashboard is one built dashboard.
type Dashboard struct {
	// Name is the file stem, e.g. "cluster-capacity".
	Name  string
	UID   string
	Title string
	Model dashboard.Dashboard
}

type q struct {
	expr, legend string
	exemplar     bool
	instant      bool
}

type gen struct {
	cfg *config.Config
	n   rules.Names
	id  uint32
}

func (g *gen) dsRef() common.DataSourceRef {
	t, uid := "prometheus", "${datasource}"
	return common.DataSourceRef{Type: &t, Uid: &uid}
}

// cl is the cluster matcher for a query, or "" without a cluster label.
func (g *gen) cl() string {
	if c := g.cfg.Selectors.ClusterLabel; c != "" {
		return c + `="$cluster"`
	}
	return ""
}

// m joins matchers, dropping empty ones: m(`a="b"`, "") = `a="b"`.
func m(ms ...string) string {
	var out []string
	for _, s := range ms {
		if s != "" {
			out = append(out, s)
		}
	}
	return strings.Join(out, ", ")
}

// raw selects an exporter series with the kubepulse and cluster selectors.
func (g *gen) raw(metric string, extra ...string) string {
	return metric + "{" + m(append([]string{g.cfg.Selectors.Kubepulse, g.cl()}, extra...)...) + "}"
}

// rec selects a recorded series with the cluster selector.
func (g *gen) rec(metric string, extra ...string) string {
	return metric + "{" + m(append([]string{g.cl()}, extra...)...) + "}"
}

func (g *gen) targets(qs []q) []cog.Builder[variants.Dataquery] {
	var out []cog.Builder[variants.Dataquery]
	for i, x := range qs {
		b := prometheus.NewDataqueryBuilder().Expr(x.expr).LegendFormat(x.legend).
			RefId(string(rune('A' + i))).Datasource(g.dsRef())
		if x.exemplar {
			b = b.Exemplar(true)
		}
		if x.instant {
			b = b.Instant().Format(prometheus.PromQueryFormatTable)
		} else {
			b = b.Range()
		}
		out = append(out, b)
	}
	return out
}

func (g *gen) nextID() uint32 { g.id++; return g.id }

func (g *gen) ts(title, desc, unit string, w uint32, qs ...q) cog.Builder[dashboard.Panel] {
	return timeseries.NewPanelBuilder().Id(g.nextID()).Title(title).Description(desc).Unit(unit).
		Datasource(g.dsRef()).Targets(g.targets(qs)).Height(8).Span(w).FillOpacity(10).
		Legend(common.NewVizLegendOptionsBuilder().ShowLegend(true).DisplayMode(common.LegendDisplayModeTable).Placement(common.LegendPlacementBottom).Calcs([]string{"mean", "max"}))
}

func (g *gen) stat(title, desc, unit string, qs ...q) cog.Builder[dashboard.Panel] {
	return stat.NewPanelBuilder().Id(g.nextID()).Title(title).Description(desc).Unit(unit).
		Datasource(g.dsRef()).Targets(g.targets(qs)).Height(4).Span(6)
}

func (g *gen) table(title, desc, unit string, qs ...q) cog.Builder[dashboard.Panel] {
	for i := range qs {
		qs[i].instant = true
	}
	return table.NewPanelBuilder().Id(g.nextID()).Title(title).Description(desc).Unit(unit).
		Datasource(g.dsRef()).Targets(g.targets(qs)).Height(8).Span(24)
}

func (g *gen) dsVar() cog.Builder[dashboard.VariableModel] {
	cur := g.cfg.Dashboards.Datasource
	return dashboard.NewDatasourceVariableBuilder("datasource").Label("Data source").Type("prometheus").
		Current(dashboard.VariableOption{Text: dashboard.StringOrArrayOfString{String: &cur}, Value: dashboard.StringOrArrayOfString{String: &cur}})
}

// qv is a label_values query variable; all adds an "All" option (.*).
func (g *gen) qv(name, label, query string, all bool) cog.Builder[dashboard.VariableModel] {
	b := dashboard.NewQueryVariableBuilder(name).Label(label).Datasource(g.dsRef()).
		Query(dashboard.StringOrMap{String: &query}).Definition(query).
		Refresh(dashboard.VariableRefreshOnTimeRangeChanged).Sort(dashboard.VariableSortAlphabeticalAsc)
	if all {
		b = b.IncludeAll(true).AllValue(".*").Multi(true)
	}
	return b
}

func (g *gen) clusterVar() cog.Builder[dashboard.VariableModel] {
	c := g.cfg.Selectors.ClusterLabel
	if c == "" {
		// Still present (every dashboard has one) but hidden: no cluster label to select on.
		return dashboard.NewCustomVariableBuilder("cluster").Label("Cluster").Values(dashboard.StringOrMap{String: ptr("")}).Hide(dashboard.VariableHideHideVariable)
	}
	return g.qv("cluster", "Cluster", fmt.Sprintf(`label_values(%s{%s}, %s)`, "kubepulse_build_info", g.cfg.Selectors.Kubepulse, c), false)
}

func ptr[T any](v T) *T { return &v }

func (g *gen) dash(name, title, desc string, vars []cog.Builder[dashboard.VariableModel], rows ...section) (Dashboard, error) {
	uid := g.cfg.Dashboards.UIDPrefix + name
	tags := append([]string{}, g.cfg.Dashboards.Tags...)
	b := dashboard.NewDashboardBuilder(title).Uid(uid).Description(desc).Tags(tags).
		Refresh(g.cfg.Dashboards.Refresh).Time("now-6h", "now").Timezone("browser").
		Tooltip(dashboard.DashboardCursorSyncCrosshair).Editable().
		Variables(append([]cog.Builder[dashboard.VariableModel]{g.dsVar(), g.clusterVar()}, vars...))
	// Expanded rows: a row header, then its panels at the top level (a
	// collapsed row would nest and hide them).
	for i, r := range rows {
		b = b.WithRow(dashboard.NewRowBuilder(r.title).Collapsed(false).Id(uint32(1000 + i)))
		for _, p := range r.panels {
			b = b.WithPanel(p)
		}
	}
	d, err := b.Build()
	if err != nil {
		return Dashboard{}, fmt.Errorf("dashboard %s: %w", name, err)
	}
	return Dashboard{Name: name, UID: uid, Title: title, Model: d}, nil
}

type section struct {
	title  string
	panels []cog.Builder[dashboard.Panel]
}

func row(title string, ps ...cog.Builder[dashboard.Panel]) section {
	return section{title, ps}
}

// Build returns every dashboard, in a fixed order.
func Build(cfg *config.Config) ([]Dashboard, error) {
	g := &gen{cfg: cfg, n: rules.NamesFor(cfg)}
	builders := []func() (Dashboard, error){
		g.clusterCapacity, g.workloadEfficiency, g.podDetail, g.logErrors, g.loadTest, g.hpa,
	}
	var out []Dashboard
	for _, f := range builders {
		g.id = 0
		d, err := f()
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

func (g *gen) clusterCapacity() (Dashboard, error) {
	n := g.n
	node := `node=~"$node"`
	cpu, mem := `resource="cpu"`, `resource="memory"`
	return g.dash("cluster-capacity", "kubepulse / Cluster capacity",
		"Allocatable against requested against used, per node and for the cluster, and whether the cluster survives losing its largest node.",
		[]cog.Builder[dashboard.VariableModel]{g.qv("node", "Node", fmt.Sprintf(`label_values(kubepulse_node_allocatable{%s}, node)`, m(g.cfg.Selectors.Kubepulse, g.cl())), true)},
		row("Cluster",
			g.stat("CPU requested", "Share of the cluster's allocatable CPU that Pods request.", "percentunit",
				q{expr: fmt.Sprintf(`%s / %s`, g.rec(n.ClusterRequests, cpu), g.rec(n.ClusterAlloc, cpu))}),
			g.stat("Memory requested", "Share of the cluster's allocatable memory that Pods request.", "percentunit",
				q{expr: fmt.Sprintf(`%s / %s`, g.rec(n.ClusterRequests, mem), g.rec(n.ClusterAlloc, mem))}),
			g.stat("CPU headroom without the largest node", "Allocatable CPU left if the largest node is lost, minus what Pods request. Negative: the cluster cannot tolerate losing that node.", "short",
				q{expr: fmt.Sprintf(`%s - %s - %s`, g.rec(n.ClusterAlloc, cpu), g.rec(n.ClusterAllocMax, cpu), g.rec(n.ClusterRequests, cpu))}),
			g.stat("Memory headroom without the largest node", "Allocatable memory left if the largest node is lost, minus what Pods request.", "bytes",
				q{expr: fmt.Sprintf(`%s - %s - %s`, g.rec(n.ClusterAlloc, mem), g.rec(n.ClusterAllocMax, mem), g.rec(n.ClusterRequests, mem))}),
		),
		row("Per node",
			g.ts("CPU: allocatable, requested, used", "Per node, in cores: what the kubelet can allocate, what Pods request (scheduler arithmetic) and what containers use.", "short", 12,
				q{expr: g.raw("kubepulse_node_allocatable", cpu, node), legend: "{{node}} allocatable"},
				q{expr: g.raw("kubepulse_node_requests", cpu, node), legend: "{{node}} requested"},
				q{expr: g.rec(n.NodeCPU, node), legend: "{{node}} used"}),
			g.ts("Memory: allocatable, requested, used", "Per node: allocatable memory, memory requested by Pods and the containers' working set.", "bytes", 12,
				q{expr: g.raw("kubepulse_node_allocatable", mem, node), legend: "{{node}} allocatable"},
				q{expr: g.raw("kubepulse_node_requests", mem, node), legend: "{{node}} requested"},
				q{expr: g.rec(n.NodeMem, node), legend: "{{node}} used"}),
			g.ts("Requested / allocatable", "Requests as a share of allocatable, per node and resource. Above 100% the node is overcommitted.", "percentunit", 12,
				q{expr: g.rec(n.NodeReqRatio, node), legend: "{{node}} {{resource}}"}),
			g.ts("Used / allocatable", "CPU and memory used as a share of allocatable, per node.", "percentunit", 12,
				q{expr: g.rec(n.NodeCPURatio, node), legend: "{{node}} cpu"},
				q{expr: g.rec(n.NodeMemRatio, node), legend: "{{node}} memory"}),
			g.table("Node conditions", "Node conditions that are true, and whether the node is cordoned.", "short",
				q{expr: g.raw("kubepulse_node_condition", `status="true"`, node) + " == 1", legend: "{{node}} {{condition}}"},
				q{expr: g.raw("kubepulse_node_unschedulable", node) + " == 1", legend: "{{node}} unschedulable"}),
		),
	)
}

func (g *gen) workloadEfficiency() (Dashboard, error) {
	n := g.n
	w := []string{`namespace=~"$namespace"`, `workload=~"$workload"`}
	ww := func(extra ...string) []string { return append(append([]string{}, w...), extra...) }
	cpu, mem := `resource="cpu"`, `resource="memory"`
	return g.dash("workload-efficiency", "kubepulse / Workload efficiency",
		"Usage against requests and limits per workload, and the recommended request (p90 over the window times a margin) next to the current one.",
		[]cog.Builder[dashboard.VariableModel]{
			g.qv("namespace", "Namespace", fmt.Sprintf(`label_values(%s, namespace)`, g.rec(n.WLPods)), true),
			g.qv("workload", "Workload", fmt.Sprintf(`label_values(%s, workload)`, g.rec(n.WLPods, `namespace=~"$namespace"`)), true),
		},
		row("Usage",
			g.ts("CPU: used, requested, limit", "Workload CPU in cores: usage over the rate window, and the sum of its containers' requests and limits.", "short", 12,
				q{expr: g.rec(n.WorkloadCPU, w...), legend: "{{namespace}}/{{workload}} used"},
				q{expr: g.rec(n.WorkloadRequests, ww(cpu)...), legend: "{{namespace}}/{{workload}} requested"},
				q{expr: g.rec(n.WorkloadLimits, ww(cpu)...), legend: "{{namespace}}/{{workload}} limit"}),
			g.ts("Memory: used, requested, limit", "Workload memory working set against the sum of requests and limits.", "bytes", 12,
				q{expr: g.rec(n.WorkloadMem, w...), legend: "{{namespace}}/{{workload}} used"},
				q{expr: g.rec(n.WorkloadRequests, ww(mem)...), legend: "{{namespace}}/{{workload}} requested"},
				q{expr: g.rec(n.WorkloadLimits, ww(mem)...), legend: "{{namespace}}/{{workload}} limit"}),
			g.ts("Utilization of requests", "Usage divided by requests. Far below 100% for long: over-provisioned; above: the workload relies on spare node capacity.", "percentunit", 12,
				q{expr: g.rec(n.WLCPURatioReq, w...), legend: "{{namespace}}/{{workload}} cpu"},
				q{expr: g.rec(n.WLMemRatioReq, w...), legend: "{{namespace}}/{{workload}} memory"}),
			g.ts("Utilization of limits", "Usage divided by limits. Near 100%: CPU throttling or OOM kills.", "percentunit", 12,
				q{expr: g.rec(n.WLCPURatioLim, w...), legend: "{{namespace}}/{{workload}} cpu"},
				q{expr: g.rec(n.WLMemRatioLim, w...), legend: "{{namespace}}/{{workload}} memory"}),
		),
		row("Recommended vs current (per pod)",
			g.ts("CPU request: current vs recommended", fmt.Sprintf("Per pod, in cores. Recommended: p%g of per-pod usage over %s, times %g.", g.cfg.Recommendations.CPUQuantile*100, g.cfg.Recommendations.Window, g.cfg.Recommendations.CPUMargin), "short", 12,
				q{expr: g.rec(n.WLPodRequestsAvg, ww(cpu)...), legend: "{{namespace}}/{{workload}} current"},
				q{expr: g.rec(n.CPURecommended, w...), legend: "{{namespace}}/{{workload}} recommended"},
				q{expr: g.rec(n.WLPodCPUAvg, w...), legend: "{{namespace}}/{{workload}} used"}),
			g.ts("Memory request: current vs recommended", fmt.Sprintf("Per pod. Recommended: peak per-pod working set over %s, times %g.", g.cfg.Recommendations.Window, g.cfg.Recommendations.MemoryMargin), "bytes", 12,
				q{expr: g.rec(n.WLPodRequestsAvg, ww(mem)...), legend: "{{namespace}}/{{workload}} current"},
				q{expr: g.rec(n.MemRecommended, w...), legend: "{{namespace}}/{{workload}} recommended"},
				q{expr: g.rec(n.WLPodMemMax, w...), legend: "{{namespace}}/{{workload}} used (max pod)"}),
			g.table("Most over-provisioned workloads (CPU cores requested but unused)", "Top 20 workloads by requested minus used CPU right now.", "short",
				q{expr: fmt.Sprintf(`topk(20, %s - ignoring (resource) %s)`, g.rec(n.WorkloadRequests, ww(cpu)...), g.rec(n.WorkloadCPU, w...)), legend: "{{namespace}}/{{workload}}"}),
		),
	)
}

func (g *gen) podDetail() (Dashboard, error) {
	p := []string{`namespace="$namespace"`, `pod=~"$pod"`}
	pp := func(extra ...string) []string { return append(append([]string{}, p...), extra...) }
	return g.dash("pod-detail", "kubepulse / Pod detail",
		"One Pod's containers: CPU and memory against requests and limits, restarts and termination reasons, phase and log activity.",
		[]cog.Builder[dashboard.VariableModel]{
			g.qv("namespace", "Namespace", fmt.Sprintf(`label_values(%s, namespace)`, g.raw("kubepulse_pod_phase")), false),
			g.qv("pod", "Pod", fmt.Sprintf(`label_values(%s, pod)`, g.raw("kubepulse_pod_phase", `namespace="$namespace"`)), false),
		},
		row("Resources",
			g.ts("CPU per container", "CPU cores used per container, with its request and limit.", "short", 12,
				q{expr: fmt.Sprintf(`sum by (pod, container) (rate(%s[$__rate_interval]))`, g.raw("kubepulse_container_cpu_usage_seconds_total", p...)), legend: "{{container}} used"},
				q{expr: g.raw("kubepulse_container_resource_requests", pp(`resource="cpu"`)...), legend: "{{container}} request"},
				q{expr: g.raw("kubepulse_container_resource_limits", pp(`resource="cpu"`)...), legend: "{{container}} limit"}),
			g.ts("Memory per container", "Working set per container, with its request and limit.", "bytes", 12,
				q{expr: g.raw("kubepulse_container_memory_working_set_bytes", p...), legend: "{{container}} used"},
				q{expr: g.raw("kubepulse_container_resource_requests", pp(`resource="memory"`)...), legend: "{{container}} request"},
				q{expr: g.raw("kubepulse_container_resource_limits", pp(`resource="memory"`)...), legend: "{{container}} limit"}),
		),
		row("Lifecycle",
			g.ts("Restarts", "Container restarts over the rate interval.", "short", 12,
				q{expr: fmt.Sprintf(`sum by (pod, container) (increase(%s[$__rate_interval]))`, g.raw("kubepulse_container_restarts_total", p...)), legend: "{{container}}"}),
			g.ts("Phase", "The Pod's phase (1 = current).", "short", 12,
				q{expr: g.raw("kubepulse_pod_phase", p...) + " == 1", legend: "{{pod}} {{phase}}"}),
			g.table("Last termination reasons", "Why each container last terminated (OOMKilled, Error, Completed...).", "short",
				q{expr: g.raw("kubepulse_container_last_terminated_reason", p...) + " == 1", legend: "{{container}} {{reason}}"}),
		),
		row("Logs",
			g.ts("Log lines", "Log lines per second per container and stream.", "short", 12,
				q{expr: fmt.Sprintf(`sum by (container, stream) (rate(%s[$__rate_interval]))`, g.raw("kubepulse_log_lines_total", p...)), legend: "{{container}} {{stream}}"}),
			g.ts("Log rule matches", "Lines per second matching each log rule.", "short", 12,
				q{expr: fmt.Sprintf(`sum by (container, rule) (rate(%s[$__rate_interval]))`, g.raw("kubepulse_log_matches_total", p...)), legend: "{{container}} {{rule}}"}),
		),
	)
}

func (g *gen) logErrors() (Dashboard, error) {
	ns := `namespace=~"$namespace"`
	errSel := g.cfg.Selectors.LogErrorRules
	return g.dash("log-errors", "kubepulse / Log errors",
		"Error lines in container logs: top containers, rates by rule, and the health of the log tailer.",
		[]cog.Builder[dashboard.VariableModel]{
			g.qv("namespace", "Namespace", fmt.Sprintf(`label_values(%s, namespace)`, g.raw("kubepulse_log_lines_total")), true),
		},
		row("Errors",
			g.table("Top containers by error rate", "The 10 containers logging the most error lines per second.", "short",
				q{expr: fmt.Sprintf(`topk(10, sum by (namespace, pod, container) (rate(%s[$__rate_interval])))`, g.raw("kubepulse_log_matches_total", ns, errSel)), legend: "{{namespace}}/{{pod}}/{{container}}"}),
			g.ts("Error rate by rule", "Matching lines per second for each log rule.", "short", 12,
				q{expr: fmt.Sprintf(`sum by (rule) (rate(%s[$__rate_interval]))`, g.raw("kubepulse_log_matches_total", ns)), legend: "{{rule}}"}),
			g.ts("Error rate by namespace", "Error lines per second per namespace (recorded).", "short", 12,
				q{expr: fmt.Sprintf(`sum by (namespace) (%s)`, g.rec(g.n.LogNSRate, ns)), legend: "{{namespace}}"}),
			g.ts("Error share of log lines", "Error lines as a share of all log lines, per namespace.", "percentunit", 24,
				q{expr: fmt.Sprintf(`sum by (namespace) (rate(%s[$__rate_interval])) / sum by (namespace) (rate(%s[$__rate_interval]))`,
					g.raw("kubepulse_log_matches_total", ns, errSel), g.raw("kubepulse_log_lines_total", ns)), legend: "{{namespace}}"}),
		),
		row("Tailer health",
			g.ts("Lag", "Bytes on disk not yet read by the tailer.", "bytes", 8,
				q{expr: g.raw("kubepulse_log_lag_bytes"), legend: "{{instance}}"}),
			g.ts("Throughput", "Bytes of logs read per second.", "Bps", 8,
				q{expr: fmt.Sprintf(`sum by (instance) (rate(%s[$__rate_interval]))`, g.raw("kubepulse_log_bytes_total")), legend: "{{instance}}"}),
			g.ts("Files open", "Log files the tailer holds open.", "short", 8,
				q{expr: g.raw("kubepulse_log_files_open"), legend: "{{instance}}"}),
			g.ts("Rotations, truncations, cut lines", "Rotations and truncations followed, and over-long lines cut, per second.", "short", 12,
				q{expr: fmt.Sprintf(`sum by (instance) (rate(%s[$__rate_interval]))`, g.raw("kubepulse_log_rotations_total")), legend: "{{instance}} rotations"},
				q{expr: fmt.Sprintf(`sum by (instance) (rate(%s[$__rate_interval]))`, g.raw("kubepulse_log_truncations_total")), legend: "{{instance}} truncations"},
				q{expr: fmt.Sprintf(`sum by (instance) (rate(%s[$__rate_interval]))`, g.raw("kubepulse_log_lines_truncated_total")), legend: "{{instance}} lines cut"}),
			g.ts("Tailer errors by reason", "Malformed records and read errors per second.", "short", 12,
				q{expr: fmt.Sprintf(`sum by (reason) (rate(%s[$__rate_interval]))`, g.raw("kubepulse_log_errors_total")), legend: "{{reason}}"}),
		),
	)
}

func (g *gen) loadTest() (Dashboard, error) {
	r := `run=~"$run"`
	dur := "kubepulse_loadtest_request_duration_seconds"
	quant := func(qv float64) q {
		return q{expr: fmt.Sprintf(`histogram_quantile(%g, sum by (label) (rate(%s[$__rate_interval]))) or histogram_quantile(%g, sum by (label, le) (rate(%s[$__rate_interval])))`,
			qv, g.raw(dur, r), qv, g.raw(dur+"_bucket", r)), legend: fmt.Sprintf("{{label}} p%g", qv*100), exemplar: true}
	}
	tw := []string{`namespace="$namespace"`, `workload="$workload"`}
	return g.dash("load-test", "kubepulse / Load test",
		"A load test's request rate, latency percentiles (with exemplars) and errors, next to the CPU and memory of the workload under test.",
		[]cog.Builder[dashboard.VariableModel]{
			g.qv("run", "Run", fmt.Sprintf(`label_values(%s, run)`, g.raw("kubepulse_loadtest_requests_total")), true),
			g.qv("namespace", "Target namespace", fmt.Sprintf(`label_values(%s, namespace)`, g.rec(g.n.WLPods)), false),
			g.qv("workload", "Target workload", fmt.Sprintf(`label_values(%s, workload)`, g.rec(g.n.WLPods, `namespace="$namespace"`)), false),
		},
		row("Load",
			g.ts("Request rate", "Requests per second by label and result.", "reqps", 12,
				q{expr: fmt.Sprintf(`sum by (label, result) (rate(%s[$__rate_interval]))`, g.raw("kubepulse_loadtest_requests_total", r)), legend: "{{label}} {{result}}"}),
			g.ts("Latency percentiles", "p50, p90 and p99 latency per label, from native or classic histogram buckets; exemplars link to traces.", "s", 12,
				quant(0.5), quant(0.9), quant(0.99)),
			g.ts("Error ratio", "Share of failed requests per label (recorded).", "percentunit", 8,
				q{expr: g.rec(g.n.LTErrorRatio, r), legend: "{{run}} {{label}}"}),
			g.ts("Active users", "Virtual users (or generator in-flight requests).", "short", 8,
				q{expr: g.raw("kubepulse_loadtest_active_users", r), legend: "{{run}}"}),
			g.ts("Throughput", "Bytes received and sent per second.", "Bps", 8,
				q{expr: fmt.Sprintf(`sum by (run) (rate(%s[$__rate_interval]))`, g.raw("kubepulse_loadtest_bytes_received_total", r)), legend: "{{run}} received"},
				q{expr: fmt.Sprintf(`sum by (run) (rate(%s[$__rate_interval]))`, g.raw("kubepulse_loadtest_bytes_sent_total", r)), legend: "{{run}} sent"}),
			g.ts("Result rows that failed to parse", "Rows skipped (and counted) per reason.", "short", 12,
				q{expr: fmt.Sprintf(`sum by (run, reason) (rate(%s[$__rate_interval]))`, g.raw("kubepulse_loadtest_parse_errors_total", r)), legend: "{{run}} {{reason}}"}),
			g.ts("Time since last sample", "Seconds since the newest result row; a growing value means the test stopped writing.", "s", 12,
				q{expr: fmt.Sprintf(`time() - %s`, g.raw("kubepulse_loadtest_last_sample_timestamp_seconds", r)), legend: "{{run}}"}),
		),
		row("Target workload",
			g.ts("Target CPU", "CPU used by the workload under test against its requests, in cores.", "short", 12,
				q{expr: g.rec(g.n.WorkloadCPU, tw...), legend: "used"},
				q{expr: g.rec(g.n.WorkloadRequests, append(tw, `resource="cpu"`)...), legend: "requested"}),
			g.ts("Target memory", "Working set of the workload under test against its requests.", "bytes", 12,
				q{expr: g.rec(g.n.WorkloadMem, tw...), legend: "used"},
				q{expr: g.rec(g.n.WorkloadRequests, append(tw, `resource="memory"`)...), legend: "requested"}),
		),
	)
}

func (g *gen) hpa() (Dashboard, error) {
	h := []string{`namespace=~"$namespace"`, `hpa=~"$hpa"`}
	hh := func(extra ...string) []string { return append(append([]string{}, h...), extra...) }
	var hpaSeries []q
	seen := map[string]bool{}
	for _, w := range g.cfg.Autoscaling.Workloads {
		name := rules.HPARecord(g.cfg, w.Metric)
		if seen[name] {
			continue
		}
		seen[name] = true
		hpaSeries = append(hpaSeries, q{expr: name + `{namespace=~"$namespace"}`, legend: "{{namespace}}/{{workload}} " + w.Metric})
	}
	rowsHPA := []cog.Builder[dashboard.Panel]{
		g.ts("Replicas", "Current and desired replicas against the HPA's min and max.", "short", 12,
			q{expr: g.raw("kubepulse_hpa_current_replicas", h...), legend: "{{hpa}} current"},
			q{expr: g.raw("kubepulse_hpa_desired_replicas", h...), legend: "{{hpa}} desired"},
			q{expr: g.raw("kubepulse_hpa_min_replicas", h...), legend: "{{hpa}} min"},
			q{expr: g.raw("kubepulse_hpa_max_replicas", h...), legend: "{{hpa}} max"}),
		g.ts("Metric against target", "Each HPA metric's current value against its target.", "short", 12,
			q{expr: g.raw("kubepulse_hpa_current_metric", h...), legend: "{{hpa}} {{metric_name}} current"},
			q{expr: g.raw("kubepulse_hpa_target_metric", h...), legend: "{{hpa}} {{metric_name}} target"}),
		g.table("Conditions", "HPA conditions with status true or false (AbleToScale, ScalingActive, ScalingLimited).", "short",
			q{expr: g.raw("kubepulse_hpa_condition", hh(`status=~"(?i)true|false"`)...) + " == 1", legend: "{{hpa}} {{condition}} {{status}}"}),
	}
	if len(hpaSeries) > 0 {
		rowsHPA = append(rowsHPA, g.ts("HPA-backing series (kubepulse recording rules)", "The single series per workload that prometheus-adapter and KEDA serve to the HPA.", "short", 24, hpaSeries...))
	}
	return g.dash("hpa", "kubepulse / HPA",
		"Horizontal Pod Autoscalers: replicas against bounds, metrics against targets, conditions, and the kubepulse series behind them.",
		[]cog.Builder[dashboard.VariableModel]{
			g.qv("namespace", "Namespace", fmt.Sprintf(`label_values(%s, namespace)`, g.raw("kubepulse_hpa_max_replicas")), true),
			g.qv("hpa", "HPA", fmt.Sprintf(`label_values(%s, hpa)`, g.raw("kubepulse_hpa_max_replicas", `namespace=~"$namespace"`)), true),
		},
		row("Autoscaling", rowsHPA...),
	)
}
