// Package integration runs the real kubepulse binary against a real
// kube-apiserver and etcd started by internal/testenv. Build the binaries
// first with `make tools`; without them every test here fails and says so.
package integration

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kubepulse/kubepulse/internal/testenv"
)

var (
	sharedOnce sync.Once
	shared     *testenv.Env
	sharedErr  error
)

// TestMain stops the apiserver shared by the tests that can share one
// (separate namespaces), however they ended.
func TestMain(m *testing.M) {
	code := m.Run()
	if shared != nil {
		shared.Stop()
	}
	os.Exit(code)
}

// sharedEnv returns the package's apiserver, starting it on first use.
func sharedEnv(t *testing.T) *testenv.Env {
	t.Helper()
	sharedOnce.Do(func() { shared, sharedErr = testenv.New(testenv.Options{}) })
	if sharedErr != nil {
		t.Fatalf("testenv: %v", sharedErr)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("kube-apiserver log tail (%s):\n%s", shared.APIServerLog(), shared.APIServerLogTail(30))
		}
	})
	return shared
}

func adminClient(t *testing.T, env *testenv.Env) kubernetes.Interface {
	t.Helper()
	c, err := env.AdminClient()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func testContext(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// createNamespace creates a namespace unique to the test. No namespace
// controller runs, so it is never deleted: names stay unique instead.
func createNamespace(ctx context.Context, t *testing.T, c kubernetes.Interface, prefix string) string {
	t.Helper()
	ns, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{GenerateName: prefix + "-"},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create namespace: %v", err)
	}
	return ns.Name
}

// adminExporter runs the exporter with the admin token, limited to ns (plus
// the nodes it is given to watch, which are cluster-scoped).
func adminExporter(t *testing.T, env *testenv.Env, extra ...string) *testenv.Exporter {
	t.Helper()
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	if err := env.WriteKubeconfig(kc, env.AdminToken); err != nil {
		t.Fatal(err)
	}
	args := append([]string{"--kubeconfig=" + kc, "--usage.source=none", "--log.level=debug"}, extra...)
	return testenv.StartExporter(t, testenv.ExporterBinary(t), args...)
}

// eventually polls f until it returns nil or ctx ends, then fails with f's
// last error.
func eventually(ctx context.Context, t *testing.T, what string, f func() error) {
	t.Helper()
	var last error
	for {
		if last = f(); last == nil {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s: %v", what, last)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// scrapeMatches scrapes x and compares the series of every family in want
// whose labels match sel (for example the test's namespace) with want.
func scrapeMatches(ctx context.Context, x *testenv.Exporter, sel func(name string, labels map[string]string) bool, want map[string]float64, families []string) error {
	fams, _, _, err := x.Scrape(ctx)
	if err != nil {
		return err
	}
	got := map[string]float64{}
	for _, name := range families {
		for _, s := range fams.Samples(name, nil) {
			if sel(name, s.Labels) {
				got[testenv.Key(name, s.Labels)] = s.Value
			}
		}
	}
	if err := diffSeries(want, got); err != nil {
		keys := make([]string, 0, len(got))
		for k, v := range got {
			keys = append(keys, fmt.Sprintf("%s %g", k, v))
		}
		sort.Strings(keys)
		if len(keys) > 40 {
			keys = keys[:40]
		}
		return fmt.Errorf("%w\nscraped (%d series):\n  %s", err, len(got), strings.Join(keys, "\n  "))
	}
	return nil
}

func diffSeries(want, got map[string]float64) error {
	var msgs []string
	for k, v := range want {
		g, ok := got[k]
		switch {
		case !ok:
			msgs = append(msgs, fmt.Sprintf("missing %s (want %g)", k, v))
		case g != v:
			msgs = append(msgs, fmt.Sprintf("%s = %g, want %g", k, g, v))
		}
	}
	for k, v := range got {
		if _, ok := want[k]; !ok {
			msgs = append(msgs, fmt.Sprintf("unexpected %s = %g", k, v))
		}
	}
	if len(msgs) == 0 {
		return nil
	}
	sort.Strings(msgs)
	if len(msgs) > 25 {
		msgs = append(msgs[:25], fmt.Sprintf("... and %d more", len(msgs)-25))
	}
	return fmt.Errorf("%d differences:\n  %s", len(msgs), strings.Join(msgs, "\n  "))
}

// klogLine matches klog's header (Lmmdd hh:mm:ss.uuuuuu pid file:line]).
var (
	klogLine = regexp.MustCompile(`(?m)^[IWEF]\d{4} \d{2}:\d{2}:\d{2}\.\d+ +\d+ [^ ]+:\d+\] .*$`)
	klogErr  = regexp.MustCompile(` err="((?:[^"\\]|\\.)*)"`)
)

// checkKlogMirrored fails when client-go reported an error only through
// klog's default stderr output: every error in a klog line must also be in a
// go-kit line (which honours --log.format and --log.level). klog lines that
// merely duplicate a go-kit line are logged for the report, not failed.
func checkKlogMirrored(t *testing.T, x *testenv.Exporter) {
	t.Helper()
	logs := x.Logs()
	var kit []string
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, "level=") && !klogLine.MatchString(l) {
			if m := klogErr.FindStringSubmatch(l); m != nil {
				if v, err := strconv.Unquote(`"` + m[1] + `"`); err == nil {
					kit = append(kit, v)
				}
			}
		}
	}
	dups := 0
	for _, l := range klogLine.FindAllString(logs, -1) {
		m := klogErr.FindStringSubmatch(l)
		if m == nil {
			continue // informational klog line, no error in it
		}
		v, err := strconv.Unquote(`"` + m[1] + `"`)
		if err != nil {
			v = m[1]
		}
		mirrored := false
		for _, k := range kit {
			if k != "" && strings.Contains(v, k) {
				mirrored = true
				break
			}
		}
		if !mirrored {
			t.Errorf("an error reached only klog, not the exporter's go-kit log:\n%s", l)
			continue
		}
		if dups++; dups == 1 {
			t.Logf("klog also printed (duplicate of a go-kit line, bypasses --log.format): %s", l)
		}
	}
}
