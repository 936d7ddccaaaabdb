package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kubepulse/kubepulse/internal/testutil"
)

var freeAddr = func(t *testing.T) string { return testutil.FreeAddr(t) }

// startExporter runs `kubepulse exporter` in-process and waits until it serves.
func startExporter(t *testing.T, args ...string) (base string, logs *testutil.SyncBuffer) {
	t.Helper()
	addr := freeAddr(t)
	logs = &testutil.SyncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, append([]string{"exporter", "--web.listen-address=" + addr}, args...), logs)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("exporter exited %d; log:\n%s", code, logs)
			}
		case <-time.After(20 * time.Second):
			t.Errorf("exporter did not stop")
		}
	})
	base = "http://" + addr
	waitFor(t, 20*time.Second, func() error { _, _, err := get(base + "/-/healthy"); return err })
	return base, logs
}

func get(url string) (int, string, error) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

func waitFor(t *testing.T, d time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("condition not met after %v: %v", d, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestExporterWithoutCluster(t *testing.T) {
	dir := t.TempDir()
	base, _ := startExporter(t, "--no-collector.node", "--no-collector.pod", "--no-collector.hpa",
		"--collector.logs", "--logs.path="+dir, "--logs.positions-file="+filepath.Join(dir, "positions.yaml"))

	tests := []struct {
		path     string
		wantCode int
		want     []string
	}{
		{"/-/healthy", 200, []string{"Healthy"}},
		{"/-/ready", 200, []string{"Ready"}},
		{"/", 200, []string{"kubepulse", "/metrics"}},
		{"/metrics", 200, []string{
			"kubepulse_build_info{",
			`kubepulse_scrape_collector_success{collector="logs"} 1`,
			`kubepulse_scrape_collector_duration_seconds{collector="logs"}`,
			"go_goroutines",
		}},
	}
	for _, tt := range tests {
		code, body, err := get(base + tt.path)
		if err != nil {
			t.Fatal(err)
		}
		if code != tt.wantCode {
			t.Errorf("%s: status %d, want %d", tt.path, code, tt.wantCode)
		}
		for _, w := range tt.want {
			if !strings.Contains(body, w) {
				t.Errorf("%s: body lacks %q", tt.path, w)
			}
		}
	}
	if _, body, _ := get(base + "/metrics"); strings.Contains(body, `collector="usage"`) {
		t.Errorf("usage collector ran without any cluster collector:\n%s", body)
	}
}

func TestExporterUnreachableAPIServer(t *testing.T) {
	// A kubeconfig pointing at a closed loopback port: the exporter must keep
	// serving its own metrics, stay unready, and report the source down.
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	closed := freeAddr(t)
	if err := os.WriteFile(kc, []byte(fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://%s", insecure-skip-tls-verify: true}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
`, closed)), 0o600); err != nil {
		t.Fatal(err)
	}
	base, logs := startExporter(t, "--kubeconfig="+kc, "--usage.source=none")

	if code, body, _ := get(base + "/-/ready"); code != http.StatusServiceUnavailable || !strings.Contains(body, "node") {
		t.Errorf("/-/ready = %d %q, want 503 naming the waiting collectors", code, body)
	}
	waitFor(t, 30*time.Second, func() error {
		code, body, err := get(base + "/metrics")
		if err != nil {
			return err
		}
		if code != 200 {
			return fmt.Errorf("status %d", code)
		}
		if !strings.Contains(body, `kubepulse_source_up{source="nodes"} 0`) {
			return fmt.Errorf("source_up for nodes is not 0 yet")
		}
		return nil
	})
	// The connection failure must reach the go-kit log, whichever of
	// client-go's paths (reflector handler or klog) reported it.
	waitFor(t, 30*time.Second, func() error {
		if !strings.Contains(logs.String(), closed) {
			return fmt.Errorf("log does not mention %s yet:\n%s", closed, logs)
		}
		return nil
	})
}

func TestBadInputExitsWithOneLine(t *testing.T) {
	noCluster(t)
	dir := t.TempDir()
	missing := filepath.Join(dir, "nope.yaml")
	webCfg := filepath.Join(dir, "web.yml")
	if err := os.WriteFile(webCfg, []byte("basic_auth_users: 5\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	listen := "--web.listen-address=127.0.0.1:0"
	results := "--loadtest.file=" + filepath.Join(dir, "*.jtl")
	tests := []struct {
		name     string
		args     []string
		wantCode int
		want     string
	}{
		{"bad log level", []string{"--log.level=loud", "exporter"}, 2, "--log.level=loud"},
		{"unknown flag", []string{"exporter", "--no-such-flag"}, 2, "no-such-flag"},
		{"missing kubeconfig", []string{"exporter", "--kubeconfig=" + missing, listen}, 1, `err="--kubeconfig ` + missing},
		{"no collector outside a cluster", []string{"exporter", listen}, 1, "no collector is enabled"},
		{"no collector names the input flags", []string{"exporter", "--collector.disable-defaults", listen}, 1, "--loadtest.file (loadtest), --logs.path (logs)"},
		{"cluster collector named outside a cluster", []string{"exporter", "--collector.node", results, listen}, 1, `err="collector node: no Kubernetes cluster`},
		// Flags of the shared cluster source are not any one collector's.
		{"bad shard", []string{"exporter", "--shard=3", "--total-shards=2", listen}, 1, `err="--shard=3: must be between 0 and --total-shards-1 (1)"`},
		{"bad namespaces", []string{"exporter", "--namespaces=a", "--namespaces-denylist=b", listen}, 1, `err="--namespaces and --namespaces-denylist`},
		// A YAML error spans lines; the record must still be one line.
		{"multi-line error", []string{"exporter", "--web.config.file=" + webCfg, results, listen}, 1, "yaml: unmarshal errors: line 1: cannot unmarshal"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			code := run(context.Background(), tt.args, &stderr)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, tt.wantCode, stderr.String())
			}
			var errLines []string
			for _, l := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
				if strings.Contains(l, "error") {
					errLines = append(errLines, l)
				}
			}
			if len(errLines) != 1 || !strings.Contains(errLines[0], tt.want) {
				t.Fatalf("want exactly one error line naming %q, got:\n%s", tt.want, stderr.String())
			}
			if strings.Contains(stderr.String(), `\n`) {
				t.Fatalf("log has a literal \\n:\n%s", stderr.String())
			}
		})
	}
}
