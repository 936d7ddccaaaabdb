package cluster

import (
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Transform functions run before objects enter the informer caches (nodes,
// HPAs, ReplicaSet and Job metadata): they keep only the fields the
// collectors read, so managedFields, annotations, labels and the rest never
// stay in memory. Pods are not cached at all (see podsource.go). They must be
// idempotent (client-go may pass an object through twice) and leave
// tombstones and unexpected types alone.

func stripMetaOf(m *metav1.ObjectMeta, keepLabels ...string) metav1.ObjectMeta {
	out := metav1.ObjectMeta{Name: m.Name, Namespace: m.Namespace, UID: m.UID, ResourceVersion: m.ResourceVersion}
	if ref := controllerOf(m.OwnerReferences); ref != nil {
		out.OwnerReferences = []metav1.OwnerReference{{Kind: ref.Kind, Name: ref.Name, Controller: ref.Controller}}
	}
	for _, k := range keepLabels {
		if v, ok := m.Labels[k]; ok {
			if out.Labels == nil {
				out.Labels = map[string]string{}
			}
			out.Labels[k] = v
		}
	}
	return out
}

func stripNode(o any) (any, error) {
	n, ok := o.(*v1.Node)
	if !ok {
		return o, nil
	}
	out := &v1.Node{ObjectMeta: stripMetaOf(&n.ObjectMeta, v1.LabelTopologyZone, v1.LabelFailureDomainBetaZone,
		v1.LabelInstanceTypeStable, v1.LabelInstanceType)}
	out.Spec.Unschedulable = n.Spec.Unschedulable
	out.Status.Capacity = n.Status.Capacity
	out.Status.Allocatable = n.Status.Allocatable
	out.Status.DaemonEndpoints = n.Status.DaemonEndpoints
	for _, a := range n.Status.Addresses {
		if a.Type == v1.NodeInternalIP || a.Type == v1.NodeHostName {
			out.Status.Addresses = append(out.Status.Addresses, a)
		}
	}
	for _, c := range n.Status.Conditions {
		out.Status.Conditions = append(out.Status.Conditions, v1.NodeCondition{Type: c.Type, Status: c.Status})
	}
	out.Status.NodeInfo = v1.NodeSystemInfo{KubeletVersion: n.Status.NodeInfo.KubeletVersion,
		ContainerRuntimeVersion: n.Status.NodeInfo.ContainerRuntimeVersion, OSImage: n.Status.NodeInfo.OSImage}
	return out, nil
}

func stripHPA(o any) (any, error) {
	h, ok := o.(*autoscalingv2.HorizontalPodAutoscaler)
	if !ok {
		return o, nil
	}
	out := &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: stripMetaOf(&h.ObjectMeta)}
	out.Spec.MinReplicas = h.Spec.MinReplicas
	out.Spec.MaxReplicas = h.Spec.MaxReplicas
	out.Spec.Metrics = h.Spec.Metrics
	out.Status.CurrentReplicas = h.Status.CurrentReplicas
	out.Status.DesiredReplicas = h.Status.DesiredReplicas
	out.Status.CurrentMetrics = h.Status.CurrentMetrics
	for _, c := range h.Status.Conditions {
		out.Status.Conditions = append(out.Status.Conditions, autoscalingv2.HorizontalPodAutoscalerCondition{Type: c.Type, Status: c.Status})
	}
	return out, nil
}

func stripMeta(o any) (any, error) {
	m, ok := o.(*metav1.PartialObjectMetadata)
	if !ok {
		return o, nil
	}
	return &metav1.PartialObjectMetadata{TypeMeta: m.TypeMeta, ObjectMeta: stripMetaOf(&m.ObjectMeta)}, nil
}
