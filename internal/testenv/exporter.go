package testenv

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/kubepulse/kubepulse/internal/testutil"
)

var (
	buildOnce sync.Once
	buildPath string
	buildErr  error
)

// ExporterBinary returns the kubepulse binary to test: $KUBEPULSE_EXPORTER_BIN
// if set, else one built once per test process from the repository root into
// .cache/test/ (go's build cache makes rebuilds cheap).
func ExporterBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		if p := os.Getenv("KUBEPULSE_EXPORTER_BIN"); p != "" {
			buildPath = p
			return
		}
		root, err := RepoRoot()
		if err != nil {
			buildErr = err
			return
		}
		dir := filepath.Join(root, ".cache", "test")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			buildErr = err
			return
		}
		tmp, err := os.CreateTemp(dir, "kubepulse-*.tmp")
		if err != nil {
			buildErr = err
			return
		}
		tmp.Close()
		cmd := exec.Command("go", "build", "-o", tmp.Name(), ".")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			os.Remove(tmp.Name())
			buildErr = fmt.Errorf("go build of the kubepulse binary failed: %v\n%s", err, out)
			return
		}
		buildPath = filepath.Join(dir, "kubepulse")
		buildErr = os.Rename(tmp.Name(), buildPath) // atomic: other test packages may run the old one
	})
	if buildErr != nil {
		t.Fatalf("testenv: %v", buildErr)
	}
	return buildPath
}

// Exporter is a running `kubepulse exporter` process.
type Exporter struct {
	// URL is http://127.0.0.1:<port>.
	URL  string
	proc *proc
	logs *testutil.SyncBuffer
	hc   *http.Client
}

// StartExporter runs `kubepulse exporter` with args plus a free loopback
// --web.listen-address, and stops it when the test ends. Its log is printed
// on failure.
func StartExporter(t testing.TB, bin string, args ...string) *Exporter {
	t.Helper()
	port, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	x := &Exporter{
		URL:  fmt.Sprintf("http://127.0.0.1:%d", port),
		logs: &testutil.SyncBuffer{},
		hc:   &http.Client{Timeout: 30 * time.Second},
	}
	full := append([]string{"exporter", "--web.listen-address=127.0.0.1:" + strconv.Itoa(port)}, args...)
	x.proc, err = startProc("kubepulse", bin, full, x.logs)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		x.Stop()
		if t.Failed() {
			t.Logf("kubepulse %s log tail:\n%s", strings.Join(full, " "), lastLines(x.Logs(), 60))
		}
	})
	return x
}

// Stop stops the exporter (SIGTERM, then SIGKILL).
func (x *Exporter) Stop() { x.proc.stop(10 * time.Second) }

// Exited reports whether the process has ended, and how.
func (x *Exporter) Exited() (bool, error) { return x.proc.exited() }

// Logs returns everything the exporter wrote to stdout and stderr so far.
func (x *Exporter) Logs() string { return x.logs.String() }

// Get fetches path and returns the status code and body.
func (x *Exporter) Get(ctx context.Context, path string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, x.URL+path, nil)
	if err != nil {
		return 0, nil, err
	}
	resp, err := x.hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// Ready reports whether /-/ready answers 200, with the body.
func (x *Exporter) Ready(ctx context.Context) (bool, string, error) {
	code, b, err := x.Get(ctx, "/-/ready")
	if err != nil {
		return false, "", err
	}
	return code == http.StatusOK, string(b), nil
}

// WaitReady polls /-/ready until it is true, the process exits or ctx ends.
func (x *Exporter) WaitReady(ctx context.Context) error {
	var last string
	for {
		if done, err := x.Exited(); done {
			return fmt.Errorf("exporter exited (%v): %s", err, lastLines(x.Logs(), 20))
		}
		ok, body, err := x.Ready(ctx)
		if ok {
			return nil
		}
		if err != nil {
			last = err.Error()
		} else {
			last = strings.TrimSpace(body)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("exporter not ready: %w (last: %s)", ctx.Err(), last)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Scrape fetches /metrics in the text format and parses it. It returns the
// families, the wall time of the request (body included) and the body size.
func (x *Exporter) Scrape(ctx context.Context) (Families, time.Duration, int, error) {
	start := time.Now()
	code, b, err := x.Get(ctx, "/metrics")
	d := time.Since(start)
	if err != nil {
		return nil, d, 0, err
	}
	if code != http.StatusOK {
		return nil, d, len(b), fmt.Errorf("/metrics: HTTP %d: %s", code, lastLines(string(b), 5))
	}
	fams, err := ParseText(b)
	return fams, d, len(b), err
}

// Families are parsed metric families by name.
type Families map[string]*dto.MetricFamily

// ParseText parses the Prometheus text exposition format.
func ParseText(b []byte) (Families, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	m, err := p.TextToMetricFamilies(bytes.NewReader(b))
	return Families(m), err
}

// Sample is one series: its labels and value.
type Sample struct {
	Labels map[string]string
	Value  float64
}

// Key renders the labels sorted, as name{a="1",b="2"}, for comparisons. A
// label with an empty value is left out: Prometheus treats it as absent.
func Key(name string, labels map[string]string) string {
	keys := make([]string, 0, len(labels))
	for k, v := range labels {
		if v != "" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(name)
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%s=%q", k, labels[k])
	}
	b.WriteByte('}')
	return b.String()
}

// Samples returns the series of family name whose labels match every
// label=value in match.
func (f Families) Samples(name string, match map[string]string) []Sample {
	mf := f[name]
	if mf == nil {
		return nil
	}
	var out []Sample
	for _, m := range mf.GetMetric() {
		ls := make(map[string]string, len(m.GetLabel()))
		for _, lp := range m.GetLabel() {
			ls[lp.GetName()] = lp.GetValue()
		}
		ok := true
		for k, v := range match {
			if ls[k] != v {
				ok = false
				break
			}
		}
		if !ok {
			continue
		}
		var v float64
		switch {
		case m.Gauge != nil:
			v = m.GetGauge().GetValue()
		case m.Counter != nil:
			v = m.GetCounter().GetValue()
		case m.Untyped != nil:
			v = m.GetUntyped().GetValue()
		}
		out = append(out, Sample{Labels: ls, Value: v})
	}
	return out
}

// Value returns the value of the one series of name matching match, and
// whether exactly one matched.
func (f Families) Value(name string, match map[string]string) (float64, bool) {
	s := f.Samples(name, match)
	if len(s) != 1 {
		return 0, false
	}
	return s[0].Value, true
}
