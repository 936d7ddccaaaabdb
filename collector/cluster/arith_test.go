package cluster

import (
	"os"
	"testing"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

func writeFile(path, s string) error { return os.WriteFile(path, []byte(s), 0o600) }

func rl(kv ...string) v1.ResourceList {
	l := v1.ResourceList{}
	for i := 0; i+1 < len(kv); i += 2 {
		l[v1.ResourceName(kv[i])] = resource.MustParse(kv[i+1])
	}
	return l
}

func ctr(name string, req, lim v1.ResourceList, sidecar bool) v1.Container {
	c := v1.Container{Name: name, Resources: v1.ResourceRequirements{Requests: req, Limits: lim}}
	if sidecar {
		always := v1.ContainerRestartPolicyAlways
		c.RestartPolicy = &always
	}
	return c
}

// Expected values follow the KEP-753 rules that kubectl describe node
// applies (resourcehelper.PodRequests/PodLimits on the spec), worked by hand.
func TestPodArithmetic(t *testing.T) {
	tests := []struct {
		name             string
		pod              v1.Pod
		wantReq, wantLim resList
	}{
		{"app containers sum",
			v1.Pod{Spec: v1.PodSpec{Containers: []v1.Container{
				ctr("a", rl("cpu", "100m", "memory", "1Gi"), rl("cpu", "1"), false),
				ctr("b", rl("cpu", "250m"), nil, false)}}},
			resList{"cpu": 350, "memory": 1 << 30 * 1000}, resList{"cpu": 1000}},
		{"init larger than apps wins",
			v1.Pod{Spec: v1.PodSpec{
				InitContainers: []v1.Container{ctr("i", rl("cpu", "2", "memory", "10Mi"), rl("cpu", "3"), false)},
				Containers:     []v1.Container{ctr("a", rl("cpu", "500m", "memory", "100Mi"), rl("cpu", "1"), false)}}},
			resList{"cpu": 2000, "memory": 100 << 20 * 1000}, resList{"cpu": 3000}},
		{"sidecar adds to apps and to later inits",
			v1.Pod{Spec: v1.PodSpec{
				InitContainers: []v1.Container{
					ctr("early", rl("cpu", "1"), nil, false),    // 1 core, no sidecars yet
					ctr("sc", rl("cpu", "200m"), nil, true),     // sidecar
					ctr("late", rl("cpu", "900m"), nil, false)}, // 900m + 200m = 1.1
				Containers: []v1.Container{ctr("a", rl("cpu", "500m"), nil, false)}}}, // 500m + 200m = 700m
			resList{"cpu": 1100}, resList{}},
		{"two sidecars accumulate",
			v1.Pod{Spec: v1.PodSpec{
				InitContainers: []v1.Container{
					ctr("s1", rl("memory", "100Mi"), rl("memory", "100Mi"), true),
					ctr("s2", rl("memory", "50Mi"), rl("memory", "60Mi"), true),
					ctr("i", rl("memory", "120Mi"), rl("memory", "500Mi"), false)}, // 120+150=270 / 500+160=660
				Containers: []v1.Container{ctr("a", rl("memory", "64Mi"), rl("memory", "64Mi"), false)}}}, // 64+150=214 / 64+160=224
			resList{"memory": 270 << 20 * 1000}, resList{"memory": 660 << 20 * 1000}},
		{"overhead on requests, and on limits only where set",
			v1.Pod{Spec: v1.PodSpec{
				Overhead:   rl("cpu", "250m", "memory", "120Mi"),
				Containers: []v1.Container{ctr("a", rl("cpu", "100m", "memory", "100Mi"), rl("memory", "200Mi"), false)}}},
			resList{"cpu": 350, "memory": 220 << 20 * 1000}, resList{"memory": 320 << 20 * 1000}},
		{"pod-level resources override cpu and memory, not gpu",
			v1.Pod{Spec: v1.PodSpec{
				Resources:  &v1.ResourceRequirements{Requests: rl("cpu", "2"), Limits: rl("memory", "4Gi")},
				Containers: []v1.Container{ctr("a", rl("cpu", "100m", "memory", "1Gi", "nvidia.com/gpu", "1"), rl("nvidia.com/gpu", "1"), false)}}},
			resList{"cpu": 2000, "memory": 1 << 30 * 1000, "nvidia.com/gpu": 1000}, resList{"memory": 4 << 30 * 1000, "nvidia.com/gpu": 1000}},
		{"empty pod", v1.Pod{}, resList{}, resList{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := podRequests(&tc.pod); !got.equal(tc.wantReq) {
				t.Errorf("requests = %v, want %v", got, tc.wantReq)
			}
			if got := podLimits(&tc.pod); !got.equal(tc.wantLim) {
				t.Errorf("limits = %v, want %v", got, tc.wantLim)
			}
		})
	}
}

func TestResourceLabels(t *testing.T) {
	tests := []struct{ in, name, unit string }{
		{"cpu", "cpu", "core"},
		{"memory", "memory", "byte"},
		{"ephemeral-storage", "ephemeral_storage", "byte"},
		{"hugepages-2Mi", "hugepages_2Mi", "byte"},
		{"nvidia.com/gpu", "nvidia_com_gpu", "integer"},
		{"pods", "pods", "integer"},
		{"attachable-volumes-aws-ebs", "attachable_volumes_aws_ebs", "integer"},
	}
	for _, tc := range tests {
		n, u := resourceLabels(v1.ResourceName(tc.in))
		if n != tc.name || u != tc.unit {
			t.Errorf("%s -> %s/%s, want %s/%s", tc.in, n, u, tc.name, tc.unit)
		}
	}
}
