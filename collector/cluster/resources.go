package cluster

import (
	"sort"
	"strings"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// resList holds amounts in milli-units (millicores for cpu, millibytes for
// memory) so sums stay exact integers across many pods.
type resList map[v1.ResourceName]int64

func milli(q resource.Quantity) int64 { return q.MilliValue() }

func (r resList) add(l v1.ResourceList) {
	for n, q := range l {
		r[n] += milli(q)
	}
}

func (r resList) addList(o resList) {
	for n, v := range o {
		r[n] += v
	}
}

func (r resList) max(o resList) {
	for n, v := range o {
		if cur, ok := r[n]; !ok || v > cur {
			r[n] = v
		}
	}
}

func (r resList) equal(o resList) bool {
	if len(r) != len(o) {
		return false
	}
	for n, v := range r {
		if ov, ok := o[n]; !ok || ov != v {
			return false
		}
	}
	return true
}

func (r resList) names() []v1.ResourceName {
	out := make([]v1.ResourceName, 0, len(r))
	for n := range r {
		out = append(out, n)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func isSidecar(c *v1.Container) bool {
	return c.RestartPolicy != nil && *c.RestartPolicy == v1.ContainerRestartPolicyAlways
}

func podLevelResource(n v1.ResourceName) bool {
	return n == v1.ResourceCPU || n == v1.ResourceMemory || strings.HasPrefix(string(n), v1.ResourceHugePagesPrefix)
}

// aggregate applies the scheduler's rule for containers: the sum of the app
// containers and the restartable (sidecar) init containers, or, if larger,
// each init container plus the sidecars started before it.
func aggregate(p *v1.Pod, get func(*v1.Container) v1.ResourceList) resList {
	out := resList{}
	for i := range p.Spec.Containers {
		out.add(get(&p.Spec.Containers[i]))
	}
	sidecars := resList{}
	initMax := resList{}
	for i := range p.Spec.InitContainers {
		c := &p.Spec.InitContainers[i]
		if isSidecar(c) {
			out.add(get(c))
			sidecars.add(get(c))
			initMax.max(sidecars)
			continue
		}
		use := resList{}
		use.add(get(c))
		use.addList(sidecars)
		initMax.max(use)
	}
	out.max(initMax)
	return out
}

// podRequests is what the scheduler and `kubectl describe node` count for a
// pod (resourcehelper.PodRequests without status resources): containers
// aggregated as above, pod-level requests override cpu/memory/hugepages,
// overhead added.
func podRequests(p *v1.Pod) resList {
	out := aggregate(p, func(c *v1.Container) v1.ResourceList { return c.Resources.Requests })
	if r := p.Spec.Resources; r != nil && anyPodLevel(r.Requests) {
		for n, q := range r.Requests {
			if podLevelResource(n) {
				out[n] = milli(q)
			}
		}
	}
	out.add(p.Spec.Overhead)
	return out
}

// podLimits mirrors resourcehelper.PodLimits: overhead is added only to
// resources that have a non-zero limit.
func podLimits(p *v1.Pod) resList {
	out := aggregate(p, func(c *v1.Container) v1.ResourceList { return c.Resources.Limits })
	if r := p.Spec.Resources; r != nil && (anyPodLevel(r.Requests) || anyPodLevel(r.Limits)) {
		for n, q := range r.Limits {
			if podLevelResource(n) {
				out[n] = milli(q)
			}
		}
	}
	for n, q := range p.Spec.Overhead {
		if v, ok := out[n]; ok && v != 0 {
			out[n] = v + milli(q)
		}
	}
	return out
}

func anyPodLevel(l v1.ResourceList) bool {
	for n := range l {
		if podLevelResource(n) {
			return true
		}
	}
	return false
}

// terminated pods no longer hold node resources.
func terminated(p *v1.Pod) bool {
	return p.Status.Phase == v1.PodSucceeded || p.Status.Phase == v1.PodFailed
}

// resourceLabels returns the kube-state-metrics compatible resource and unit
// label values: nvidia.com/gpu -> nvidia_com_gpu, unit core|byte|integer.
func resourceLabels(n v1.ResourceName) (name, unit string) {
	s := string(n)
	switch {
	case n == v1.ResourceCPU:
		unit = "core"
	case n == v1.ResourceMemory, n == v1.ResourceEphemeralStorage, n == v1.ResourceStorage,
		strings.HasPrefix(s, v1.ResourceHugePagesPrefix):
		unit = "byte"
	default:
		unit = "integer"
	}
	return sanitize(s), unit
}

func sanitize(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if !labelChar(s[i]) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	b := []byte(s)
	for i := range b {
		if !labelChar(b[i]) {
			b[i] = '_'
		}
	}
	return string(b)
}

func labelChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}

// value converts milli-units to the exposed base unit (cores, bytes, count).
func value(m int64) float64 { return float64(m) / 1000 }
