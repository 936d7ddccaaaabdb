package integration

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubepulse/kubepulse/internal/testenv"
)

var allSources = []string{"nodes", "pods", "replicasets", "jobs", "hpas"}

func sourceUp(ctx context.Context, x *testenv.Exporter, want float64) error {
	fams, _, _, err := x.Scrape(ctx)
	if err != nil {
		return err
	}
	for _, src := range allSources {
		if v, ok := fams.Value("kubepulse_source_up", map[string]string{"source": src}); !ok || v != want {
			return fmt.Errorf("kubepulse_source_up{source=%q} = %v (present %v), want %v", src, v, ok, want)
		}
	}
	return nil
}

// TestOutage stops kube-apiserver under a synced exporter and starts it
// again on the same port. Meanwhile etcd is compacted past the exporter's
// last resourceVersion, so resuming the watch gets 410 Gone and the
// exporter must relist. The pod watch cache is off, so pod watches reach
// etcd and meet the compaction itself.
func TestOutage(t *testing.T) {
	env := testenv.Start(t, testenv.Options{APIServerArgs: []string{"--watch-cache-sizes=pods#0"}})
	ctx := testContext(t, 5*time.Minute)
	c := adminClient(t, env)

	// The exporter has its own identity, so its requests are told apart from
	// the test's in the audit log. It is in system:masters: a restarted
	// apiserver answers 403 to ServiceAccounts until its RBAC cache is
	// filled, and such a denial would also force a relist, hiding whether
	// the compaction did.
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	if err := env.WriteKubeconfig(kc, env.ExporterToken); err != nil {
		t.Fatal(err)
	}
	exporterUser := testenv.ExporterUser

	ns := createNamespace(ctx, t, c, "outage")
	node := ns + "-n1"
	createBareNode(ctx, t, c, node)
	for _, p := range []string{"a", "b", "c"} {
		createBarePod(ctx, t, c, ns, p, node)
	}
	x := testenv.StartExporter(t, testenv.ExporterBinary(t), "--kubeconfig="+kc, "--usage.source=none", "--namespaces="+ns)
	if err := x.WaitReady(testContext(t, 2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	sel := ours(ns, map[string]bool{node: true})
	podsWant := func(names ...string) map[string]float64 {
		out := map[string]float64{
			testenv.Key("kubepulse_node_requests", map[string]string{"node": node, "resource": "cpu", "unit": "core"}):    float64(len(names)*100) / 1000, // millicores, as exact as the exporter
			testenv.Key("kubepulse_node_requests", map[string]string{"node": node, "resource": "memory", "unit": "byte"}): 0,
		}
		for _, n := range names {
			out[testenv.Key("kubepulse_pod_phase", map[string]string{"namespace": ns, "pod": n, "phase": "Pending"})] = 1
		}
		return out
	}
	fams := []string{"kubepulse_pod_phase", "kubepulse_node_requests"}
	eventually(testContext(t, time.Minute), t, "synced state", func() error { return scrapeMatches(ctx, x, sel, podsWant("a", "b", "c"), fams) })
	eventually(ctx, t, "sources up", func() error { return sourceUp(ctx, x, 1) })

	t.Run("down: last known values, source_up 0", func(t *testing.T) {
		env.StopAPIServer()
		down := time.Now()
		eventually(testContext(t, 2*time.Minute), t, "kubepulse_source_up 0 while the apiserver is down", func() error {
			return sourceUp(ctx, x, 0)
		})
		// Make the exporter's last resourceVersion history: new revisions,
		// then a compaction, all while it cannot watch.
		if err := env.BumpEtcd(ctx, 5); err != nil {
			t.Fatal(err)
		}
		rev, err := env.CompactEtcd(ctx)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("etcd compacted at revision %d", rev)
		for time.Since(down) < 5*time.Second {
			if err := scrapeMatches(ctx, x, sel, podsWant("a", "b", "c"), fams); err != nil {
				t.Fatalf("scrape while down: %v", err)
			}
			time.Sleep(500 * time.Millisecond)
		}
		if err := scrapeMatches(ctx, x, sel, podsWant("a", "b", "c"), fams); err != nil {
			t.Fatalf("scrape while down: %v", err)
		}
		if ok, _, err := x.Ready(ctx); err != nil || !ok {
			t.Errorf("/-/ready while the apiserver is down = %v (%v), want true: the exporter synced once and serves its last state", ok, err)
		}
	})

	t.Run("back: relist after 410, new changes show", func(t *testing.T) {
		if err := env.StartAPIServer(ctx); err != nil {
			t.Fatal(err)
		}
		eventually(testContext(t, 2*time.Minute), t, "kubepulse_source_up 1 after the restart", func() error {
			return sourceUp(ctx, x, 1)
		})
		if err := c.CoreV1().Pods(ns).Delete(ctx, "b", deleteNow()); err != nil {
			t.Fatal(err)
		}
		createBarePod(ctx, t, c, ns, "d", node)
		p, err := c.CoreV1().Pods(ns).Get(ctx, "c", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		p.Status.Phase = corev1.PodRunning
		if _, err := c.CoreV1().Pods(ns).UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		want := podsWant("a", "c", "d")
		delete(want, testenv.Key("kubepulse_pod_phase", map[string]string{"namespace": ns, "pod": "c", "phase": "Pending"}))
		want[testenv.Key("kubepulse_pod_phase", map[string]string{"namespace": ns, "pod": "c", "phase": "Running"})] = 1
		eventually(testContext(t, 2*time.Minute), t, "changes made after the restart", func() error {
			return scrapeMatches(ctx, x, sel, want, fams)
		})

		// The restarted apiserver's audit log holds only what came after the
		// restart: a full list of pods by the exporter means it relisted
		// rather than resumed its watch. A watch still open has only its
		// ResponseStarted event, so both stages count.
		evs, err := env.AuditEvents()
		if err != nil {
			t.Fatal(err)
		}
		var relists, watches []string
		for _, ev := range evs {
			if ev.User.Username != exporterUser || ev.ObjectRef == nil || ev.ObjectRef.Resource != "pods" {
				continue
			}
			switch {
			case ev.Verb == "list", ev.Verb == "watch" && strings.Contains(ev.RequestURI, "sendInitialEvents=true"):
				relists = append(relists, ev.Stage+" "+ev.Verb+" "+ev.RequestURI)
			case ev.Verb == "watch":
				watches = append(watches, ev.Stage+" "+ev.RequestURI)
			}
		}
		if len(relists) == 0 {
			t.Errorf("no relist of pods by %s after the restart and compaction; watches: %v", exporterUser, watches)
		}
		t.Logf("after restart: relists %v; watches %d", relists, len(watches))
		// The pod watch cache is off, so the resumed pod watch went to etcd
		// with the exporter's old revision and met the compaction: that is
		// the 410 behind the relist.
		if b, err := os.ReadFile(env.APIServerLog()); err != nil || !strings.Contains(string(b), "required revision has been compacted") {
			t.Errorf("the restarted apiserver's log (%s) does not show a watch meeting the compaction (%v)", env.APIServerLog(), err)
		}
		checkKlogMirrored(t, x)
		for _, l := range strings.Split(x.Logs(), "\n") {
			if strings.Contains(l, "too old") || strings.Contains(l, "compacted") {
				t.Logf("exporter: %s", l)
				break
			}
		}
	})
}
