package demo

import (
	"context"
	"embed"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/go-kit/log/level"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/rules"
)

//go:embed assets/page.html assets/static
var embedded embed.FS

// assets serves /static/ from the embedded files.
var assets = mustSub(embedded, "assets")

var pageTmpl = template.Must(template.New("page.html").Funcs(template.FuncMap{
	"cores": func(v float64) string { return fmt.Sprintf("%.2f", v) },
	"bytes": humanBytes,
	"pct":   func(v float64) string { return fmt.Sprintf("%.0f%%", v*100) },
	"ms":    func(v float64) string { return fmt.Sprintf("%.0f ms", v*1000) },
	"f1":    func(v float64) string { return fmt.Sprintf("%.1f", v) },
	"f3":    func(v float64) string { return fmt.Sprintf("%.3f", v) },
	"bar":   bar,
}).ParseFS(embedded, "assets/page.html"))

type nodeRow struct {
	Name                      string
	CPUAlloc, CPUReq, CPUUsed float64
	MemAlloc, MemReq, MemUsed float64
	CPUReqBar, CPUUsedBar     float64
	MemReqBar, MemUsedBar     float64
	PendingNote               string
}

type workloadRow struct {
	WorkloadUsage
	ID             string
	CPUEff, MemEff float64 // usage / request
	Rec            Recommendation
	MemChart       template.HTML
}

type alertRow struct {
	Name, State, Severity, Since, Summary string
	Labels                                []string
}

type logRow struct {
	Workload, Kind string
	Rate           float64
}

type pageData struct {
	Now                     string
	FastForward             string
	Nodes                   []nodeRow
	NodeChart               template.HTML
	Workloads               []workloadRow
	Alerts                  []alertRow
	Firing, Pending         int
	LTRate, LTErr           float64
	LTP50, LTP90, LTP99     float64
	LTRun                   string
	LTRateChart, LTLatChart template.HTML
	Logs                    []logRow
	LogChart                template.HTML
	Generated               []string
	Errors                  []string
}

func (d *Demo) page(w http.ResponseWriter, r *http.Request) {
	data := d.pageData(r.Context())
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := pageTmpl.Execute(w, data); err != nil {
		level.Error(d.logger).Log("msg", "render page", "err", err)
	}
}

// pq runs the page's queries and collects errors to show rather than hide.
type pq struct {
	d    *Demo
	ctx  context.Context
	now  time.Time
	errs []string
}

func (q *pq) vec(expr string) []Series {
	v, err := q.d.prom.instant(q.ctx, expr, q.now)
	if err != nil {
		q.errs = append(q.errs, expr+": "+err.Error())
		return nil
	}
	return v.Series
}

// byLabels maps a label's value (or several joined by "/") to the sample value.
func (q *pq) by(expr string, names ...string) map[string]float64 {
	out := map[string]float64{}
	for _, s := range q.vec(expr) {
		out[key(s.Metric, names...)] = s.Points[0].V
	}
	return out
}

func key(ls labels.Labels, names ...string) string {
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = ls.Get(n)
	}
	return strings.Join(parts, "/")
}

func (q *pq) chart(id, expr, legend, unit string, window time.Duration) template.HTML {
	v, err := q.d.prom.ranged(q.ctx, expr, q.now.Add(-window), q.now, window/120)
	if err != nil {
		q.errs = append(q.errs, expr+": "+err.Error())
		return ""
	}
	return svgChart(id, v.Series, legend, unit, q.now.Add(-window), q.now)
}

func (d *Demo) pageData(ctx context.Context) pageData {
	q := &pq{d: d, ctx: ctx, now: d.now()}
	data := pageData{Now: q.now.UTC().Format("2006-01-02 15:04:05 UTC"), FastForward: d.ffTook.Round(time.Millisecond).String(), Generated: d.genFiles}

	// Capacity per node: allocatable, requested, used.
	alloc := q.by(`kubepulse_node_allocatable{job="kubepulse"}`, "node", "resource")
	req := q.by(`kubepulse_node_requests{job="kubepulse"}`, "node", "resource")
	cpuUsed := q.by(`node:kubepulse_node_cpu_usage_seconds:rate5m`, "node")
	memUsed := q.by(`node:kubepulse_node_memory_working_set_bytes:sum`, "node")
	var nodes []string
	for k := range alloc {
		if n, res, _ := strings.Cut(k, "/"); res == "cpu" {
			nodes = append(nodes, n)
		}
	}
	sort.Strings(nodes)
	for _, n := range nodes {
		row := nodeRow{Name: n, CPUAlloc: alloc[n+"/cpu"], CPUReq: req[n+"/cpu"], CPUUsed: cpuUsed[n],
			MemAlloc: alloc[n+"/memory"], MemReq: req[n+"/memory"], MemUsed: memUsed[n]}
		row.CPUReqBar, row.CPUUsedBar = ratio(row.CPUReq, row.CPUAlloc), ratio(row.CPUUsed, row.CPUAlloc)
		row.MemReqBar, row.MemUsedBar = ratio(row.MemReq, row.MemAlloc), ratio(row.MemUsed, row.MemAlloc)
		data.Nodes = append(data.Nodes, row)
	}
	data.NodeChart = q.chart("chart-node-cpu", `node:kubepulse_cpu_usage:ratio_allocatable`, "node", "ratio", 6*time.Hour)

	// Workload efficiency.
	wk := []string{"namespace", "workload_kind", "workload"}
	pods := q.by(`namespace_workload:kubepulse_pods:count`, wk...)
	cpuReq := q.by(`namespace_workload:kubepulse_container_resource_requests:sum{resource="cpu"}`, wk...)
	memReq := q.by(`namespace_workload:kubepulse_container_resource_requests:sum{resource="memory"}`, wk...)
	memLim := q.by(`namespace_workload:kubepulse_container_resource_limits:sum{resource="memory"}`, wk...)
	cpuUse := q.by(`namespace_workload:kubepulse_container_cpu_usage_seconds:rate5m`, wk...)
	memUse := q.by(`namespace_workload:kubepulse_container_memory_working_set_bytes:sum`, wk...)
	memPeak := q.by(`namespace_workload:kubepulse_pod_memory_working_set_bytes:max`, wk...)
	p90 := q.by(`namespace_workload:kubepulse_pod_cpu_usage_seconds:p90_30m`, wk...)
	mem30 := q.by(`namespace_workload:kubepulse_pod_memory_working_set_bytes:max_30m`, wk...)
	var keys []string
	for k := range pods {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		p := strings.SplitN(k, "/", 3)
		u := WorkloadUsage{Namespace: p[0], Kind: p[1], Name: p[2], Pods: pods[k], CPURequest: cpuReq[k], CPUUsage: cpuUse[k],
			MemRequest: memReq[k], MemUsage: memUse[k], MemLimit: memLim[k], MemPeak: memPeak[k], CPUUsageP90: p90[k], MemMax30m: mem30[k], Now: q.now}
		row := workloadRow{WorkloadUsage: u, ID: p[0] + "-" + p[2], CPUEff: ratio(u.CPUUsage, u.CPURequest), MemEff: ratio(u.MemUsage, u.MemRequest)}
		row.Rec = d.rec.Recommend(ctx, d, u)
		sel := fmt.Sprintf(`{namespace=%q, workload=%q}`, p[0], p[2])
		row.MemChart = q.chart("chart-mem-"+row.ID, `namespace_workload:kubepulse_pod_memory_working_set_bytes:max`+sel, "workload", "bytes", 6*time.Hour)
		data.Workloads = append(data.Workloads, row)
	}

	// Alerts.
	for _, a := range d.activeAlerts() {
		row := alertRow{Name: a.Labels.Get("alertname"), State: a.State.String(), Severity: a.Labels.Get("severity"),
			Since: q.now.Sub(a.ActiveAt).Round(time.Second).String(), Summary: a.Annotations.Get("summary")}
		a.Labels.Range(func(l labels.Label) {
			if l.Name != "alertname" && l.Name != "severity" {
				row.Labels = append(row.Labels, l.Name+"="+l.Value)
			}
		})
		if a.State == rules.StateFiring {
			data.Firing++
		} else {
			data.Pending++
		}
		data.Alerts = append(data.Alerts, row)
	}
	sort.SliceStable(data.Alerts, func(i, j int) bool {
		if data.Alerts[i].State != data.Alerts[j].State {
			return data.Alerts[i].State == "firing"
		}
		return data.Alerts[i].Name < data.Alerts[j].Name
	})

	// Load test.
	for _, s := range q.vec(`run:kubepulse_loadtest_requests:rate5m`) {
		data.LTRun, data.LTRate = s.Metric.Get("run"), s.Points[0].V
	}
	for _, s := range q.vec(`run:kubepulse_loadtest_requests:error_ratio_rate5m`) {
		data.LTErr = s.Points[0].V
	}
	first := func(expr string) float64 {
		for _, s := range q.vec(expr) {
			return s.Points[0].V
		}
		return math.NaN()
	}
	data.LTP50 = first(`max(run_label:kubepulse_loadtest_request_duration_seconds:p50_rate5m)`)
	data.LTP90 = first(`max(run_label:kubepulse_loadtest_request_duration_seconds:p90_rate5m)`)
	data.LTP99 = first(`max(run_label:kubepulse_loadtest_request_duration_seconds:p99_rate5m)`)
	data.LTRateChart = q.chart("chart-lt-rate", `run:kubepulse_loadtest_requests:rate5m`, "run", "req/s", 2*time.Hour)
	data.LTLatChart = q.chart("chart-lt-latency", `label_replace(max(run_label:kubepulse_loadtest_request_duration_seconds:p50_rate5m), "q", "p50", "", "") or label_replace(max(run_label:kubepulse_loadtest_request_duration_seconds:p99_rate5m), "q", "p99", "", "")`, "q", "s", 2*time.Hour)

	// Log error rates per workload.
	for _, s := range q.vec(`namespace_workload:kubepulse_log_matches:rate5m`) {
		wl := s.Metric.Get("workload")
		if wl == "" {
			// Log files of pods the cluster no longer has (scaled in).
			wl = "(deleted pods)"
		}
		data.Logs = append(data.Logs, logRow{Workload: s.Metric.Get("namespace") + "/" + wl, Kind: s.Metric.Get("workload_kind"), Rate: s.Points[0].V})
	}
	sort.Slice(data.Logs, func(i, j int) bool {
		if data.Logs[i].Rate != data.Logs[j].Rate {
			return data.Logs[i].Rate > data.Logs[j].Rate
		}
		return data.Logs[i].Workload < data.Logs[j].Workload
	})
	data.LogChart = q.chart("chart-log-errors", `namespace_workload:kubepulse_log_matches:rate5m`, "workload", "lines/s", 6*time.Hour)
	data.Errors = q.errs
	return data
}

func ratio(a, b float64) float64 {
	if b <= 0 {
		return 0
	}
	return a / b
}

func bar(v float64) string { return fmt.Sprintf("%.1f%%", math.Max(0, math.Min(1, v))*100) }

func humanBytes(v float64) string {
	switch {
	case v >= 1<<30:
		return fmt.Sprintf("%.2f GiB", v/(1<<30))
	case v >= 1<<20:
		return fmt.Sprintf("%.0f MiB", v/(1<<20))
	}
	return fmt.Sprintf("%.0f B", v)
}
