package demo

import (
	"fmt"
	"time"
)

// Banner is what `kubepulse demo` prints once the page is served: where to
// look, how to scrape and query it, and what to try next.
func Banner(url, hostPort, genDir string, took time.Duration) string {
	return fmt.Sprintf(`
kubepulse demo is serving on %[1]s  (ready in %[4]s)

  page        %[1]s/
  metrics     %[1]s/metrics
  query API   %[1]s/api/v1/query?query=up
  generated   %[1]s/generated/   (written to %[3]s)

Scrape the exporter from a Prometheus (prometheus.yml):

  scrape_configs:
    - job_name: kubepulse
      scrape_interval: 15s
      static_configs:
        - targets: ['%[2]s']

Point Grafana at the embedded Prometheus: Connections > Data sources > Add >
Prometheus, URL %[1]s (the demo answers /api/v1/query, query_range, series,
labels, label values, rules and alerts), then import the dashboards from
%[1]s/generated/dashboards_out/ with the datasource named "prometheus".

Try next:

  kubepulse generate --output-dir ./monitoring --test
  kubepulse tune resources --prometheus.url=%[1]s --history=6h --min-history=1h --report tune.html

`, url, hostPort, genDir, took.Round(100*time.Millisecond))
}
