package integration

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-logfmt/logfmt"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kubepulse/kubepulse/internal/testenv"
)

// deployRBAC is the exporter's identity as shipped in deploy/.
type deployRBAC struct {
	ns      corev1.Namespace
	sa      corev1.ServiceAccount
	role    rbacv1.ClusterRole
	binding rbacv1.ClusterRoleBinding
}

func loadDeployRBAC(t *testing.T) deployRBAC {
	t.Helper()
	var d deployRBAC
	decodeOne(t, "namespace.yaml", &d.ns)
	decodeOne(t, "serviceaccount.yaml", &d.sa)
	decodeOne(t, "clusterrole.yaml", &d.role)
	decodeOne(t, "clusterrolebinding.yaml", &d.binding)
	return d
}

// TestClusterRoleLeastPrivilege checks the shipped ClusterRole statically:
// read-only verbs, no wildcards, no nodes/proxy, and the binding points at it.
func TestClusterRoleLeastPrivilege(t *testing.T) {
	d := loadDeployRBAC(t)
	readOnly := map[string]bool{"get": true, "list": true, "watch": true}
	if len(d.role.Rules) == 0 {
		t.Fatal("deploy/clusterrole.yaml has no rules")
	}
	for i, r := range d.role.Rules {
		t.Run(fmt.Sprintf("rule%d_%s", i, strings.Join(r.Resources, ",")), func(t *testing.T) {
			for _, v := range r.Verbs {
				if !readOnly[v] {
					t.Errorf("verb %q is not read-only (allowed: get, list, watch)", v)
				}
			}
			for _, res := range r.Resources {
				if res == "*" || strings.HasSuffix(res, "/*") {
					t.Errorf("wildcard resource %q", res)
				}
				if res == "nodes/proxy" {
					t.Errorf("nodes/proxy is granted: it lets the token exec into any container through the kubelet")
				}
				if res == "secrets" || res == "configmaps" {
					t.Errorf("%s is granted but kubepulse never reads it", res)
				}
			}
			if slices.Contains(r.APIGroups, "*") {
				t.Errorf("wildcard API group")
			}
			if len(r.NonResourceURLs) > 0 {
				t.Errorf("non-resource URLs granted: %v", r.NonResourceURLs)
			}
			if len(r.ResourceNames) > 0 {
				t.Errorf("resourceNames restrict list/watch to nothing: %v", r.ResourceNames)
			}
		})
	}
	if d.binding.RoleRef.Kind != "ClusterRole" || d.binding.RoleRef.Name != d.role.Name {
		t.Errorf("binding roleRef %+v does not point at ClusterRole %q", d.binding.RoleRef, d.role.Name)
	}
	if len(d.binding.Subjects) != 1 || d.binding.Subjects[0].Name != d.sa.Name || d.binding.Subjects[0].Namespace != d.sa.Namespace {
		t.Errorf("binding subjects %+v, want the ServiceAccount %s/%s", d.binding.Subjects, d.sa.Namespace, d.sa.Name)
	}
}

// applyRBAC creates the namespace, ServiceAccount, ClusterRole and binding
// from deploy/ (or updates them when a previous test created them).
func applyRBAC(ctx context.Context, t *testing.T, c kubernetes.Interface, d deployRBAC) {
	t.Helper()
	ns := d.ns.DeepCopy()
	if _, err := c.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("create namespace from deploy/namespace.yaml: %v", err)
	}
	if _, err := c.CoreV1().ServiceAccounts(d.sa.Namespace).Create(ctx, d.sa.DeepCopy(), metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("create ServiceAccount from deploy/serviceaccount.yaml: %v", err)
	}
	setClusterRole(ctx, t, c, d.role.DeepCopy())
	if _, err := c.RbacV1().ClusterRoleBindings().Create(ctx, d.binding.DeepCopy(), metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("create ClusterRoleBinding from deploy/clusterrolebinding.yaml: %v", err)
	}
}

func setClusterRole(ctx context.Context, t *testing.T, c kubernetes.Interface, role *rbacv1.ClusterRole) {
	t.Helper()
	cur, err := c.RbacV1().ClusterRoles().Get(ctx, role.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		_, err = c.RbacV1().ClusterRoles().Create(ctx, role, metav1.CreateOptions{})
	case err == nil:
		cur.Rules = role.Rules
		_, err = c.RbacV1().ClusterRoles().Update(ctx, cur, metav1.UpdateOptions{})
	}
	if err != nil {
		t.Fatalf("apply ClusterRole %s: %v", role.Name, err)
	}
}

// saToken mints a token for the deploy/ ServiceAccount with the TokenRequest API.
func saToken(ctx context.Context, t *testing.T, c kubernetes.Interface, d deployRBAC) string {
	t.Helper()
	exp := int64(3600)
	tr, err := c.CoreV1().ServiceAccounts(d.sa.Namespace).CreateToken(ctx, d.sa.Name, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &exp},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("TokenRequest for %s/%s: %v", d.sa.Namespace, d.sa.Name, err)
	}
	if tr.Status.Token == "" {
		t.Fatal("TokenRequest returned an empty token")
	}
	return tr.Status.Token
}

// TestRBACFromDeploy runs the exporter with nothing but a ServiceAccount
// token bound to deploy/'s ClusterRole: it must sync and serve; with any one
// rule it needs taken out it must stay unready and log the denial.
func TestRBACFromDeploy(t *testing.T) {
	env := sharedEnv(t)
	ctx := testContext(t, 5*time.Minute)
	admin := adminClient(t, env)
	d := loadDeployRBAC(t)
	applyRBAC(ctx, t, admin, d)
	t.Cleanup(func() { setClusterRole(context.Background(), t, admin, d.role.DeepCopy()) })

	// Something to see through the exporter's eyes.
	ns := createNamespace(ctx, t, admin, "rbac")
	node := "rbac-" + ns
	createBareNode(ctx, t, admin, node)
	t.Cleanup(func() { _ = admin.CoreV1().Nodes().Delete(context.Background(), node, metav1.DeleteOptions{}) })
	createBarePod(ctx, t, admin, ns, "p", node)

	kc := filepath.Join(t.TempDir(), "kubeconfig")
	if err := env.WriteKubeconfig(kc, saToken(ctx, t, admin, d)); err != nil {
		t.Fatal(err)
	}
	run := func(t *testing.T) *testenv.Exporter {
		return testenv.StartExporter(t, testenv.ExporterBinary(t), "--kubeconfig="+kc, "--usage.source=none")
	}

	t.Run("full role syncs and serves", func(t *testing.T) {
		for _, tc := range []struct{ group, resource string }{{"", "nodes"}, {"", "pods"}, {"autoscaling", "horizontalpodautoscalers"}, {"apps", "replicasets"}, {"batch", "jobs"}} {
			waitAccess(ctx, t, admin, d, tc.group, tc.resource, true)
		}
		x := run(t)
		if err := x.WaitReady(testContext(t, 2*time.Minute)); err != nil {
			t.Fatal(err)
		}
		eventually(ctx, t, "metrics through the ServiceAccount token", func() error {
			fams, _, _, err := x.Scrape(ctx)
			if err != nil {
				return err
			}
			for _, src := range []string{"nodes", "pods", "replicasets", "jobs", "hpas"} {
				if v, ok := fams.Value("kubepulse_source_up", map[string]string{"source": src}); !ok || v != 1 {
					return fmt.Errorf("kubepulse_source_up{source=%q} = %v (present %v), want 1", src, v, ok)
				}
			}
			if _, ok := fams.Value("kubepulse_node_info", map[string]string{"node": node}); !ok {
				return fmt.Errorf("no kubepulse_node_info for node %s", node)
			}
			if v, ok := fams.Value("kubepulse_pod_phase", map[string]string{"namespace": ns, "pod": "p", "phase": "Pending"}); !ok || v != 1 {
				return fmt.Errorf("kubepulse_pod_phase{namespace=%q,pod=\"p\",phase=\"Pending\"} = %v (present %v), want 1", ns, v, ok)
			}
			return nil
		})
		if denied := deniedLines(x.Logs()); len(denied) > 0 {
			t.Errorf("exporter logged denials with the full role:\n%s", strings.Join(denied, "\n"))
		}
	})

	// Each rule the default collectors need, taken out in turn. The usage
	// rules (nodes/metrics, metrics.k8s.io) are only used by
	// --usage.source=kubelet|metrics-api, which need kubelets or
	// metrics-server that this cluster does not run.
	cases := []struct {
		group, resource string
	}{
		{"", "nodes"},
		{"", "pods"},
		{"autoscaling", "horizontalpodautoscalers"},
		{"apps", "replicasets"},
		{"batch", "jobs"},
	}
	for _, tc := range cases {
		t.Run("without "+tc.resource, func(t *testing.T) {
			role := d.role.DeepCopy()
			role.Rules = nil
			removed := 0
			for _, r := range d.role.Rules {
				if slices.Contains(r.APIGroups, tc.group) && slices.Contains(r.Resources, tc.resource) {
					removed++
					continue
				}
				role.Rules = append(role.Rules, r)
			}
			if removed != 1 {
				t.Fatalf("deploy/clusterrole.yaml has %d rules for %q in group %q, want 1", removed, tc.resource, tc.group)
			}
			setClusterRole(ctx, t, admin, role)
			t.Cleanup(func() { setClusterRole(context.Background(), t, admin, d.role.DeepCopy()) })
			// Start the exporter only once the apiserver's authorizer has seen
			// the new role, or it could list with the old one and sync.
			waitAccess(ctx, t, admin, d, tc.group, tc.resource, false)

			x := run(t)
			want := fmt.Sprintf(`cannot list resource %q in API group %q`, tc.resource, tc.group)
			var line string
			eventually(testContext(t, 2*time.Minute), t, "a go-kit log line naming the missing permission", func() error {
				for _, l := range deniedLines(x.Logs()) {
					if strings.Contains(l, want) && strings.Contains(l, "system:serviceaccount:"+d.sa.Namespace+":"+d.sa.Name) {
						line = l
						return nil
					}
				}
				return fmt.Errorf("no leveled logfmt line containing %s; log tail:\n%s", want, tail(x.Logs(), 10))
			})
			t.Logf("denial logged: %s", line)
			// It keeps retrying and never syncs.
			for i := 0; i < 3; i++ {
				ok, body, err := x.Ready(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if ok {
					t.Fatalf("/-/ready is true without %s", tc.resource)
				}
				if i == 0 {
					t.Logf("/-/ready: %s", strings.TrimSpace(body))
				}
				time.Sleep(time.Second)
			}
			checkKlogMirrored(t, x)
			code, _, err := x.Get(ctx, "/metrics")
			if err != nil || code != http.StatusOK {
				t.Errorf("/metrics while unready: %d %v, want 200 (own metrics keep being served)", code, err)
			}
		})
	}
}

// deniedLines returns the exporter's go-kit (logfmt) lines at warn or error
// level that report a "forbidden" answer, with their values decoded (so
// quotes in err are plain). klog's own format does not count: the denial
// must reach the exporter's log, with its level and fields.
func deniedLines(logs string) []string {
	var out []string
	for _, l := range strings.Split(logs, "\n") {
		if !strings.Contains(l, "forbidden") {
			continue
		}
		dec := logfmt.NewDecoder(strings.NewReader(l))
		lvl, hasMsg := "", false
		var text []string
		for dec.ScanRecord() {
			for dec.ScanKeyval() {
				switch string(dec.Key()) {
				case "level":
					lvl = string(dec.Value())
				case "msg":
					hasMsg = true
				}
				text = append(text, string(dec.Key())+"="+string(dec.Value()))
			}
		}
		if dec.Err() == nil && hasMsg && (lvl == "warn" || lvl == "error") {
			out = append(out, strings.Join(text, " "))
		}
	}
	return out
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// waitAccess waits until a SubjectAccessReview for the deploy/ ServiceAccount
// listing group/resource cluster-wide answers allowed.
func waitAccess(ctx context.Context, t *testing.T, c kubernetes.Interface, d deployRBAC, group, resource string, allowed bool) {
	t.Helper()
	sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		User:               "system:serviceaccount:" + d.sa.Namespace + ":" + d.sa.Name,
		Groups:             []string{"system:serviceaccounts", "system:serviceaccounts:" + d.sa.Namespace, "system:authenticated"},
		ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: "list", Group: group, Resource: resource},
	}}
	eventually(ctx, t, fmt.Sprintf("authorizer: list %s.%s allowed=%v", resource, group, allowed), func() error {
		r, err := c.AuthorizationV1().SubjectAccessReviews().Create(ctx, sar, metav1.CreateOptions{})
		if err != nil {
			return err
		}
		if r.Status.Allowed != allowed {
			return fmt.Errorf("allowed=%v (%s)", r.Status.Allowed, r.Status.Reason)
		}
		return nil
	})
}
