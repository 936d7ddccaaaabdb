package manifests

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// TestHardening checks every workload of every kustomization.
func TestHardening(t *testing.T) {
	n := 0
	for _, k := range Kustomizations {
		for _, o := range renderAll(t)[k] {
			tpl, ok := PodTemplate(o.Typed)
			if !ok {
				continue
			}
			n++
			t.Run(o.String(), func(t *testing.T) {
				for _, p := range Hardening(tpl) {
					t.Error(p)
				}
			})
		}
	}
	if n < 7 { // Deployment and DaemonSet in three kustomizations, the Job
		t.Errorf("checked %d workloads, want 7", n)
	}
}

func good() *corev1.PodTemplateSpec {
	yes, no := true, false
	uid := int64(65534)
	return &corev1.PodTemplateSpec{Spec: corev1.PodSpec{
		SecurityContext: &corev1.PodSecurityContext{
			RunAsNonRoot:   &yes,
			RunAsUser:      &uid,
			SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		},
		Containers: []corev1.Container{{
			Name: "c",
			SecurityContext: &corev1.SecurityContext{
				ReadOnlyRootFilesystem:   &yes,
				AllowPrivilegeEscalation: &no,
				Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
			},
			Resources: corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("10m"), corev1.ResourceMemory: resource.MustParse("64Mi")},
				Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("128Mi")},
			},
		}},
	}}
}

// TestHardeningCatches breaks one field at a time: each must be reported.
func TestHardeningCatches(t *testing.T) {
	if ps := Hardening(good()); len(ps) > 0 {
		t.Fatalf("a hardened template is reported: %v", ps)
	}
	yes, no := true, false
	root := int64(0)
	logs := func(readOnly bool) func(*corev1.PodTemplateSpec) {
		return func(p *corev1.PodTemplateSpec) {
			p.Spec.SecurityContext.RunAsNonRoot = nil
			p.Spec.SecurityContext.RunAsUser = &root
			p.Spec.Volumes = []corev1.Volume{{Name: "logs", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: LogDir}}}}
			p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "logs", MountPath: LogDir, ReadOnly: readOnly}}
		}
	}
	for _, tc := range []struct {
		name   string
		mutate func(*corev1.PodTemplateSpec)
		want   string
	}{
		{"runAsNonRoot unset", func(p *corev1.PodTemplateSpec) { p.Spec.SecurityContext.RunAsNonRoot = nil }, "runAsNonRoot is not true"},
		{"runAsNonRoot false in the container", func(p *corev1.PodTemplateSpec) {
			p.Spec.Containers[0].SecurityContext.RunAsNonRoot = &no
		}, "runAsNonRoot is not true"},
		{"uid 0", func(p *corev1.PodTemplateSpec) { p.Spec.SecurityContext.RunAsUser = &root }, "runAsUser 0"},
		{"root with the log dir writable", logs(false), "runAsNonRoot is not true"},
		{"writable root filesystem", func(p *corev1.PodTemplateSpec) { p.Spec.Containers[0].SecurityContext.ReadOnlyRootFilesystem = nil }, "readOnlyRootFilesystem"},
		{"privilege escalation", func(p *corev1.PodTemplateSpec) { p.Spec.Containers[0].SecurityContext.AllowPrivilegeEscalation = &yes }, "allowPrivilegeEscalation"},
		{"privileged", func(p *corev1.PodTemplateSpec) { p.Spec.Containers[0].SecurityContext.Privileged = &yes }, "privileged"},
		{"capabilities kept", func(p *corev1.PodTemplateSpec) {
			p.Spec.Containers[0].SecurityContext.Capabilities.Drop = []corev1.Capability{"NET_RAW"}
		}, "drop ALL"},
		{"capability added", func(p *corev1.PodTemplateSpec) {
			p.Spec.Containers[0].SecurityContext.Capabilities.Add = []corev1.Capability{"DAC_READ_SEARCH"}
		}, "capabilities add"},
		{"no seccomp", func(p *corev1.PodTemplateSpec) { p.Spec.SecurityContext.SeccompProfile = nil }, "seccompProfile"},
		{"unconfined seccomp in the container", func(p *corev1.PodTemplateSpec) {
			p.Spec.Containers[0].SecurityContext.SeccompProfile = &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeUnconfined}
		}, "seccompProfile"},
		{"host network", func(p *corev1.PodTemplateSpec) { p.Spec.HostNetwork = true }, "host namespace"},
		{"no cpu request", func(p *corev1.PodTemplateSpec) { delete(p.Spec.Containers[0].Resources.Requests, corev1.ResourceCPU) }, "no cpu request"},
		{"no memory limit", func(p *corev1.PodTemplateSpec) { p.Spec.Containers[0].Resources.Limits = nil }, "no memory limit"},
		{"limit below request", func(p *corev1.PodTemplateSpec) {
			p.Spec.Containers[0].Resources.Limits[corev1.ResourceMemory] = resource.MustParse("32Mi")
		}, "below its request"},
		{"init container unhardened", func(p *corev1.PodTemplateSpec) { p.Spec.InitContainers = []corev1.Container{{Name: "init"}} }, "container init: readOnlyRootFilesystem"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := good()
			tc.mutate(p)
			ps := Hardening(p)
			if !strings.Contains(strings.Join(ps, "\n"), tc.want) {
				t.Errorf("problems %q, want one containing %q", ps, tc.want)
			}
		})
	}
	// The log reader's exception: uid 0 with the log directory read-only.
	p := good()
	logs(true)(p)
	if ps := Hardening(p); len(ps) > 0 {
		t.Errorf("the read-only log reader as root is reported: %v", ps)
	}
	p.Spec.SecurityContext.RunAsUser = nil
	if ps := Hardening(p); !strings.Contains(strings.Join(ps, "\n"), "set runAsUser: 0 explicitly") {
		t.Errorf("an implicit root log reader: problems %q", ps)
	}
}
