package integration

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/kubepulse/kubepulse/internal/testenv"
	"github.com/kubepulse/kubepulse/test/manifests"
)

// deployPath is a file of the kustomize base, deploy/base.
func deployPath(t *testing.T, name string) string {
	t.Helper()
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(root, "deploy", "base", name)
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
		t.Fatalf("deploy/base/%s: %d documents, want 1", name, len(docs))
	}
	if err := sigsyaml.UnmarshalStrict(docs[0], obj); err != nil {
		t.Fatalf("deploy/base/%s: %v", name, err)
	}
}

func bufioReader(b []byte) *bufio.Reader { return bufio.NewReader(bytes.NewReader(b)) }

// TestDeployManifests renders every kustomization under deploy/ (as
// `kubectl apply -k` does) and sends each object to the real apiserver as a
// server-side apply dry run with strict field validation. The
// monitoring.coreos.com kinds have no CRD on this apiserver; test/manifests
// decodes them strictly into the prometheus-operator types instead. Each
// workload's pod template must also pass the apiserver's own "restricted"
// Pod Security admission (except the node agent's documented root log
// reader), and the binary must accept each container's arguments.
func TestDeployManifests(t *testing.T) {
	env := sharedEnv(t)
	ctx := testContext(t, 3*time.Minute)
	c := adminClient(t, env)
	cfg := env.AdminConfig()
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	disc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(disc))
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}

	// Namespaces the objects go to: their own (applied for real first), the
	// chart's `monitoring`, and for namespace-less objects (the load-test
	// Job, created with --namespace) one made here.
	ensureNS := func(name string) {
		_, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
	}
	loose := createNamespace(ctx, t, c, "deploy")
	apply := func(o manifests.Object, dryRun bool) error {
		m, err := mapper.RESTMapping(o.GVK.GroupKind(), o.GVK.Version)
		if err != nil {
			return err
		}
		body, err := sigsyaml.YAMLToJSON(o.YAML)
		if err != nil {
			return err
		}
		opts := metav1.PatchOptions{FieldManager: "kubepulse-test", Force: ptr(true), FieldValidation: "Strict"}
		if dryRun {
			opts.DryRun = []string{metav1.DryRunAll}
		}
		var ri dynamic.ResourceInterface = dyn.Resource(m.Resource)
		if m.Scope.Name() == meta.RESTScopeNameNamespace {
			ns := o.Namespace
			if ns == "" {
				ns = loose
			}
			ri = dyn.Resource(m.Resource).Namespace(ns)
		}
		_, err = ri.Patch(ctx, o.Name, types.ApplyPatchType, body, opts)
		return err
	}

	var workloads []manifests.Object
	for _, k := range manifests.Kustomizations {
		objs, err := manifests.Render(root, k)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(k, func(t *testing.T) {
			for _, o := range objs {
				if o.GVK.Kind == "Namespace" {
					if err := apply(o, false); err != nil {
						t.Fatalf("%s: %v", o, err)
					}
				}
			}
			crdOnly := 0
			for _, o := range objs {
				if o.Namespace != "" {
					ensureNS(o.Namespace)
				}
				err := apply(o, true)
				if meta.IsNoMatchError(err) && o.GVK.Group == "monitoring.coreos.com" {
					crdOnly++
					continue
				}
				if err != nil {
					t.Errorf("%s: server-side dry run: %v", o, err)
				}
				if _, ok := manifests.PodTemplate(o.Typed); ok {
					workloads = append(workloads, o)
				}
			}
			if crdOnly > 0 {
				t.Logf("%d monitoring.coreos.com objects checked by strict decoding only (no CRDs on this apiserver)", crdOnly)
			}
		})
	}
	if len(workloads) < 7 {
		t.Fatalf("%d workloads rendered, want 7 (Deployment and DaemonSet in three kustomizations, the Job)", len(workloads))
	}

	t.Run("restricted Pod Security", func(t *testing.T) {
		restricted := createNamespace(ctx, t, c, "restricted")
		nsObj, err := c.CoreV1().Namespaces().Get(ctx, restricted, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		nsObj.Labels["pod-security.kubernetes.io/enforce"] = "restricted"
		if _, err := c.CoreV1().Namespaces().Update(ctx, nsObj, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		dry := metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}
		pod := func(tpl *corev1.PodTemplateSpec) *corev1.Pod {
			return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{GenerateName: "tpl-", Namespace: restricted, Labels: tpl.Labels}, Spec: *tpl.Spec.DeepCopy()}
		}
		checked := 0
		for _, o := range workloads {
			tpl, _ := manifests.PodTemplate(o.Typed)
			if slices.ContainsFunc(tpl.Spec.Volumes, func(v corev1.Volume) bool {
				return v.HostPath != nil && v.HostPath.Path == manifests.LogDir
			}) {
				continue // the node agent: hostPath and uid 0, in a privileged namespace
			}
			checked++
			if _, err := c.CoreV1().Pods(restricted).Create(ctx, pod(tpl), dry); err != nil {
				t.Errorf("%s: its pod is rejected by the restricted profile: %v", o, err)
			}
		}
		if checked < 4 { // three Deployments and the Job
			t.Errorf("%d pod templates checked, want 4", checked)
		}
		// The namespace does enforce: the same pod without seccomp is refused.
		tpl, _ := manifests.PodTemplate(workloads[0].Typed)
		bad := pod(tpl)
		bad.Spec.SecurityContext.SeccompProfile = nil
		for i := range bad.Spec.Containers {
			bad.Spec.Containers[i].SecurityContext.SeccompProfile = nil
		}
		if _, err := c.CoreV1().Pods(restricted).Create(ctx, bad, dry); err == nil {
			t.Error("a pod without a seccomp profile is admitted: the restricted check proves nothing")
		}
	})

	t.Run("the binary accepts the manifests' arguments", func(t *testing.T) {
		bin := testenv.ExporterBinary(t)
		seen := map[string]bool{}
		for _, o := range workloads {
			tpl, _ := manifests.PodTemplate(o.Typed)
			for _, ctr := range tpl.Spec.Containers {
				key := strings.Join(ctr.Args, "\x00")
				if seen[key] {
					continue
				}
				seen[key] = true
				// kingpin rejects an unknown flag before it acts on --help.
				out, err := exec.Command(bin, append(slices.Clone(ctr.Args), "--help")...).CombinedOutput()
				if err != nil {
					t.Errorf("%s container %s args %v: %v\n%s", o, ctr.Name, ctr.Args, err, tail(string(out), 5))
				}
			}
		}
		if len(seen) < 5 { // exporter and agent in base and per-node, the load test
			t.Errorf("%d distinct argument lists, want 5", len(seen))
		}
	})
}
