package tuning

import (
	"fmt"
	"math"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
)

// BenchmarkAggregate150k is `tune resources` at scale, minus the network:
// 7 days of 5-minute samples (CPU counter and working set) for 150,000
// pods (1,000 namespaces x 30 workloads x 5 pods), streamed series by
// series into an Aggregator, then recommended. KUBEPULSE_BENCH_PODS
// overrides the pod count for quick runs.
func BenchmarkAggregate150k(b *testing.B) {
	pods := 150000
	if s := os.Getenv("KUBEPULSE_BENCH_PODS"); s != "" {
		pods, _ = strconv.Atoi(s)
	}
	const step = 5 * 60 * 1000
	n := int((7 * 24 * time.Hour).Milliseconds() / step)
	start := int64(1793577600000)
	b.ReportAllocs()
	for b.Loop() {
		t0 := time.Now()
		agg := NewAggregator(SourceKubepulse, DefaultOptions(), start, start+int64(n)*step)
		buf := make([]Sample, n)
		var day [288]float64
		for i := range day {
			day[i] = math.Sin(2 * math.Pi * float64(i) / 288)
		}
		rng := uint64(1)
		for p := 0; p < pods; p++ {
			ns := fmt.Sprintf("team-%04d", p/150)
			wl := fmt.Sprintf("svc-%02d", p%150/5)
			pod := fmt.Sprintf("%s-7d9f8b6c5d-%05d", wl, p)
			scale := 0.05 + float64(p%17)*0.03
			for _, name := range []string{SourceKubepulse.CPU, SourceKubepulse.Memory} {
				ls := labels.FromStrings(labels.MetricName, name, "namespace", ns, "pod", pod, "container", "app",
					"workload_kind", "Deployment", "workload", wl)
				counter := 0.0
				for i := range buf {
					rng ^= rng << 13
					rng ^= rng >> 7
					rng ^= rng << 17
					noise := float64(rng%1000) / 1000
					d := day[i%288]
					t := start + int64(i+1)*step
					if name == SourceKubepulse.CPU {
						counter += scale * (1.2 + d + 0.3*noise) * 300
						buf[i] = Sample{t, counter}
					} else {
						buf[i] = Sample{t, scale * 1e9 * (1.5 + 0.3*d + 0.05*noise)}
					}
				}
				agg.AddSeries(ls, buf)
			}
			agg.Add(labels.FromStrings(labels.MetricName, SourceKubepulse.Requests, "namespace", ns, "pod", pod, "container", "app",
				"resource", "cpu", "unit", "core"), start, 1)
		}
		fed := time.Since(t0)
		recs, err := agg.Recommend()
		if err != nil || len(recs) != 2*pods/5 {
			b.Fatalf("%d recommendations (want %d), %v", len(recs), 2*pods/5, err)
		}
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		b.ReportMetric(fed.Seconds(), "feed-s")
		b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-MiB")
		b.ReportMetric(float64(2*pods*n)/time.Since(t0).Seconds()/1e6, "Msamples/s")
	}
}
