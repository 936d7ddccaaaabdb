package pdb

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	metafake "k8s.io/client-go/metadata/fake"

	"github.com/kubepulse/kubepulse/collector"
	"github.com/kubepulse/kubepulse/collector/cluster"
	"github.com/kubepulse/kubepulse/internal/catalog"
)

func pdb(ns, name string, expected, current, desired, allowed int32) *policyv1.PodDisruptionBudget {
	return &policyv1.PodDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID("uid-" + ns + "-" + name)},
		Status:     policyv1.PodDisruptionBudgetStatus{ExpectedPods: expected, CurrentHealthy: current, DesiredHealthy: desired, DisruptionsAllowed: allowed},
	}
}

// The collector on the cluster source of a fake clientset: the four gauges
// per budget, --namespaces honoured, status changes and deletions followed.
func TestPDBCollector(t *testing.T) {
	web := pdb("shop", "web", 3, 3, 2, 1)
	db := pdb("shop", "db", 2, 1, 2, 0)
	sys := pdb("kube-system", "coredns", 2, 2, 1, 1)
	tests := []struct {
		name   string
		cfg    cluster.Config
		objs   []runtime.Object
		change func(t *testing.T, ctx context.Context, c *fake.Clientset)
		want   string // exposition of the four families, sorted by label
	}{
		{
			name: "every budget",
			objs: []runtime.Object{web, db, sys},
			want: gauges(
				[]string{"kube-system", "coredns", "2", "2", "1", "1"},
				[]string{"shop", "db", "2", "1", "2", "0"},
				[]string{"shop", "web", "3", "3", "2", "1"}),
		},
		{
			name: "--namespaces leaves the others out",
			cfg:  cluster.Config{Namespaces: []string{"shop"}},
			objs: []runtime.Object{web, sys},
			want: gauges([]string{"shop", "web", "3", "3", "2", "1"}),
		},
		{
			name: "status update and deletion",
			objs: []runtime.Object{web, db},
			change: func(t *testing.T, ctx context.Context, c *fake.Clientset) {
				w := web.DeepCopy()
				w.Status.CurrentHealthy, w.Status.DisruptionsAllowed = 2, 0
				if _, err := c.PolicyV1().PodDisruptionBudgets("shop").UpdateStatus(ctx, w, metav1.UpdateOptions{}); err != nil {
					t.Fatal(err)
				}
				if err := c.PolicyV1().PodDisruptionBudgets("shop").Delete(ctx, "db", metav1.DeleteOptions{}); err != nil {
					t.Fatal(err)
				}
			},
			want: gauges([]string{"shop", "web", "3", "2", "2", "0"}),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			client := fake.NewClientset(tt.objs...)
			sch := metafake.NewTestScheme()
			_ = metav1.AddMetaToScheme(sch)
			src := cluster.NewSource(tt.cfg, nil, client, metafake.NewSimpleMetadataClient(sch), log.NewNopLogger())
			c := New(src)
			if err := c.Update(make(chan prometheus.Metric, 100)); err == nil {
				t.Fatal("Update before Start did not fail")
			}
			if err := c.Start(ctx); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "the informer to sync", c.Ready)
			if tt.change != nil {
				tt.change(t, ctx, client)
			}
			// Informers deliver asynchronously: compare until equal, then
			// once more for the error message.
			var err error
			for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
				if err = testutil.CollectAndCompare(updater{c}, strings.NewReader(tt.want)); err == nil {
					return
				}
			}
			t.Fatal(err)
		})
	}
}

// Registered as the guide says: off by default, asking for the cluster.
func TestRegistered(t *testing.T) {
	if !strings.Contains(strings.Join(collector.Names(), ","), "pdb") {
		t.Fatal("pdb is not registered")
	}
	if collector.Enabled("pdb") {
		t.Fatal("pdb is on by default")
	}
}

// gauges renders the expected exposition: rows of namespace, name and the
// four values in catalogue order.
func gauges(rows ...[]string) string {
	var b strings.Builder
	for i, f := range []*catalog.Family{catalog.PDBCurrentHealthy, catalog.PDBDesiredHealthy, catalog.PDBDisruptionsAllowed, catalog.PDBExpectedPods} {
		col := map[int]int{0: 3, 1: 4, 2: 5, 3: 2}[i]
		b.WriteString(f.Header())
		for _, r := range rows {
			b.WriteString(f.Name + `{namespace="` + r[0] + `",poddisruptionbudget="` + r[1] + `"} ` + r[col] + "\n")
		}
	}
	return b.String()
}

// updater adapts the collector to prometheus.Collector for testutil.
type updater struct{ c *Collector }

func (u updater) Describe(ch chan<- *prometheus.Desc) { prometheus.DescribeByCollect(u, ch) }
func (u updater) Collect(ch chan<- prometheus.Metric) { _ = u.c.Update(ch) }

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
