package manifests

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"sigs.k8s.io/kustomize/api/types"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/kubepulse/kubepulse/internal/testutil"
)

var (
	renderOnce sync.Once
	rendered   map[string][]Object
	renderErr  error
)

// renderAll renders every kustomization once per test binary.
func renderAll(t *testing.T) map[string][]Object {
	t.Helper()
	root := testutil.RepoRoot(t)
	renderOnce.Do(func() {
		rendered = map[string][]Object{}
		for _, k := range Kustomizations {
			objs, err := Render(root, k)
			if err != nil {
				renderErr = err
				return
			}
			rendered[k] = objs
		}
	})
	if renderErr != nil {
		t.Fatal(renderErr)
	}
	return rendered
}

func kinds(objs []Object) []string {
	var ks []string
	for _, o := range objs {
		ks = append(ks, o.GVK.Kind)
	}
	slices.Sort(ks)
	return slices.Compact(ks)
}

// TestRender builds every kustomization and checks it holds what its
// directory promises.
func TestRender(t *testing.T) {
	all := renderAll(t)
	base := []string{"ClusterRole", "ClusterRoleBinding", "DaemonSet", "Deployment", "Namespace", "Service", "ServiceAccount"}
	for _, tc := range []struct {
		dir  string
		want []string
	}{
		{"deploy/base", base},
		{"deploy/overlays/kube-prometheus-stack", append(slices.Clone(base), "ConfigMap", "PrometheusRule", "ServiceMonitor")},
		{"deploy/overlays/per-node", base},
		{"deploy/overlays/loadtest-job", []string{"Job"}},
	} {
		t.Run(tc.dir, func(t *testing.T) {
			want := slices.Clone(tc.want)
			slices.Sort(want)
			if got := kinds(all[tc.dir]); !slices.Equal(got, want) {
				t.Errorf("kinds %v, want %v", got, want)
			}
		})
	}
	// The base stays plain Kubernetes so it applies to a cluster without the
	// Prometheus Operator's CRDs.
	for _, o := range all["deploy/base"] {
		if o.GVK.Group == "monitoring.coreos.com" {
			t.Errorf("%s: a CRD kind in the base", o)
		}
	}
}

// TestDecodeIsStrict shows the decoder rejects what the apiserver would
// silently prune, so TestRender's pass means something.
func TestDecodeIsStrict(t *testing.T) {
	for _, tc := range []struct{ name, yaml, want string }{
		{"misspelt field", "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: a}\nautomountServiceAccountTokn: false\n", "unknown field"},
		{"field at the wrong level", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a}\nspec:\n  template:\n    spec:\n      containers: [{name: c, image: i}]\n      readOnlyRootFilesystem: true\n", "unknown field"},
		{"duplicate field", "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec:\n  type: ClusterIP\n  type: NodePort\n", "already set"},
		{"unknown kind", "apiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitr\nmetadata: {name: a}\n", "no kind"},
		{"monitoring type checked", "apiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\nmetadata: {name: a}\nspec:\n  endpoints: [{port: m, honorLabel: true}]\n", "unknown field"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode([]byte(tc.yaml))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Decode: %v, want an error containing %q", err, tc.want)
			}
		})
	}
	if _, err := Decode([]byte("apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: a}\nautomountServiceAccountToken: false\n")); err != nil {
		t.Errorf("a valid object: %v", err)
	}
}

// TestEveryManifestIsUsed fails on a YAML file under deploy/ that no
// kustomization lists (a manifest users would never get), and on a listed
// file that is missing.
func TestEveryManifestIsUsed(t *testing.T) {
	root := testutil.RepoRoot(t)
	deploy := filepath.Join(root, "deploy")
	used := map[string]bool{}
	var kzs []string
	err := filepath.WalkDir(deploy, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() != "kustomization.yaml" {
			return err
		}
		kzs = append(kzs, p)
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		var k types.Kustomization
		if err := sigsyaml.UnmarshalStrict(b, &k); err != nil {
			t.Errorf("%s: %v", p, err)
			return nil
		}
		refs := slices.Clone(k.Resources)
		for _, pt := range k.Patches {
			if pt.Path != "" {
				refs = append(refs, pt.Path)
			}
		}
		for _, r := range refs {
			abs := filepath.Join(filepath.Dir(p), r)
			if _, err := os.Stat(abs); err != nil {
				t.Errorf("%s lists %s: %v", p, r, err)
			}
			used[abs] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range Kustomizations {
		if !slices.Contains(kzs, filepath.Join(root, k, "kustomization.yaml")) {
			t.Errorf("%s has no kustomization.yaml", k)
		}
	}
	if len(kzs) != len(Kustomizations) {
		t.Errorf("%d kustomizations under deploy/, %d in Kustomizations: list the new one there so it is tested", len(kzs), len(Kustomizations))
	}
	err = filepath.WalkDir(deploy, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		// generated/ is a whole `kubepulse generate` output directory; the
		// overlay takes two of its files.
		if d.IsDir() && d.Name() == "generated" {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(p, ".yaml") && d.Name() != "kustomization.yaml" && !used[p] {
			rel, _ := filepath.Rel(root, p)
			t.Errorf("%s is not listed in any kustomization", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
