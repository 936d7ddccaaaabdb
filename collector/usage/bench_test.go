package usage

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"runtime"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/kubepulse/kubepulse/collector/usage/kubelettest"
	"github.com/kubepulse/kubepulse/collector/usage/kubelettext"
)

// nodeBody renders one kubelet's /metrics/resource for pods x containers,
// with names as long as real ones (deployment hash + pod suffix).
func nodeBody(seed, pods, containers int) []byte {
	cs := make([]kubelettest.Container, 0, pods*containers)
	for p := 0; p < pods; p++ {
		for c := 0; c < containers; c++ {
			cs = append(cs, kubelettest.Container{
				Namespace:   fmt.Sprintf("team-%02d", (seed+p)%40),
				Pod:         fmt.Sprintf("service-%03d-7d9f8b6c5d-%05d", (seed*7+p)%500, seed*1000+p),
				Name:        []string{"app", "istio-proxy", "log-shipper"}[c%3],
				CPUSeconds:  float64(seed*p+c) * 1.337,
				MemoryBytes: float64((p+1)*(c+1)) * 1048576.5,
			})
		}
	}
	return kubelettest.Render(cs, time.UnixMilli(1764208512345))
}

// distinctBodies is how many different node bodies the 5,000-node runs
// rotate through: parse and render cost does not depend on which node a
// body came from, and 5,000 distinct bodies would only add setup time.
const distinctBodies = 16

func bodies(n, pods, containers int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = nodeBody(i, pods, containers)
	}
	return out
}

// parseExpfmt is the alternative: expfmt.TextParser to dto, then the same
// selection and the same renderer (label values re-escaped, values
// re-formatted, as the raw text is not available).
func parseExpfmt(data []byte, r *renderer) error {
	p := expfmt.NewTextParser(model.LegacyValidation)
	mfs, err := p.TextToMetricFamilies(bytes.NewReader(data))
	if err != nil {
		return err
	}
	var s kubelettext.Sample
	var vb []byte
	for _, fam := range []struct {
		name string
		kind kubelettext.Kind
	}{{"container_cpu_usage_seconds_total", kubelettext.KindCPU}, {"container_memory_working_set_bytes", kubelettext.KindMemory}} {
		for _, m := range mfs[fam.name].GetMetric() {
			s = kubelettext.Sample{Kind: fam.kind}
			for _, lp := range m.GetLabel() {
				switch lp.GetName() {
				case "namespace":
					s.Namespace = escapeLabel(lp.GetValue())
				case "pod":
					s.Pod = escapeLabel(lp.GetValue())
				case "container":
					s.Container = escapeLabel(lp.GetValue())
				}
			}
			v := m.GetCounter().GetValue()
			if fam.kind == kubelettext.KindMemory {
				v = m.GetGauge().GetValue()
			}
			vb = strconv.AppendFloat(vb[:0], v, 'g', -1, 64)
			s.Value = vb
			r.add(&s)
		}
	}
	return nil
}

// BenchmarkParseNode compares the scanner with expfmt on one 110-pod node
// (2 containers per pod), parse plus render of that node.
func BenchmarkParseNode(b *testing.B) {
	body := nodeBody(1, 110, 2)
	b.Run("scanner", func(b *testing.B) {
		r := newRenderer(false)
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			r.reset("node-0001")
			if st := kubelettext.Parse(body, r.add); st.Samples != 440 {
				b.Fatalf("%d samples", st.Samples)
			}
			_ = r.result(time.Time{})
		}
	})
	b.Run("expfmt", func(b *testing.B) {
		r := newRenderer(false)
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			r.reset("node-0001")
			if err := parseExpfmt(body, r); err != nil {
				b.Fatal(err)
			}
			if r.series != 440 {
				b.Fatalf("%d series", r.series)
			}
			_ = r.result(time.Time{})
		}
	})
}

const (
	benchNodes      = 5000
	benchPods       = 30
	benchContainers = 2
)

// fill parses and renders every node into a fresh store, as one background
// round does minus the HTTP, with the given parser.
func fill(bs [][]byte, nodes int, parse func([]byte, *renderer) error) *Store {
	st := NewStore()
	r := newRenderer(false)
	now := time.Now()
	for i := 0; i < nodes; i++ {
		name := fmt.Sprintf("ip-10-0-%d-%d.eu-west-1.compute.internal", i/250, i%250)
		r.reset(name)
		_ = parse(bs[i%len(bs)], r)
		st.setUsage(name, r.result(now))
		st.recordScrape(name, true, 0, 20*time.Millisecond, now)
	}
	return st
}

func parseScanner(data []byte, r *renderer) error {
	kubelettext.Parse(data, r.add)
	return nil
}

// BenchmarkRound150k is parse + render of 5,000 nodes x 30 pods x 2
// containers (one background round without the network), for the scanner
// and for expfmt in the same run.
func BenchmarkRound150k(b *testing.B) {
	bs := bodies(distinctBodies, benchPods, benchContainers)
	for _, tc := range []struct {
		name  string
		parse func([]byte, *renderer) error
	}{{"scanner", parseScanner}, {"expfmt", parseExpfmt}} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			var st *Store
			for b.Loop() {
				st = fill(bs, benchNodes, tc.parse)
			}
			if n := st.Series(); n != benchNodes*benchPods*benchContainers*2 {
				b.Fatalf("%d series", n)
			}
		})
	}
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// BenchmarkScrape150k is what one Prometheus scrape costs: WriteRaw of the
// full 150k-pod store. It reports bytes per scrape and the store's heap.
func BenchmarkScrape150k(b *testing.B) {
	bs := bodies(distinctBodies, benchPods, benchContainers)
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	st := fill(bs, benchNodes, parseScanner)
	runtime.GC()
	runtime.ReadMemStats(&after)
	cw := &countWriter{}
	durs := make([]time.Duration, 0, 64)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		cw.n = 0
		t := time.Now()
		if err := st.WriteRaw(cw); err != nil {
			b.Fatal(err)
		}
		durs = append(durs, time.Since(t))
	}
	b.StopTimer()
	sort.Slice(durs, func(i, j int) bool { return durs[i] < durs[j] })
	b.ReportMetric(float64(durs[len(durs)/2].Microseconds())/1e3, "p50-ms")
	b.ReportMetric(float64(cw.n), "bytes/scrape")
	b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/(1<<20), "store-MiB")
}

// BenchmarkKubeletRoundTLS is one background round over real HTTPS to 20
// fake kubelets on loopback (110 pods x 2 containers each), with bearer
// token and CA verification, through the worker pool: the network and TLS
// cost per node that the 150k figures above leave out.
func BenchmarkKubeletRoundTLS(b *testing.B) {
	const nodes = 20
	dir := b.TempDir()
	var ns []Node
	var caFile string
	body := nodeBody(3, 110, 2)
	for i := 0; i < nodes; i++ {
		k := kubelettest.New("tok")
		b.Cleanup(k.Close)
		k.SetBody(body)
		ns = append(ns, Node{Name: fmt.Sprintf("node-%02d", i), Address: k.Host(), Port: k.Port()})
		if caFile == "" {
			var err error
			if caFile, err = k.CAFile(dir); err != nil {
				b.Fatal(err)
			}
		}
	}
	tok := dir + "/token"
	if err := os.WriteFile(tok, []byte("tok"), 0o600); err != nil {
		b.Fatal(err)
	}
	store := NewStore()
	ks, err := NewKubeletSource(KubeletConfig{Path: kubelettest.Path, Timeout: 10 * time.Second, Concurrency: 8, TokenFile: tok, CAFile: caFile},
		func() []Node { return ns }, "", store, log.NewNopLogger())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if n, failed := ks.Round(context.Background()); n != nodes || failed != 0 {
			b.Fatalf("%d nodes, %d failed", n, failed)
		}
	}
	if s := store.Series(); s != nodes*440 {
		b.Fatalf("%d series", s)
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/nodes/1e3, "ms/node")
}
