package integration

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/yaml"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/kubepulse/kubepulse/internal/testenv"
)

// deployPath is a file under deploy/ at the repository root.
func deployPath(t *testing.T, name string) string {
	t.Helper()
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(root, "deploy", name)
}

// readDocs splits a manifest file into its YAML documents.
func readDocs(t *testing.T, name string) [][]byte {
	t.Helper()
	b, err := os.ReadFile(deployPath(t, name))
	if err != nil {
		t.Fatal(err)
	}
	r := yaml.NewYAMLReader(bufioReader(b))
	var out [][]byte
	for {
		doc, err := r.Read()
		if err != nil {
			break
		}
		if len(bytes.TrimSpace(doc)) > 0 {
			out = append(out, doc)
		}
	}
	if len(out) == 0 {
		t.Fatalf("%s: no YAML documents", name)
	}
	return out
}

// decodeOne strictly decodes the single document of a manifest file into obj:
// a misspelt field fails the test instead of being dropped.
func decodeOne(t *testing.T, name string, obj any) {
	t.Helper()
	docs := readDocs(t, name)
	if len(docs) != 1 {
		t.Fatalf("deploy/%s: %d documents, want 1", name, len(docs))
	}
	if err := sigsyaml.UnmarshalStrict(docs[0], obj); err != nil {
		t.Fatalf("deploy/%s: %v", name, err)
	}
}

func bufioReader(b []byte) *bufio.Reader { return bufio.NewReader(bytes.NewReader(b)) }

// TestDeployManifests sends every deploy/ manifest to the real apiserver as a
// server-side dry run (full validation, nothing stored), checks the
// ServiceMonitor against the prometheus-operator types, and runs the real
// binary with each workload's arguments so a renamed flag breaks the test.
func TestDeployManifests(t *testing.T) {
	env := sharedEnv(t)
	ctx := testContext(t, 3*time.Minute)
	c := adminClient(t, env)

	var kz struct {
		Resources []string `json:"resources"`
	}
	b, err := os.ReadFile(deployPath(t, "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := sigsyaml.Unmarshal(b, &kz); err != nil {
		t.Fatalf("deploy/kustomization.yaml: %v", err)
	}
	files, _ := filepath.Glob(deployPath(t, "*.yaml"))
	listed := map[string]bool{}
	for _, r := range kz.Resources {
		listed[r] = true
		if _, err := os.Stat(deployPath(t, r)); err != nil {
			t.Errorf("kustomization lists %s: %v", r, err)
		}
	}
	for _, f := range files {
		base := filepath.Base(f)
		if base != "kustomization.yaml" && base != "loadtest-job.yaml" && !listed[base] {
			t.Errorf("deploy/%s is not listed in kustomization.yaml", base)
		}
	}

	var ns corev1.Namespace
	decodeOne(t, "namespace.yaml", &ns)
	if _, err := c.CoreV1().Namespaces().Create(ctx, &ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	var sa corev1.ServiceAccount
	decodeOne(t, "serviceaccount.yaml", &sa)
	dry := metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}, FieldValidation: "Strict"}

	var dep appsv1.Deployment
	decodeOne(t, "deployment.yaml", &dep)
	var ds appsv1.DaemonSet
	decodeOne(t, "daemonset.yaml", &ds)
	var svcs []corev1.Service
	for i, doc := range readDocs(t, "service.yaml") {
		var s corev1.Service
		if err := sigsyaml.UnmarshalStrict(doc, &s); err != nil {
			t.Fatalf("deploy/service.yaml document %d: %v", i+1, err)
		}
		svcs = append(svcs, s)
	}
	var sm monitoringv1.ServiceMonitor
	decodeOne(t, "servicemonitor.yaml", &sm)

	t.Run("server-side dry run", func(t *testing.T) {
		if _, err := c.AppsV1().Deployments(dep.Namespace).Create(ctx, dep.DeepCopy(), dry); err != nil {
			t.Errorf("deploy/deployment.yaml: %v", err)
		}
		if _, err := c.AppsV1().DaemonSets(ds.Namespace).Create(ctx, ds.DeepCopy(), dry); err != nil {
			t.Errorf("deploy/daemonset.yaml: %v", err)
		}
		for _, s := range svcs {
			if _, err := c.CoreV1().Services(s.Namespace).Create(ctx, s.DeepCopy(), dry); err != nil {
				t.Errorf("deploy/service.yaml %s: %v", s.Name, err)
			}
		}
	})

	t.Run("wiring", func(t *testing.T) {
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
			if e.Name == "NODE_NAME" && e.ValueFrom != nil && e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "spec.nodeName" {
				nodeEnv = true
			}
		}
		if !nodeEnv {
			t.Error("DaemonSet has no NODE_NAME from the downward API (spec.nodeName)")
		}
		mounts := map[string]corev1.VolumeMount{}
		for _, m := range ctr.VolumeMounts {
			mounts[m.MountPath] = m
		}
		if m, ok := mounts["/var/log/pods"]; !ok || !m.ReadOnly {
			t.Errorf("/var/log/pods mount %+v: want it mounted read-only", m)
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
		if !slices.Contains(dep.Spec.Template.Spec.Containers[0].Args, "--usage.source=kubelet") {
			t.Errorf("Deployment args %v lack --usage.source=kubelet", dep.Spec.Template.Spec.Containers[0].Args)
		}
		// job="kubepulse" is the generated mixin's default selector.
		job := false
		for _, ep := range sm.Spec.Endpoints {
			for _, r := range ep.RelabelConfigs {
				job = job || r.TargetLabel == "job" && r.Replacement != nil && *r.Replacement == "kubepulse"
			}
		}
		if !job {
			t.Error(`ServiceMonitor does not set job="kubepulse", the mixin's default selector`)
		}
		// The ServiceMonitor must select both Services and name their port.
		for _, s := range svcs {
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
	})

	t.Run("the binary accepts the manifests' arguments", func(t *testing.T) {
		bin := testenv.ExporterBinary(t)
		for _, w := range []struct {
			name string
			args []string
		}{
			{"deployment.yaml", dep.Spec.Template.Spec.Containers[0].Args},
			{"daemonset.yaml", ds.Spec.Template.Spec.Containers[0].Args},
		} {
			// kingpin rejects an unknown flag before it acts on --help.
			out, err := exec.Command(bin, append(append([]string{}, w.args...), "--help")...).CombinedOutput()
			if err != nil {
				t.Errorf("deploy/%s args %v: %v\n%s", w.name, w.args, err, tail(string(out), 5))
			}
		}
	})
}
