package mixin

import "github.com/kubepulse/kubepulse/collector"

// contractDefs are the series the exporter side of the join-free mixin
// adds (workload labels on container series, waiting reasons, pending
// pods, per-workload gauges, per-container limit ratios), for the checks
// until the collectors define them. definitions merges them into
// collector.Definitions: a family the collectors already define keeps its
// definition and only gains the labels listed here, so once the
// collectors define everything this list changes nothing and can go.
var contractDefs = func() []collector.MetricDef {
	wl := []string{"workload_kind", "workload"}
	ctr := append([]string{"namespace", "pod", "container"}, wl...)
	pod := append([]string{"namespace", "pod"}, wl...)
	wlr := []string{"namespace", "workload_kind", "workload", "resource", "unit"}
	g, c := collector.Gauge, collector.Counter
	d := func(name string, typ collector.MetricType, labels ...string) collector.MetricDef {
		return collector.MetricDef{Name: name, Type: typ, Labels: labels, Collector: "pod"}
	}
	return []collector.MetricDef{
		d("kubepulse_container_resource_requests", g, wl...),
		d("kubepulse_container_resource_limits", g, wl...),
		d("kubepulse_container_cpu_usage_seconds_total", c, wl...),
		d("kubepulse_container_memory_working_set_bytes", g, wl...),
		d("kubepulse_container_restarts_total", c, wl...),
		d("kubepulse_container_last_terminated_reason", g, wl...),
		d("kubepulse_log_lines_total", c, wl...),
		d("kubepulse_log_matches_total", c, wl...),
		d("kubepulse_log_bytes_total", c, wl...),
		d("kubepulse_container_waiting_reason", g, append(ctr, "reason")...),
		d("kubepulse_pod_pending_since_timestamp_seconds", g, pod...),
		d("kubepulse_pod_unschedulable", g, pod...),
		d("kubepulse_workload_resource_requests", g, wlr...),
		d("kubepulse_workload_resource_limits", g, wlr...),
		d("kubepulse_workload_pods", g, "namespace", "workload_kind", "workload"),
		d("kubepulse_container_memory_working_set_limit_ratio", g, ctr...),
		d("kubepulse_container_cpu_usage_limit_ratio", g, ctr...),
	}
}()

// definitions is collector.Definitions with contractDefs merged in.
func definitions() []collector.MetricDef {
	defs := collector.Definitions()
	idx := map[string]int{}
	for i, d := range defs {
		idx[d.Name] = i
	}
	for _, cd := range contractDefs {
		i, ok := idx[cd.Name]
		if !ok {
			idx[cd.Name] = len(defs)
			defs = append(defs, cd)
			continue
		}
		have := map[string]bool{}
		for _, l := range defs[i].Labels {
			have[l] = true
		}
		labels := append([]string{}, defs[i].Labels...)
		for _, l := range cd.Labels {
			if !have[l] {
				labels = append(labels, l)
			}
		}
		defs[i].Labels = labels
	}
	return defs
}

// prometheusSeries are series Prometheus itself writes for every target.
var prometheusSeries = []string{"up"}
