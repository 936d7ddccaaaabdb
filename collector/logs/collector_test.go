package logs

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/common/expfmt"

	"github.com/kubepulse/kubepulse/collector"
)

// TestInotifyPicksUpNewPods: with polling effectively off, new pods and
// containers are found through inotify alone.
func TestInotifyPicksUpNewPods(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Poll = time.Hour })
	e.start()
	eventually(t, func() string {
		if !e.tl.Ready() {
			return "not ready"
		}
		return ""
	})
	g := &criGen{}
	for i, pod := range []string{"a", "b", "c"} {
		txt, errs := g.lines(5+i, 2)
		e.write(e.path("ns", pod, "ctr", "0.log"), txt)
		waitCounts(t, []*Tailer{e.tl}, "ns/"+pod+"/ctr", Counts{Lines: map[string]uint64{"stdout": uint64(5 + i)}, Matches: map[string]uint64{"error": uint64(errs)}})
	}
}

// TestSeriesTTL: a container whose directory is gone keeps its series for
// the TTL, then they are removed.
func TestSeriesTTL(t *testing.T) {
	tests := []struct {
		name string
		ttl  time.Duration
	}{
		{"short ttl removes", 200 * time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, func(c *Config) { c.SeriesTTL = tc.ttl })
			e.start()
			g := &criGen{}
			txt, _ := g.lines(3, 0)
			e.write(e.path("ns", "gone", "ctr", "0.log"), txt)
			e.write(e.path("ns", "stays", "ctr", "0.log"), txt)
			waitCounts(t, []*Tailer{e.tl}, "ns/gone/ctr", Counts{Lines: map[string]uint64{"stdout": 3}})
			waitCounts(t, []*Tailer{e.tl}, "ns/stays/ctr", Counts{Lines: map[string]uint64{"stdout": 3}})
			removedAt := time.Now()
			if err := os.RemoveAll(filepath.Join(e.root, "ns_gone_uid-gone")); err != nil {
				t.Fatal(err)
			}
			eventually(t, func() string {
				if _, ok := e.tl.Counts()["ns/gone/ctr"]; ok {
					return "series of the removed pod still there"
				}
				return ""
			})
			if el := time.Since(removedAt); el < tc.ttl {
				t.Errorf("series removed after %v, before the TTL %v", el, tc.ttl)
			}
			if _, ok := e.tl.Counts()["ns/stays/ctr"]; !ok {
				t.Error("live container's series removed")
			}
			eventually(t, func() string {
				if n := e.tl.Health().FilesOpen; n != 1 {
					return fmt.Sprintf("files open = %d, want 1", n)
				}
				return ""
			})
		})
	}
}

// TestExposition scrapes the collector through the framework and checks
// families and labels.
func TestExposition(t *testing.T) {
	e := newEnv(t, nil)
	c, err := New(e.cfg, log.NewNopLogger())
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	g := &criGen{}
	e.write(e.path("shop", "web", "app", "0.log"), g.rec("stderr", "F", "ERROR boom")+g.rec("stdout", "F", "timed out")+"garbage\n")
	waitCounts(t, []*Tailer{c.Tailer()}, key, Counts{Lines: map[string]uint64{"stdout": 1, "stderr": 1, "unknown": 1}})
	set := collector.NewSet(log.NewNopLogger(), map[string]collector.Collector{"logs": c})
	var buf bytes.Buffer
	if err := set.WriteTo(&buf, expfmt.NewFormat(expfmt.TypeTextPlain), nil); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		`kubepulse_log_lines_total{container="app",namespace="shop",pod="web",stream="stderr",workload="",workload_kind=""} 1`,
		`kubepulse_log_lines_total{container="app",namespace="shop",pod="web",stream="stdout",workload="",workload_kind=""} 1`,
		`kubepulse_log_lines_total{container="app",namespace="shop",pod="web",stream="unknown",workload="",workload_kind=""} 1`,
		`kubepulse_log_matches_total{container="app",namespace="shop",pod="web",rule="error",workload="",workload_kind=""} 1`,
		`kubepulse_log_matches_total{container="app",namespace="shop",pod="web",rule="timeout",workload="",workload_kind=""} 1`,
		`kubepulse_log_bytes_total{container="app",namespace="shop",pod="web",workload="",workload_kind=""} `,
		`kubepulse_log_files_open 1`,
		`kubepulse_log_lag_bytes 0`,
		`kubepulse_log_rotations_total 0`,
		`kubepulse_log_truncations_total 0`,
		`kubepulse_log_lines_truncated_total 0`,
		`kubepulse_log_errors_total{reason="malformed_cri"} 1`,
		`kubepulse_scrape_collector_success{collector="logs"} 1`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("exposition lacks %q\n%s", want, out)
		}
	}
}

// TestBadRulesFileFailsStartup: the factory rejects a bad rules file with
// file, line and reason.
func TestBadRulesFileFailsStartup(t *testing.T) {
	tests := []struct{ yaml, want string }{
		{"rules:\n  - name: a\n    regex: '(unclosed'\n", ":3: invalid regex"},
		{"rules:\n  - name: a\n    regex: x\n    severity: high\n", ":4: unknown key \"severity\""},
	}
	for _, tc := range tests {
		p := filepath.Join(t.TempDir(), "rules.yaml")
		if err := os.WriteFile(p, []byte(tc.yaml), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := New(Config{Path: t.TempDir(), RulesFile: p}, nil)
		if err == nil || !strings.Contains(err.Error(), p+tc.want) {
			t.Errorf("err = %v, want %q", err, p+tc.want)
		}
	}
}
