package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kubepulse/kubepulse/internal/testenv"
	"github.com/kubepulse/kubepulse/test/e2e/harness"
)

// alertSeries is one exporter series of the alert scenario: its value at
// time t is base + rate × (t − t0).
type alertSeries struct {
	name   string
	labels string // the inside of {…}, without job and instance
	base   float64
	rate   float64
}

func (s alertSeries) at(t, t0 time.Time) float64 { return s.base + s.rate*t.Sub(t0).Seconds() }

// alertScenario is what the stand-in exporter serves: two workloads with
// the same CPU requests, one using an eighth of them (over-provisioned)
// and one three quarters; a crash-looping container; a node whose CPU
// requests exceed its allocatable (the overcommit control) and two GPU
// nodes whose GPUs are fully requested, which no overcommit alert may
// report.
func alertScenario() []alertSeries {
	ctr := func(pod, wl string) string {
		return fmt.Sprintf(`namespace="shop", pod=%q, container="app", node="n1", workload_kind="Deployment", workload=%q`, pod, wl)
	}
	wl := func(w string) string {
		return fmt.Sprintf(`namespace="shop", workload_kind="Deployment", workload=%q`, w)
	}
	node := func(n, res, unit string) string { return fmt.Sprintf(`node=%q, resource=%q, unit=%q`, n, res, unit) }
	return []alertSeries{
		{name: "kubepulse_container_cpu_usage_seconds_total", labels: ctr("idle-1", "idle"), base: 1000, rate: 0.5},
		{name: "kubepulse_container_cpu_usage_seconds_total", labels: ctr("busy-1", "busy"), base: 1000, rate: 3},
		{name: "kubepulse_workload_resource_requests", labels: wl("idle") + `, resource="cpu", unit="core"`, base: 4},
		{name: "kubepulse_workload_resource_requests", labels: wl("busy") + `, resource="cpu", unit="core"`, base: 4},
		{name: "kubepulse_container_waiting_reason", labels: `namespace="shop", pod="crash-1", container="app", workload_kind="Deployment", workload="crash", reason="CrashLoopBackOff"`, base: 1},
		{name: "kubepulse_node_allocatable", labels: node("n-cpu", "cpu", "core"), base: 4},
		{name: "kubepulse_node_requests", labels: node("n-cpu", "cpu", "core"), base: 5},
		{name: "kubepulse_node_allocatable", labels: node("g1", "nvidia.com/gpu", "integer"), base: 8},
		{name: "kubepulse_node_requests", labels: node("g1", "nvidia.com/gpu", "integer"), base: 8},
		{name: "kubepulse_node_allocatable", labels: node("g2", "nvidia.com/gpu", "integer"), base: 8},
		{name: "kubepulse_node_requests", labels: node("g2", "nvidia.com/gpu", "integer"), base: 8},
	}
}

// peakRecord is the record the over-provisioning alert reads, as a
// Prometheus that had run the generated rules for the backfilled day
// would hold it: each workload's CPU usage / requests (constant here).
var peakRecord = map[string]float64{"idle": 0.125, "busy": 0.75}

const peakName = "namespace_workload:kubepulse_container_cpu_usage:ratio_requests_max_30m"

// writeHistory writes the scenario's series, and the peak record, every
// step from start to end in OpenMetrics, as promtool's backfill reads it.
func writeHistory(path, instance string, series []alertSeries, t0, start, end time.Time, step time.Duration) error {
	var b strings.Builder
	// OpenMetrics allows no space between labels.
	target := fmt.Sprintf(`job=%q,instance=%q`, exporterJob, instance)
	byName := map[string][]alertSeries{}
	var names []string
	for _, s := range series {
		if _, ok := byName[s.name]; !ok {
			names = append(names, s.name)
		}
		byName[s.name] = append(byName[s.name], s)
	}
	// Families are contiguous, each series' samples in time order.
	for _, n := range names {
		for _, s := range byName[n] {
			for t := start; !t.After(end); t = t.Add(step) {
				fmt.Fprintf(&b, "%s{%s,%s} %g %d\n", s.name, strings.ReplaceAll(s.labels, ", ", ","), target, s.at(t, t0), t.Unix())
			}
		}
	}
	for _, w := range []string{"busy", "idle"} {
		for t := start; !t.After(end); t = t.Add(step) {
			fmt.Fprintf(&b, "%s{namespace=\"shop\",workload_kind=\"Deployment\",workload=%q} %g %d\n", peakName, w, peakRecord[w], t.Unix())
		}
	}
	b.WriteString("# EOF\n")
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

// TestAlertsOnBackfilledHistory loads the generated rules into a real
// Prometheus whose TSDB holds a day and an hour of backfilled history
// (promtool tsdb create-blocks-from openmetrics) and which scrapes a
// stand-in exporter serving the same series live. The rules run at their
// configured intervals (testdata/mixin-alerts-e2e.yaml: the default
// windows, 1s intervals, short fors).
func TestAlertsOnBackfilledHistory(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	promtool := harness.Tool(t, "promtool")
	harness.Tool(t, "prometheus")
	bin := testenv.ExporterBinary(t)
	gen := generate(t, bin, filepath.Join("testdata", "mixin-alerts-e2e.yaml"))

	// The stand-in exporter, on loopback: its address is the instance
	// label the history must carry.
	series := alertScenario()
	t0 := time.Now().Add(-26 * time.Hour).Truncate(time.Minute)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		now := time.Now()
		for _, s := range series {
			fmt.Fprintf(w, "%s{%s} %g\n", s.name, s.labels, s.at(now, t0))
		}
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	instance := ln.Addr().String()

	// A day and an hour of history at 1m, ending a minute before now.
	dir := t.TempDir()
	hist := filepath.Join(dir, "history.om")
	end := time.Now().Add(-time.Minute).Truncate(time.Minute)
	if err := writeHistory(hist, instance, series, t0, end.Add(-25*time.Hour), end, time.Minute); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	if out, err := exec.CommandContext(ctx, promtool, "tsdb", "create-blocks-from", "openmetrics", hist, data).CombinedOutput(); err != nil {
		t.Fatalf("promtool tsdb create-blocks-from openmetrics: %v\n%s", err, out)
	}
	blocks, _ := filepath.Glob(filepath.Join(data, "01*"))
	if len(blocks) == 0 {
		t.Fatalf("backfill wrote no block to %s", data)
	}

	prom := harness.StartPrometheus(ctx, t, harness.PromConfig{
		Targets:   []harness.ScrapeTarget{{Job: exporterJob, Address: instance}},
		RuleFiles: []string{filepath.Join(gen, "prometheus_rules.yaml"), filepath.Join(gen, "prometheus_alerts.yaml")},
		DataDir:   data,
	})
	api := prom.API
	if err := api.WaitTargetsUp(ctx, 1); err != nil {
		t.Fatalf("Prometheus cannot scrape the stand-in exporter: %v", err)
	}
	// The history is there: the peak record a day ago.
	if v, err := api.Query(ctx, fmt.Sprintf(`%s{workload="idle"} offset 1d`, peakName)); err != nil || len(v) != 1 {
		t.Fatalf("backfilled history not visible a day back: %v, %v", v, err)
	}

	step := func(d time.Duration) (context.Context, context.CancelFunc) { return context.WithTimeout(ctx, d) }

	t.Run("over-provisioned workload fires after its for", func(t *testing.T) {
		ctx, cancel := step(90 * time.Second)
		defer cancel()
		alerts := waitFiring(ctx, t, api, "KubePulseWorkloadOverProvisioned", map[string]string{"workload": "idle"})
		a := alerts[0]
		// Pending for at least its for (15s) before firing.
		if since := time.Since(a.ActiveAt); since < 15*time.Second {
			t.Errorf("firing %v after it became active; its for is 15s", since)
		}
		if v, err := strconv.ParseFloat(a.Value, 64); err != nil || v < 0.1 || v > 0.15 {
			t.Errorf("value %s, want about 0.125 (usage / requests)", a.Value)
		}
		if busy := firingMatching(ctx, t, api, "KubePulseWorkloadOverProvisioned", map[string]string{"workload": "busy"}); len(busy) > 0 {
			t.Errorf("the busy workload (75%% of requests) fires: %v", busy)
		}
	})

	t.Run("crash-looping container fires", func(t *testing.T) {
		ctx, cancel := step(60 * time.Second)
		defer cancel()
		waitFiring(ctx, t, api, "KubePulseContainerCrashLooping", map[string]string{"namespace": "shop", "pod": "crash-1", "container": "app", "workload": "crash"})
	})

	t.Run("fully requested GPU nodes do not fire the overcommit alerts", func(t *testing.T) {
		ctx, cancel := step(60 * time.Second)
		defer cancel()
		// The control: CPU requested past allocatable fires.
		waitFiring(ctx, t, api, "KubePulseNodeRequestsOverAllocatable", map[string]string{"node": "n-cpu", "resource": "cpu"})
		// The GPU figures are recorded (so the alerts could see them) …
		v, err := api.Query(ctx, `node:kubepulse_node_requests:ratio_allocatable{resource="nvidia.com/gpu"} == 1`)
		if err != nil || len(v) != 2 {
			t.Fatalf("GPU request ratios: %v, %v; want two series at 1", v, err)
		}
		// … and no overcommit alert, pending or firing, names a GPU.
		all, err := api.Alerts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range all {
			if a.Labels["resource"] == "nvidia.com/gpu" {
				t.Errorf("alert %s is %s for a fully requested GPU pool: %v", a.Labels["alertname"], a.State, a.Labels)
			}
		}
	})

	t.Run("exporter down fires when the target is stopped", func(t *testing.T) {
		ctx, cancel := step(60 * time.Second)
		defer cancel()
		if got := firingMatching(ctx, t, api, "KubePulseExporterDown", nil); len(got) > 0 {
			t.Fatalf("fires while the target is up: %v", got)
		}
		srv.Close()
		waitFiring(ctx, t, api, "KubePulseExporterDown", map[string]string{"job": exporterJob, "instance": instance})
		if got := firingMatching(ctx, t, api, "KubePulseExporterAbsent", nil); len(got) > 0 {
			t.Errorf("absent fires while the target is known: %v", got)
		}
	})

	if t.Failed() {
		names := make([]string, 0)
		all, _ := api.Alerts(ctx)
		for _, a := range all {
			names = append(names, a.Labels["alertname"]+"/"+a.State)
		}
		sort.Strings(names)
		t.Logf("active alerts at the end: %s", strings.Join(names, ", "))
	}
}
