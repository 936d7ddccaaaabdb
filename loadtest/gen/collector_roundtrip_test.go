package gen

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"

	ltcollector "github.com/kubepulse/kubepulse/collector/loadtest"
	"github.com/kubepulse/kubepulse/loadtest"
)

// series flattens the request counters, histogram counts and byte counters
// of a loadtest.Metrics, with all their labels, into comparable strings.
func series(t *testing.T, m prometheus.Collector) []string {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(m)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, mf := range mfs {
		switch mf.GetName() {
		case loadtest.RequestsDef.Name, loadtest.BytesReceivedDef.Name, loadtest.BytesSentDef.Name, loadtest.DurationDef.Name:
		default:
			continue
		}
		for _, met := range mf.Metric {
			var ls []string
			for _, lp := range met.Label {
				ls = append(ls, lp.GetName()+"="+lp.GetValue())
			}
			v := met.GetCounter().GetValue()
			if h := met.GetHistogram(); h != nil {
				v = float64(h.GetSampleCount())
			}
			out = append(out, fmt.Sprintf("%s{%s} %g", mf.GetName(), strings.Join(ls, ","), v))
		}
	}
	sort.Strings(out)
	return out
}

// The "done when": a generator run writes a JTL file that the
// exporter's load-test collector reads back with identical totals, under the
// generator's run label (the file is named otherwise: the run is in it).
func TestCollectorReadsJTLWithIdenticalTotals(t *testing.T) {
	var a arrivals
	var n atomic.Int64
	srv := newServer(t, &a, func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1)%7 == 0 {
			http.Error(w, "unavailable", http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "fine")
	})
	ts, err := ParseTargets("inline", strings.NewReader(fmt.Sprintf(
		"{\"url\":%q,\"label\":\"list, all\",\"weight\":2}\n{\"url\":%q,\"method\":\"POST\",\"body\":\"{}\",\"label\":\"create\"}\n",
		srv.URL+"/items", srv.URL+"/items")))
	if err != nil {
		t.Fatal(err)
	}
	jtl := filepath.Join(t.TempDir(), "run.jtl")
	f, err := os.Create(jtl)
	if err != nil {
		t.Fatal(err)
	}
	bw := bufio.NewWriter(f)
	if _, err := bw.WriteString(JTLHeader); err != nil {
		t.Fatal(err)
	}
	gm := NewMetrics()
	_, sum := run(t, Config{Targets: ts, Schedule: constant(150, time.Second), MaxInFlight: 16, KeepAlive: true, JTL: bw, Metrics: gm, Run: "rt", MaxDelay: 5 * time.Second})
	if err := bw.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}

	c, err := ltcollector.New(log.NewNopLogger(), ltcollector.Config{Files: []string{jtl}, Poll: 20 * time.Millisecond, Rescan: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	want := series(t, gm.Metrics)
	// 2 labels x (200 and 503) request counters, 2 histograms, 2x2 byte counters.
	if len(want) < 10 {
		t.Fatalf("generator exposed only %d series:\n%s", len(want), strings.Join(want, "\n"))
	}
	var got []string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		got = series(t, c.Metrics())
		if strings.Join(got, "\n") == strings.Join(want, "\n") {
			break
		}
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("collector totals differ from the generator's (completed %d):\ncollector:\n%s\ngenerator:\n%s", sum.Completed, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	t.Logf("identical:\n%s", strings.Join(got, "\n"))
	if sum.Completed == 0 || sum.Failed == 0 {
		t.Fatalf("completed %d failed %d: the run should have both outcomes", sum.Completed, sum.Failed)
	}
}
