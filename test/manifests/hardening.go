package manifests

import (
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
)

// LogDir is the kubelet's container log directory. Its files are root-owned
// 0640, so the one pod that mounts it (the node agent, read-only) may run as
// uid 0, with every capability dropped: it reads them through owner bits.
const LogDir = "/var/log/pods"

// Hardening lists how a pod template falls short of the restricted Pod
// Security profile and of resource hygiene; empty means it passes. Checked:
// runAsNonRoot (except the log reader above), readOnlyRootFilesystem,
// allowPrivilegeEscalation false, capabilities drop ALL and add none,
// seccompProfile RuntimeDefault, no host namespaces, not privileged, and
// cpu and memory requests plus a memory limit at or above the request.
// A CPU limit is not required: CFS throttling of a scrape target only makes
// scrapes slow, and the request already reserves its share.
func Hardening(t *corev1.PodTemplateSpec) []string {
	var ps []string
	add := func(format string, a ...any) { ps = append(ps, fmt.Sprintf(format, a...)) }
	spec := &t.Spec
	psc := spec.SecurityContext
	if psc == nil {
		psc = &corev1.PodSecurityContext{}
	}
	if spec.HostNetwork || spec.HostPID || spec.HostIPC {
		add("uses a host namespace (hostNetwork/hostPID/hostIPC)")
	}
	rootAllowed := mountsHostPath(spec, LogDir)
	var containers []corev1.Container
	containers = append(containers, spec.InitContainers...)
	containers = append(containers, spec.Containers...)
	if len(containers) == 0 {
		add("no containers")
	}
	for _, c := range containers {
		sc := c.SecurityContext
		if sc == nil {
			sc = &corev1.SecurityContext{}
		}
		p := func(format string, a ...any) { add("container %s: "+format, append([]any{c.Name}, a...)...) }

		nonRoot := pick(sc.RunAsNonRoot, psc.RunAsNonRoot)
		uid := pick(sc.RunAsUser, psc.RunAsUser)
		switch {
		case rootAllowed:
			// The exception must be deliberate and as small as it can be.
			if uid == nil || *uid != 0 {
				p("mounts %s: set runAsUser: 0 explicitly (the files are root-owned 0640)", LogDir)
			}
		case nonRoot == nil || !*nonRoot:
			p("runAsNonRoot is not true")
		case uid != nil && *uid == 0:
			p("runAsNonRoot with runAsUser 0 cannot start")
		}
		if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
			p("readOnlyRootFilesystem is not true")
		}
		if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			p("allowPrivilegeEscalation is not false")
		}
		if sc.Privileged != nil && *sc.Privileged {
			p("privileged")
		}
		if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
			p("capabilities do not drop ALL")
		} else if len(sc.Capabilities.Add) > 0 {
			p("capabilities add %v", sc.Capabilities.Add)
		}
		seccomp := sc.SeccompProfile
		if seccomp == nil {
			seccomp = psc.SeccompProfile
		}
		if seccomp == nil || seccomp.Type != corev1.SeccompProfileTypeRuntimeDefault {
			p("seccompProfile is not RuntimeDefault")
		}
		req, lim := c.Resources.Requests, c.Resources.Limits
		for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			if q, ok := req[r]; !ok || q.Sign() <= 0 {
				p("no %s request", r)
			}
		}
		if q, ok := lim[corev1.ResourceMemory]; !ok || q.Sign() <= 0 {
			p("no memory limit")
		} else if r, ok := req[corev1.ResourceMemory]; ok && q.Cmp(r) < 0 {
			p("memory limit %s below its request %s", q.String(), r.String())
		}
	}
	return ps
}

func pick[T any](container, pod *T) *T {
	if container != nil {
		return container
	}
	return pod
}

// mountsHostPath reports whether some container mounts the hostPath volume
// at path read-only, and no container mounts it writable.
func mountsHostPath(spec *corev1.PodSpec, path string) bool {
	vols := map[string]bool{}
	for _, v := range spec.Volumes {
		if v.HostPath != nil && v.HostPath.Path == path {
			vols[v.Name] = true
		}
	}
	found := false
	for _, c := range append(slices.Clone(spec.InitContainers), spec.Containers...) {
		for _, m := range c.VolumeMounts {
			if !vols[m.Name] {
				continue
			}
			if !m.ReadOnly {
				return false
			}
			found = true
		}
	}
	return found
}
