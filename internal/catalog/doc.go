package catalog

import (
	"fmt"
	"sort"
	"strings"
)

// collectorOrder is the order of the sections of docs/metrics.md.
var collectorOrder = []string{"node", "pod", "hpa", "pdb", "usage", "logs", "loadtest", "loadtest-generator", "exporter"}

// sectionIntro says where each collector's families come from.
var sectionIntro = map[string]string{
	"node":               "`--collector.node` (default on): node capacity, allocatable and what the node's pods request of it.",
	"pod":                "`--collector.pod` (default on): container requests, limits, restarts and states; pod phase and owner; per-workload sums.",
	"hpa":                "`--collector.hpa` (default on): HorizontalPodAutoscaler state.",
	"pdb":                "`--collector.pdb` (default off): PodDisruptionBudget status, what a node drain may evict.",
	"usage":              "`--collector.usage` (default on): CPU and memory usage from each kubelet's /metrics/resource or metrics.k8s.io, and what the exporter derives from it.",
	"logs":               "`--collector.logs` (enabled by `--logs.path`): error lines and log health from the kubelet's container log files.",
	"loadtest":           "`--collector.loadtest` (enabled by `--loadtest.file`): JMeter, Gatling and k6 results tailed live.",
	"loadtest-generator": "`kubepulse loadtest` itself (its own `--web.listen-address`), next to the load-test families above.",
	"exporter":           "The exporter about itself (every mode).",
}

// Markdown renders docs/metrics.md: one table per collector.
func Markdown() []byte {
	by := map[string][]*Family{}
	for _, f := range All() {
		by[f.Collector] = append(by[f.Collector], f)
	}
	var b strings.Builder
	b.WriteString("<!-- Code generated from internal/catalog by `go test ./internal/catalog -update`. DO NOT EDIT. -->\n\n")
	b.WriteString("# Metrics\n\nEvery metric family kubepulse exposes, from its one catalogue (`internal/catalog`).\n")
	b.WriteString("Labels are those the exporter writes; Prometheus adds `job` and `instance` (and `cluster` if you relabel).\n")
	order := append([]string(nil), collectorOrder...)
	var extra []string
	for c := range by {
		if !contains(order, c) {
			extra = append(extra, c)
		}
	}
	sort.Strings(extra)
	for _, c := range append(order, extra...) {
		fs := by[c]
		if len(fs) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n## %s\n\n", c)
		if s := sectionIntro[c]; s != "" {
			b.WriteString(s + "\n\n")
		}
		b.WriteString("| metric | type | labels | help |\n| --- | --- | --- | --- |\n")
		for _, f := range fs {
			labels := make([]string, len(f.Labels))
			for i, l := range f.Labels {
				labels[i] = "`" + l + "`"
			}
			fmt.Fprintf(&b, "| <a id=\"%s\"></a>`%s` | %s | %s | %s |\n", f.Name, f.Name, f.Type, strings.Join(labels, ", "), mdEscape(f.Help))
		}
	}
	return []byte(b.String())
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

func mdEscape(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}
