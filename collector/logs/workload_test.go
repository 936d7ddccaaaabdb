package logs

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/go-kit/log"
	"github.com/prometheus/common/expfmt"

	"github.com/kubepulse/kubepulse/collector"
)

// The log counters carry the workload the lookup gives; a pod it does not
// know gets empty labels.
func TestWorkloadLabels(t *testing.T) {
	e := newEnv(t, nil)
	c, err := New(e.cfg, log.NewNopLogger())
	if err != nil {
		t.Fatal(err)
	}
	started := false
	c.SetWorkloads(func(ns, pod string) (string, string, bool) {
		if ns == "shop" && pod == "web-7d9-x" {
			return "Deployment", "web", true
		}
		return "", "", false
	}, func(context.Context) error { started = true; return nil })
	if err := c.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	if !started {
		t.Error("the workload lookup was not started with the collector")
	}
	g := &criGen{}
	e.write(e.path("shop", "web-7d9-x", "app", "0.log"), g.rec("stderr", "F", "ERROR boom"))
	e.write(e.path("shop", "stranger", "app", "0.log"), g.rec("stdout", "F", "ok"))
	waitCounts(t, []*Tailer{c.Tailer()}, "shop/web-7d9-x/app", Counts{Lines: map[string]uint64{"stderr": 1}})
	waitCounts(t, []*Tailer{c.Tailer()}, "shop/stranger/app", Counts{Lines: map[string]uint64{"stdout": 1}})
	set := collector.NewSet(log.NewNopLogger(), map[string]collector.Collector{"logs": c})
	var buf bytes.Buffer
	if err := set.WriteTo(&buf, expfmt.NewFormat(expfmt.TypeTextPlain), nil); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		`kubepulse_log_lines_total{container="app",namespace="shop",pod="web-7d9-x",stream="stderr",workload="web",workload_kind="Deployment"} 1`,
		`kubepulse_log_matches_total{container="app",namespace="shop",pod="web-7d9-x",rule="error",workload="web",workload_kind="Deployment"} 1`,
		`kubepulse_log_bytes_total{container="app",namespace="shop",pod="web-7d9-x",workload="web",workload_kind="Deployment"} `,
		`kubepulse_log_lines_total{container="app",namespace="shop",pod="stranger",stream="stdout",workload="",workload_kind=""} 1`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("exposition lacks %q\n%s", want, out)
		}
	}
}
