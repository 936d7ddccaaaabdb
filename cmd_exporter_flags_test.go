package main

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kubepulse/kubepulse/internal/testutil"
)

// noCluster makes the test process look like a machine outside Kubernetes:
// no in-cluster service account, and $KUBECONFIG naming a file that is not
// there (it overrides the developer's own ~/.kube/config).
func noCluster(t *testing.T) {
	t.Setenv("KUBECONFIG", filepath.Join(t.TempDir(), "no-kubeconfig"))
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
}

func copyFile(t *testing.T, from, to string, gz bool) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(to)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if gz {
		zw := gzip.NewWriter(f)
		if _, err := zw.Write(b); err != nil {
			t.Fatal(err)
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		return
	}
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
}

// A collector's input flag alone enables it, and outside a cluster the
// default cluster collectors step aside with one line.
func TestInputFlagEnablesCollector(t *testing.T) {
	noCluster(t)
	dir := t.TempDir()
	copyFile(t, testutil.Realworld(t, "jmeter-jtl", "tailspin-results.jtl"), filepath.Join(dir, "results", "r.jtl"), false)
	tests := []struct {
		name      string
		args      []string
		collector string
		flag      string
		warn      string // a flag that has no effect, "" for none
	}{
		{"logs", []string{"--logs.path=" + dir, "--logs.positions-file="}, "logs", "--logs.path", ""},
		{"loadtest", []string{"--loadtest.file=" + filepath.Join(dir, "results", "*.jtl")}, "loadtest", "--loadtest.file", ""},
		// usage reads nothing with source none, but still needs the cluster.
		{"usage source none", []string{"--usage.source=none", "--loadtest.file=" + filepath.Join(dir, "results", "*.jtl")}, "loadtest", "--loadtest.file", "flag=--usage.source collectors=usage"},
		// Cluster flags do nothing when the cluster collectors stepped aside.
		{"cluster flag without a cluster", []string{"--namespaces=a", "--loadtest.file=" + filepath.Join(dir, "results", "*.jtl")}, "loadtest", "--loadtest.file", "flag=--namespaces collectors=node,pod,hpa,pdb,usage"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base, logs := startExporter(t, tt.args...)
			_, body, err := get(base + "/metrics")
			if err != nil {
				t.Fatal(err)
			}
			if want := fmt.Sprintf(`kubepulse_scrape_collector_success{collector=%q} 1`, tt.collector); !strings.Contains(body, want) {
				t.Errorf("/metrics lacks %s", want)
			}
			out := logs.String()
			for _, want := range []string{
				fmt.Sprintf(`msg="collector enabled by its input flag" collector=%s flag=%s`, tt.collector, tt.flag),
				fmt.Sprintf(`msg="enabled collectors" collectors=%s`, tt.collector),
			} {
				if !strings.Contains(out, want) {
					t.Errorf("log lacks %s:\n%s", want, out)
				}
			}
			if got := strings.Count(out, "has no effect"); (tt.warn == "") != (got == 0) || !strings.Contains(out, tt.warn) {
				t.Errorf("want a 'has no effect' warning naming %q (none if empty), got:\n%s", tt.warn, out)
			}
			if n := strings.Count(out, "stepped aside"); n != 1 || !strings.Contains(out, "collectors=hpa,node,pod,usage") {
				t.Errorf("want one 'stepped aside' line for hpa,node,pod,usage, got %d:\n%s", n, out)
			}
		})
	}
}

// The example in docs/loadtest-results.md, run as written on a machine
// without a cluster, with its /results/ paths pointed at real result files.
func TestDocsLoadtestExampleWithoutCluster(t *testing.T) {
	noCluster(t)
	args := docExample(t, filepath.Join(testutil.RepoRoot(t), "docs", "loadtest-results.md"), "kubepulse exporter")
	dir := t.TempDir()
	copyFile(t, testutil.Realworld(t, "jmeter-jtl", "tailspin-results.jtl"), filepath.Join(dir, "results", "tailspin.jtl"), false)
	copyFile(t, testutil.Realworld(t, "gatling", "kibana-3.4.2-simulation.log"), filepath.Join(dir, "results", "gatling", "demojourney-1", "simulation.log"), false)
	copyFile(t, testutil.Realworld(t, "k6", "redis-operator-out.ndjson"), filepath.Join(dir, "results", "k6", "redis.json.gz"), true)
	for i, a := range args {
		args[i] = strings.ReplaceAll(a, "/results/", dir+"/results/")
	}
	if args[0] != "exporter" {
		t.Fatalf("docs example does not run the exporter: %q", args)
	}
	base, logs := startExporter(t, args[1:]...)

	runs := regexp.MustCompile(`(?m)^kubepulse_loadtest_last_sample_timestamp_seconds\{run="([^"]+)"\}`)
	waitFor(t, 30*time.Second, func() error {
		_, body, err := get(base + "/metrics")
		if err != nil {
			return err
		}
		got := map[string]bool{}
		for _, m := range runs.FindAllStringSubmatch(body, -1) {
			got[m[1]] = true
		}
		// One run per file: tailspin, Gatling's demojourney-…, redis.
		if len(got) != 3 || !got["tailspin"] || !got["redis"] {
			return fmt.Errorf("runs %v, want tailspin, redis and the Gatling run; log:\n%s", got, logs)
		}
		return nil
	})
	if strings.Contains(logs.String(), "level=error") {
		t.Errorf("errors in the log:\n%s", logs)
	}
}

// docExample returns the arguments of the first command in a ```sh block of
// the markdown file that starts with prefix, continuation lines joined and
// single or double quotes removed as a shell would.
func docExample(t *testing.T, path, prefix string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cmd strings.Builder
	inBlock, found := false, false
	sc := bufio.NewScanner(f)
scan:
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "```"):
			if found {
				break scan
			}
			inBlock = line == "```sh"
		case inBlock && (found || strings.HasPrefix(line, prefix)):
			found = true
			cmd.WriteString(strings.TrimSuffix(line, `\`) + " ")
			if !strings.HasSuffix(line, `\`) {
				break scan
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if !found {
		t.Fatalf("%s: no ```sh example starting with %q", path, prefix)
	}
	words := shellWords(t, cmd.String())
	return words[1:] // drop "kubepulse"
}

func shellWords(t *testing.T, s string) []string {
	t.Helper()
	var words []string
	var cur strings.Builder
	var quote rune
	inWord := false
	for _, r := range s {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case r == ' ' || r == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if quote != 0 {
		t.Fatalf("unterminated quote in %q", s)
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words
}

// The landing page links profiling only when it is served, and every link
// on it answers.
func TestPprofFlag(t *testing.T) {
	noCluster(t)
	dir := t.TempDir()
	href := regexp.MustCompile(`href="(/[^"]*)"`)
	tests := []struct {
		name     string
		args     []string
		wantPage bool
		wantCode int // of /debug/pprof/heap
	}{
		{"default off", nil, false, http.StatusNotFound},
		{"enabled", []string{"--web.enable-pprof"}, true, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base, _ := startExporter(t, append([]string{"--loadtest.file=" + filepath.Join(dir, "*.jtl")}, tt.args...)...)
			_, page, err := get(base + "/")
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Contains(page, "debug/pprof"); got != tt.wantPage {
				t.Errorf("landing page links pprof = %v, want %v", got, tt.wantPage)
			}
			if code, _, _ := get(base + "/debug/pprof/heap?debug=1"); code != tt.wantCode {
				t.Errorf("/debug/pprof/heap: status %d, want %d", code, tt.wantCode)
			}
			links := href.FindAllStringSubmatch(page, -1)
			if len(links) < 3 {
				t.Fatalf("landing page has %d links, want at least metrics, health, readiness:\n%s", len(links), page)
			}
			for _, m := range links {
				// The CPU profile link asks for 60 s; 1 s proves it is served.
				u := strings.Replace(m[1], "seconds=60", "seconds=1", 1)
				if code, _, err := get(base + u); err != nil || code == http.StatusNotFound {
					t.Errorf("landing page link %s: status %d, err %v", m[1], code, err)
				}
			}
		})
	}
}
