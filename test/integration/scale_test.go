package integration

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const (
	scaleNodes       = 200
	scalePods        = 5000
	scaleWorkers     = 32
	scaleScrapes     = 7
	podCPUMillicores = 100
)

// TestScaleSmoke creates 200 nodes and 5,000 pods through the API in
// parallel under a running exporter, then reports how long the exporter
// took to show them all and how long a scrape takes. The figures are
// measurements for docs/benchmarks/integration.md, not assertions; what is
// asserted is that every object shows up with the right node sums.
func TestScaleSmoke(t *testing.T) {
	env := sharedEnv(t)
	ctx := testContext(t, 10*time.Minute)
	c := adminClient(t, env)
	ns := createNamespace(ctx, t, c, "scale")
	label := map[string]string{"kubepulse-scale": ns}

	x := adminExporter(t, env, "--namespaces="+ns)
	if err := x.WaitReady(testContext(t, 2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		bg := context.Background()
		sel := metav1.ListOptions{LabelSelector: "kubepulse-scale=" + ns}
		_ = c.CoreV1().Pods(ns).DeleteCollection(bg, deleteNow(), sel)
		_ = c.CoreV1().Nodes().DeleteCollection(bg, metav1.DeleteOptions{}, sel)
	})

	nodeName := func(i int) string { return fmt.Sprintf("%s-node-%03d", ns, i) }
	var failed atomic.Int64
	var firstErr sync.Once
	run := func(n int, f func(i int) error) {
		var wg sync.WaitGroup
		next := atomic.Int64{}
		for w := 0; w < scaleWorkers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := int(next.Add(1) - 1)
					if i >= n || ctx.Err() != nil {
						return
					}
					if err := f(i); err != nil {
						failed.Add(1)
						firstErr.Do(func() { t.Errorf("create: %v", err) })
					}
				}
			}()
		}
		wg.Wait()
	}

	start := time.Now()
	run(scaleNodes, func(i int) error {
		n, err := c.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: nodeName(i), Labels: label}}, metav1.CreateOptions{})
		if err != nil {
			return err
		}
		n.Status = corev1.NodeStatus{
			Capacity:    rl("cpu", "8", "memory", "32Gi", "pods", "110"),
			Allocatable: rl("cpu", "7800m", "memory", "30Gi", "pods", "110"),
			Conditions:  []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}},
		}
		_, err = c.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{})
		return err
	})
	run(scalePods, func(i int) error {
		_, err := c.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("p-%05d", i), Labels: label},
			Spec: corev1.PodSpec{NodeName: nodeName(i % scaleNodes), Containers: []corev1.Container{
				{Name: "app", Image: "registry.example/app:1", Resources: corev1.ResourceRequirements{
					Requests: rl("cpu", fmt.Sprintf("%dm", podCPUMillicores), "memory", "64Mi"),
					Limits:   rl("memory", "128Mi")}},
				{Name: "sidecar", Image: "registry.example/proxy:1"},
			}},
		}, metav1.CreateOptions{})
		return err
	})
	created := time.Since(start)
	if failed.Load() > 0 {
		t.Fatalf("%d creates failed", failed.Load())
	}

	// Every pod phase series and every node's request sum must be there.
	perNode := float64(scalePods/scaleNodes*podCPUMillicores) / 1000
	var lastScrape time.Duration
	eventually(ctx, t, "all nodes and pods in the exporter", func() error {
		fams, d, _, err := x.Scrape(ctx)
		if err != nil {
			return err
		}
		lastScrape = d
		pods := len(fams.Samples("kubepulse_pod_phase", map[string]string{"namespace": ns}))
		full := 0
		for i := 0; i < scaleNodes; i++ {
			if v, ok := fams.Value("kubepulse_node_requests", map[string]string{"node": nodeName(i), "resource": "cpu"}); ok && v == perNode {
				full++
			}
		}
		if pods != scalePods || full != scaleNodes {
			return fmt.Errorf("%d/%d pods, %d/%d nodes with %g cores requested", pods, scalePods, full, scaleNodes, perNode)
		}
		return nil
	})
	visible := time.Since(start)

	var durs []time.Duration
	var size int
	for i := 0; i < scaleScrapes; i++ {
		_, d, n, err := x.Scrape(ctx)
		if err != nil {
			t.Fatal(err)
		}
		durs = append(durs, d)
		size = n
	}
	sort.Slice(durs, func(i, j int) bool { return durs[i] < durs[j] })
	t.Logf("scale smoke: %d nodes + %d pods created through the API in %v (%d workers); all visible in the exporter after %v, %v after the last create (polling scrape %v)",
		scaleNodes, scalePods, created.Round(time.Millisecond), scaleWorkers, visible.Round(time.Millisecond),
		(visible - created).Round(time.Millisecond), lastScrape.Round(time.Millisecond))
	t.Logf("scale smoke: /metrics over loopback incl. transfer: median %v, min %v, max %v over %d scrapes, %d bytes uncompressed",
		durs[len(durs)/2].Round(time.Microsecond), durs[0].Round(time.Microsecond), durs[len(durs)-1].Round(time.Microsecond), len(durs), size)
}
