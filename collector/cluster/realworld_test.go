package cluster

import (
	"bytes"
	"math"
	"path/filepath"
	"testing"

	"github.com/go-kit/log"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime"
)

// feed runs objects through the transforms and event handlers, as the
// informers would, without an API server.
func feed(t *testing.T, s *Source, objs []runtime.Object) {
	t.Helper()
	for _, o := range objs {
		switch o.(type) {
		case *v1.Node:
			so, _ := stripNode(o)
			s.onNode(so, false)
		case *v1.Pod:
			s.podEvent(o.(*v1.Pod))
		default:
			t.Fatalf("unexpected %T", o)
		}
	}
}

// refSums is an independent reading of the scheduler rule with
// resource.Quantity arithmetic: per resource, the larger of (app containers
// + sidecars) and (each init container + sidecars before it), plus overhead.
func refSums(pods []*v1.Pod, node string) (req, lim map[v1.ResourceName]float64) {
	req, lim = map[v1.ResourceName]float64{}, map[v1.ResourceName]float64{}
	for _, p := range pods {
		if p.Spec.NodeName != node || p.Status.Phase == v1.PodSucceeded || p.Status.Phase == v1.PodFailed {
			continue
		}
		for pass, out := range []map[v1.ResourceName]float64{req, lim} {
			names := map[v1.ResourceName]bool{}
			get := func(c v1.Container) v1.ResourceList {
				if pass == 0 {
					return c.Resources.Requests
				}
				return c.Resources.Limits
			}
			for _, c := range append(append([]v1.Container{}, p.Spec.Containers...), p.Spec.InitContainers...) {
				for n := range get(c) {
					names[n] = true
				}
			}
			for n := range names {
				total := resource.Quantity{}
				for _, c := range p.Spec.Containers {
					if q, ok := get(c)[n]; ok {
						total.Add(q)
					}
				}
				side := resource.Quantity{}
				best := resource.Quantity{}
				for _, c := range p.Spec.InitContainers {
					q := get(c)[n]
					if c.RestartPolicy != nil && *c.RestartPolicy == v1.ContainerRestartPolicyAlways {
						total.Add(q)
						side.Add(q)
						if side.Cmp(best) > 0 {
							best = side.DeepCopy()
						}
						continue
					}
					use := q.DeepCopy()
					use.Add(side)
					if use.Cmp(best) > 0 {
						best = use
					}
				}
				if best.Cmp(total) > 0 {
					total = best
				}
				if o, ok := p.Spec.Overhead[n]; ok && (pass == 0 || !total.IsZero()) {
					total.Add(o)
				}
				out[n] += total.AsApproximateFloat64()
			}
		}
	}
	return req, lim
}

func TestRealWorldObjects(t *testing.T) {
	dir := filepath.Join(repoRoot(t), "testdata", "realworld", "k8s-objects")
	tests := []struct {
		name  string
		nodes string
		pods  string
	}{
		{"nri-k8s-1.34", "nri-k8s-1.34-nodes.yaml", "nri-k8s-1.34-pods.yaml"},
		{"honeycomb-eks", "honeycomb-eks-nodes.json", ""},
		{"k9s-minikube", "k9s-minikube-node.json", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := NewSource(Config{TotalShards: 1}, nil, nil, nil, log.NewNopLogger())
			nc := NewNodeCollector(src)
			pc := NewPodCollector(src)
			nodes := loadObjects(t, filepath.Join(dir, tc.nodes), "Node")
			var pods []runtime.Object
			var podList []*v1.Pod
			if tc.pods != "" {
				pods = loadObjects(t, filepath.Join(dir, tc.pods), "Pod")
				for _, o := range pods {
					podList = append(podList, o.(*v1.Pod))
				}
			}
			if len(nodes) == 0 {
				t.Fatal("no nodes in the sample")
			}
			feed(t, src, pods) // pods before their node: sums wait for it
			feed(t, src, nodes)
			var buf bytes.Buffer
			if err := nc.WriteRaw(&buf); err != nil {
				t.Fatal(err)
			}
			if err := pc.WriteRaw(&buf); err != nil {
				t.Fatal(err)
			}
			_, got := parse(t, buf.Bytes())
			checks := 0
			for _, o := range nodes {
				n := o.(*v1.Node)
				for metric, l := range map[string]v1.ResourceList{"kubepulse_node_capacity": n.Status.Capacity, "kubepulse_node_allocatable": n.Status.Allocatable} {
					for rn, q := range l {
						name, unit := resourceLabels(rn)
						k := nodeRes(metric, n.Name, name, unit)
						if g, ok := got[k]; !ok || g != q.AsApproximateFloat64() {
							t.Errorf("%s = %v (present %v), want %v", k, g, ok, q.AsApproximateFloat64())
						}
						checks++
					}
				}
				req, lim := refSums(podList, n.Name)
				for metric, m := range map[string]map[v1.ResourceName]float64{"kubepulse_node_requests": req, "kubepulse_node_limits": lim} {
					for rn, v := range m {
						name, unit := resourceLabels(rn)
						k := nodeRes(metric, n.Name, name, unit)
						// the reference sums floats; the store sums exact milli-units
						if g := got[k]; math.Abs(g-v) > 1e-9*math.Max(1, math.Abs(v)) {
							t.Errorf("%s = %v, want %v", k, g, v)
						}
						checks++
					}
				}
				if got[key("kubepulse_node_unschedulable", "node", n.Name)] != boolValue(n.Spec.Unschedulable) {
					t.Errorf("unschedulable of %s wrong", n.Name)
				}
			}
			for _, p := range podList {
				// No ReplicaSet or Job metadata is fed: the workload is the
				// pod's controller itself.
				wk, w := none, none
				if ref := controllerOf(p.OwnerReferences); ref != nil {
					wk, w = ref.Kind, ref.Name
				}
				k := key("kubepulse_pod_phase", "namespace", p.Namespace, "pod", p.Name, "phase", string(p.Status.Phase))
				if got[k] != 1 {
					t.Errorf("%s = %v, want 1", k, got[k])
				}
				for _, c := range p.Spec.Containers {
					for rn, q := range c.Resources.Requests {
						name, unit := resourceLabels(rn)
						k := key("kubepulse_container_resource_requests", "namespace", p.Namespace, "pod", p.Name, "container", c.Name,
							"node", p.Spec.NodeName, "resource", name, "unit", unit, "workload_kind", wk, "workload", w)
						g, ok := got[k]
						if terminated(p) {
							// Succeeded and Failed pods hold nothing.
							if ok {
								t.Errorf("%s exported for a %s pod", k, p.Status.Phase)
							}
						} else if g != q.AsApproximateFloat64() {
							t.Errorf("%s = %v, want %v", k, g, q.AsApproximateFloat64())
						}
						checks++
					}
				}
			}
			if checks < 10 {
				t.Fatalf("only %d values checked", checks)
			}
			t.Logf("%d values checked", checks)
		})
	}
}
