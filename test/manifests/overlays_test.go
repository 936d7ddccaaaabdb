package manifests

import (
	"encoding/json"
	"flag"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/alecthomas/kingpin/v2"
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/kubepulse/kubepulse/collector"
	_ "github.com/kubepulse/kubepulse/collector/all" // the exporter's flags, for the argument checks
	"github.com/kubepulse/kubepulse/internal/testutil"
	"github.com/kubepulse/kubepulse/mixin"
	"github.com/kubepulse/kubepulse/mixin/config"
)

const kps = "deploy/overlays/kube-prometheus-stack"

func find[T any](objs []Object) []T {
	var out []T
	for _, o := range objs {
		if v, ok := o.Typed.(T); ok {
			out = append(out, v)
		}
	}
	return out
}

func one[T any](t *testing.T, objs []Object, what string) T {
	t.Helper()
	vs := find[T](objs)
	if len(vs) != 1 {
		t.Fatalf("%d %s, want 1", len(vs), what)
	}
	return vs[0]
}

var update = flag.Bool("update", false, "rewrite the kube-prometheus-stack overlay's generated/")

// TestGeneratedUpToDate fails when the overlay's generated/ is not what
// `kubepulse generate` (default config) writes now.
func TestGeneratedUpToDate(t *testing.T) {
	cfg := config.Default()
	out, err := mixin.Generate(&cfg, mixin.Options{Version: "dev"})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(testutil.RepoRoot(t), kps, "generated")
	if *update {
		if err := mixin.Write(out, dir); err != nil {
			t.Fatal(err)
		}
	}
	diffs, err := mixin.Compare(out, dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range diffs {
		t.Errorf("%s/generated: %s (run make generate, or go test ./test/manifests -update)", kps, d)
	}
	if len(out.Files[mixin.FilePromRule]) == 0 || len(out.Files[mixin.FileConfigMaps]) == 0 {
		t.Fatalf("generate wrote no %s or %s", mixin.FilePromRule, mixin.FileConfigMaps)
	}
}

// TestKubePrometheusStack checks what the chart's selectors need.
func TestKubePrometheusStack(t *testing.T) {
	objs := renderAll(t)[kps]
	sm := one[*monitoringv1.ServiceMonitor](t, objs, "ServiceMonitors")
	rule := one[*monitoringv1.PrometheusRule](t, objs, "PrometheusRules")
	release := sm.Labels["release"]
	if release == "" {
		t.Fatal("the ServiceMonitor has no release label: kube-prometheus-stack's Prometheus selects by it")
	}
	if rule.Labels["release"] != release {
		t.Errorf("PrometheusRule release label %q, ServiceMonitor's %q: the chart selects both by the same one", rule.Labels["release"], release)
	}
	rules := 0
	for _, g := range rule.Spec.Groups {
		rules += len(g.Rules)
	}
	if rules == 0 {
		t.Error("the PrometheusRule has no rules")
	}

	// Dashboards: the chart's Grafana sidecar loads ConfigMaps labelled
	// grafana_dashboard=1 (from every namespace, by the chart's default).
	var dashboards int
	for _, cm := range find[*corev1.ConfigMap](objs) {
		if cm.Labels["grafana_dashboard"] != "1" {
			t.Errorf("ConfigMap %s has no grafana_dashboard=1 label", cm.Name)
		}
		for k, v := range cm.Data {
			if !json.Valid([]byte(v)) {
				t.Errorf("ConfigMap %s key %s is not JSON", cm.Name, k)
			}
			dashboards++
		}
	}
	files, _ := filepath.Glob(filepath.Join(testutil.RepoRoot(t), kps, "generated", mixin.DirDashboards, "*.json"))
	if dashboards == 0 || dashboards != len(files) {
		t.Errorf("%d dashboards in ConfigMaps, %d generated", dashboards, len(files))
	}

	// The ServiceMonitor scrapes both Services as job="kubepulse", the
	// mixin's default selector, keeping kubepulse's own labels.
	job := false
	for _, ep := range sm.Spec.Endpoints {
		if !ep.HonorLabels {
			t.Errorf("endpoint %s: honorLabels is not true", ep.Port)
		}
		for _, r := range ep.RelabelConfigs {
			job = job || r.TargetLabel == "job" && r.Replacement != nil && *r.Replacement == "kubepulse"
		}
	}
	if !job {
		t.Error(`ServiceMonitor does not set job="kubepulse", the mixin's default selector`)
	}
	svcs := find[*corev1.Service](objs)
	if len(svcs) != 2 {
		t.Fatalf("%d Services, want 2", len(svcs))
	}
	for _, s := range svcs {
		if !slices.Contains(sm.Spec.NamespaceSelector.MatchNames, s.Namespace) {
			t.Errorf("ServiceMonitor namespaces %v miss Service %s/%s", sm.Spec.NamespaceSelector.MatchNames, s.Namespace, s.Name)
		}
		for k, v := range sm.Spec.Selector.MatchLabels {
			if s.Labels[k] != v {
				t.Errorf("ServiceMonitor selector %s=%s does not match Service %s", k, v, s.Name)
			}
		}
		found := false
		for _, p := range s.Spec.Ports {
			for _, ep := range sm.Spec.Endpoints {
				found = found || ep.Port == p.Name
			}
		}
		if !found {
			t.Errorf("no ServiceMonitor endpoint names a port of Service %s", s.Name)
		}
	}
}

// TestClientSideApplyFits: `kubectl apply` without --server-side keeps the
// whole object in an annotation, and annotations are limited to 256 KiB.
func TestClientSideApplyFits(t *testing.T) {
	const limit = 256 << 10
	for _, k := range Kustomizations {
		for _, o := range renderAll(t)[k] {
			b, err := json.Marshal(o.Typed)
			if err != nil {
				t.Fatal(err)
			}
			if len(b) > limit*9/10 {
				t.Errorf("%s: %d bytes of JSON, near or over the %d-byte annotation limit of client-side apply", o, len(b), limit)
			}
		}
	}
}

// TestWorkloadWiring checks what each workload needs from its pod spec.
func TestWorkloadWiring(t *testing.T) {
	for _, k := range []string{"deploy/base", kps, "deploy/overlays/per-node"} {
		t.Run(k, func(t *testing.T) {
			objs := renderAll(t)[k]
			sa := one[*corev1.ServiceAccount](t, objs, "ServiceAccounts")
			dep := one[*appsv1.Deployment](t, objs, "Deployments")
			ds := one[*appsv1.DaemonSet](t, objs, "DaemonSets")
			for _, spec := range []corev1.PodSpec{dep.Spec.Template.Spec, ds.Spec.Template.Spec} {
				if spec.ServiceAccountName != sa.Name {
					t.Errorf("serviceAccountName %q, want %q", spec.ServiceAccountName, sa.Name)
				}
			}
			ctr := ds.Spec.Template.Spec.Containers[0]
			if !slices.Contains(ctr.Args, "--node=$(NODE_NAME)") {
				t.Errorf("DaemonSet args %v lack --node=$(NODE_NAME)", ctr.Args)
			}
			nodeEnv := false
			for _, e := range ctr.Env {
				nodeEnv = nodeEnv || e.Name == "NODE_NAME" && e.ValueFrom != nil && e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "spec.nodeName"
			}
			if !nodeEnv {
				t.Error("DaemonSet has no NODE_NAME from the downward API (spec.nodeName)")
			}
			mounts := map[string]corev1.VolumeMount{}
			for _, m := range ctr.VolumeMounts {
				mounts[m.MountPath] = m
			}
			if m, ok := mounts[LogDir]; !ok || !m.ReadOnly {
				t.Errorf("%s mount %+v: want it mounted read-only", LogDir, m)
			}
			hostPaths := map[string]string{}
			for _, v := range ds.Spec.Template.Spec.Volumes {
				if v.HostPath != nil {
					hostPaths[v.Name] = v.HostPath.Path
				}
			}
			if p, ok := mounts["/var/lib/kubepulse"]; !ok || hostPaths[p.Name] == "" || p.ReadOnly {
				t.Errorf("positions directory /var/lib/kubepulse must be a writable hostPath mount (%+v)", p)
			}
			// Each family of series comes from exactly one of the two.
			depOn, err := exporterCollectors(dep.Spec.Template.Spec.Containers[0].Args)
			if err != nil {
				t.Fatalf("Deployment: %v", err)
			}
			dsOn, err := exporterCollectors(ctr.Args)
			if err != nil {
				t.Fatalf("DaemonSet: %v", err)
			}
			for _, c := range []string{"node", "pod", "hpa", "usage", "logs"} {
				if depOn[c] == dsOn[c] {
					t.Errorf("collector %s: on in the Deployment %v, in the DaemonSet %v; want exactly one", c, depOn[c], dsOn[c])
				}
			}
		})
	}

	job := one[*batchv1.Job](t, renderAll(t)["deploy/overlays/loadtest-job"], "Jobs")
	spec := job.Spec.Template.Spec
	if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
		t.Error("the load-test Job mounts a ServiceAccount token it never uses")
	}
	if job.Namespace != "" {
		t.Errorf("the load-test Job is pinned to namespace %q; it is created with --namespace", job.Namespace)
	}
	if args := spec.Containers[0].Args; len(args) == 0 || args[0] != "loadtest" {
		t.Errorf("load-test Job args %v, want the loadtest subcommand", args)
	}
}

// exporterCollectors parses `kubepulse exporter` arguments with the
// exporter's own flag definitions and reports which collectors would run;
// "usage" counts only with a usage source.
func exporterCollectors(args []string) (map[string]bool, error) {
	if len(args) == 0 || args[0] != "exporter" {
		return nil, fmt.Errorf("args %v: want the exporter subcommand", args)
	}
	on, source, err := parseExporterArgs(args[1:])
	if err != nil {
		return nil, fmt.Errorf("args %v: %w", args, err)
	}
	if on["usage"] && source == "none" {
		on["usage"] = false
	}
	if on["pdb"] {
		return nil, fmt.Errorf("args %v: pdb is opt-in, the base RBAC cannot read PodDisruptionBudgets", args)
	}
	for c := range on {
		// pdb is opt-in (its RBAC is not in the base): in neither workload.
		if !slices.Contains([]string{"node", "pod", "hpa", "usage", "logs", "loadtest", "pdb"}, c) {
			return nil, fmt.Errorf("collector %s is new: say in TestWorkloadWiring which workload runs it", c)
		}
	}
	return on, nil
}

// parseExporterArgs parses the collector toggles and --usage.source with
// the collectors' own flag definitions (so defaults and spelling are the
// binary's); the other flags are checked by running the binary in
// test/integration.
func parseExporterArgs(args []string) (map[string]bool, string, error) {
	app := kingpin.New("kubepulse", "")
	app.Terminate(nil)
	cmd := app.Command("exporter", "")
	collector.AddFlags(cmd)
	// Every collector flag counts, input flags (--logs.path) and
	// --collector.disable-defaults included; the --web.* and --log.* flags
	// are not the collectors'.
	var keep []string
	for _, a := range args {
		name, _, _ := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		if cmd.GetFlag(name) != nil || cmd.GetFlag(strings.TrimPrefix(name, "no-")) != nil {
			keep = append(keep, a)
		}
	}
	if _, err := app.Parse(append([]string{"exporter"}, keep...)); err != nil {
		return nil, "", err
	}
	on := map[string]bool{}
	for _, n := range collector.Names() {
		on[n] = collector.Enabled(n)
	}
	f := cmd.GetFlag("usage.source")
	if f == nil {
		return nil, "", fmt.Errorf("the exporter has no --usage.source flag")
	}
	return on, f.Model().Value.String(), nil
}
