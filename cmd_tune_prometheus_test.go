package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kubepulse/kubepulse/test/e2e/harness"
	"github.com/kubepulse/kubepulse/tuning/tracegen"
)

// TestTunePrometheusMatchesInput backfills a trace into a real Prometheus
// with promtool, starts Prometheus on it, and checks that --prometheus.url
// gives exactly the recommendations --input gives on the same trace, and
// that promtool's own dump of that TSDB reads back to the same answer.
func TestTunePrometheusMatchesInput(t *testing.T) {
	dir := t.TempDir()
	start := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		source         string
		workloadLabels bool
	}{{"kubepulse", false}, {"kubepulse", true}, {"cadvisor", false}}
	for i, tt := range tests {
		var trace bytes.Buffer
		cfg := tracegen.Config{Seed: uint64(3 + i), Start: start, Duration: 30 * time.Hour, Step: 5 * time.Minute,
			Source: tt.source, WorkloadLabels: tt.workloadLabels}
		if err := tracegen.Write(&trace, cfg); err != nil {
			t.Fatal(err)
		}
		name := fmt.Sprintf("%s-%v", tt.source, tt.workloadLabels)
		t.Run(name, func(t *testing.T) {
			file := filepath.Join(dir, name+".om")
			if err := os.WriteFile(file, trace.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			data := filepath.Join(dir, name+"-data")
			out, err := exec.Command(harness.Tool(t, "promtool"), "tsdb", "create-blocks-from", "openmetrics", file, data).CombinedOutput()
			if err != nil {
				t.Fatalf("promtool backfill: %v\n%s", err, out)
			}
			// A dump of the backfilled TSDB is what users feed --input. The
			// dump reads the WAL too, which a backfill does not create.
			if err := os.MkdirAll(filepath.Join(data, "wal"), 0o755); err != nil {
				t.Fatal(err)
			}
			dump, err := exec.Command(harness.Tool(t, "promtool"), "tsdb", "dump-openmetrics", "--sandbox-dir-root="+t.TempDir(), data).Output()
			if err != nil {
				t.Fatalf("promtool dump: %v", err)
			}
			dumped := filepath.Join(dir, name+"-dump.om")
			if err := os.WriteFile(dumped, dump, 0o644); err != nil {
				t.Fatal(err)
			}
			url := startPrometheusOn(t, data)
			// The newest sample of the trace; Prometheus' range selectors
			// include their end.
			end := strconv.FormatInt(start.Add(cfg.Duration-cfg.Step).Unix(), 10)
			common := []string{"tune", "resources", "--source", tt.source, "-o", "json"}
			code, fromFile, stderr := runTune(t, append(common, "--input", file)...)
			if code != 0 {
				t.Fatalf("--input: exit %d: %s", code, stderr)
			}
			code, fromProm, stderr := runTune(t, append(common, "--prometheus.url", url, "--query.end", end, "--query.chunk", "4h")...)
			if code != 0 {
				t.Fatalf("--prometheus.url: exit %d: %s", code, stderr)
			}
			if fromFile != fromProm {
				t.Errorf("recommendations differ\n--input:\n%s\n--prometheus.url:\n%s", fromFile, fromProm)
			}
			// With --report the samples are kept (the raw path); without, they
			// stream into per-pod accumulators. Both must agree.
			code, fromPromRaw, stderr := runTune(t, append(common, "--prometheus.url", url, "--query.end", end, "--report", filepath.Join(dir, name+".html"))...)
			if code != 0 || fromPromRaw != fromFile {
				t.Errorf("--prometheus.url --report: exit %d %s, recommendations equal to --input's: %v", code, stderr, fromPromRaw == fromFile)
			}
			code, fromDump, stderr := runTune(t, append(common, "--input", dumped)...)
			if code != 0 || fromDump != fromFile {
				t.Errorf("--input of the promtool dump: exit %d %s, recommendations equal to the trace's: %v", code, stderr, fromDump == fromFile)
			}
			if !strings.Contains(fromProm, `"recommended_request": 0.`) {
				t.Errorf("no recommendation at all: %s", fromProm)
			}
			// An empty range is an error, not an empty answer.
			code, _, stderr = runTune(t, append(common, "--prometheus.url", url, "--query.end", "2020-01-01T00:00:00Z")...)
			if code != 2 || !strings.Contains(stderr, "empty range") {
				t.Errorf("empty range: exit %d, %q; want 2 and \"empty range\"", code, stderr)
			}
		})
	}
}

// startPrometheusOn runs the real Prometheus on a backfilled TSDB. The
// retention is long because the trace's dates may be weeks old.
func startPrometheusOn(t *testing.T, data string) string {
	t.Helper()
	cfg := filepath.Join(t.TempDir(), "prometheus.yml")
	if err := os.WriteFile(cfg, []byte("global:\n  scrape_interval: 1m\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for attempt := 0; ; attempt++ {
		addr := "127.0.0.1:" + strconv.Itoa(harness.FreePort(t))
		p := harness.StartProcess(t, "prometheus", harness.Tool(t, "prometheus"), "--config.file="+cfg,
			"--storage.tsdb.path="+data, "--storage.tsdb.retention.time=100y", "--web.listen-address="+addr)
		err := p.WaitHTTP(ctx, "http://"+addr+"/-/ready")
		if err == nil {
			return "http://" + addr
		}
		p.Stop()
		if attempt < 2 && strings.Contains(p.Log(), "address already in use") {
			continue
		}
		t.Fatalf("prometheus did not become ready: %v", err)
	}
}
