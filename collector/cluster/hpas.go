package cluster

import (
	"sync"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/kubepulse/kubepulse/internal/catalog"
)

var (
	hpaMinReplicas     = catalog.HPAMinReplicas
	hpaMaxReplicas     = catalog.HPAMaxReplicas
	hpaCurrentReplicas = catalog.HPACurrentReplicas
	hpaDesiredReplicas = catalog.HPADesiredReplicas
	hpaTargetMetric    = catalog.HPATargetMetric
	hpaCurrentMetric   = catalog.HPACurrentMetric
	hpaCondition       = catalog.HPACondition
)

const (
	famHPAMin = iota
	famHPAMax
	famHPACurrent
	famHPADesired
	famHPATarget
	famHPACurrentMetric
	famHPACondition
)

type hpaRender struct {
	mu    sync.Mutex
	b     builder
	store *Store
}

func newHPARender() *hpaRender {
	return &hpaRender{store: NewStore(hpaMinReplicas, hpaMaxReplicas, hpaCurrentReplicas, hpaDesiredReplicas,
		hpaTargetMetric, hpaCurrentMetric, hpaCondition)}
}

// metricName is the resource name for Resource/ContainerResource metrics
// and the metric name for Pods, Object and External metrics.
func metricName(typ autoscalingv2.MetricSourceType, res *autoscalingv2.ResourceMetricSource, cres *autoscalingv2.ContainerResourceMetricSource,
	pods, obj, ext *autoscalingv2.MetricIdentifier) string {
	switch {
	case typ == autoscalingv2.ResourceMetricSourceType && res != nil:
		return string(res.Name)
	case typ == autoscalingv2.ContainerResourceMetricSourceType && cres != nil:
		return string(cres.Name)
	case typ == autoscalingv2.PodsMetricSourceType && pods != nil:
		return pods.Name
	case typ == autoscalingv2.ObjectMetricSourceType && obj != nil:
		return obj.Name
	case typ == autoscalingv2.ExternalMetricSourceType && ext != nil:
		return ext.Name
	}
	return ""
}

func (r *hpaRender) set(h *autoscalingv2.HorizontalPodAutoscaler) {
	r.mu.Lock()
	defer r.mu.Unlock()
	b := &r.b
	b.reset()
	ns, name := h.Namespace, h.Name
	minR := int32(1)
	if h.Spec.MinReplicas != nil {
		minR = *h.Spec.MinReplicas
	}
	b.family(famHPAMin)
	b.sample(hpaMinReplicas.Name, float64(minR), "namespace", ns, "hpa", name)
	b.family(famHPAMax)
	b.sample(hpaMaxReplicas.Name, float64(h.Spec.MaxReplicas), "namespace", ns, "hpa", name)
	b.family(famHPACurrent)
	b.sample(hpaCurrentReplicas.Name, float64(h.Status.CurrentReplicas), "namespace", ns, "hpa", name)
	b.family(famHPADesired)
	b.sample(hpaDesiredReplicas.Name, float64(h.Status.DesiredReplicas), "namespace", ns, "hpa", name)

	b.family(famHPATarget)
	for _, m := range h.Spec.Metrics {
		var t *autoscalingv2.MetricTarget
		var res *autoscalingv2.ResourceMetricSource
		var cres *autoscalingv2.ContainerResourceMetricSource
		var pods, obj, ext *autoscalingv2.MetricIdentifier
		switch {
		case m.Resource != nil:
			res, t = m.Resource, &m.Resource.Target
		case m.ContainerResource != nil:
			cres, t = m.ContainerResource, &m.ContainerResource.Target
		case m.Pods != nil:
			pods, t = &m.Pods.Metric, &m.Pods.Target
		case m.Object != nil:
			obj, t = &m.Object.Metric, &m.Object.Target
		case m.External != nil:
			ext, t = &m.External.Metric, &m.External.Target
		}
		mn := metricName(m.Type, res, cres, pods, obj, ext)
		if t == nil || mn == "" {
			continue
		}
		metricValues(b, hpaTargetMetric.Name, ns, name, mn, t.Value, t.AverageValue, t.AverageUtilization)
	}
	b.family(famHPACurrentMetric)
	for _, m := range h.Status.CurrentMetrics {
		var c *autoscalingv2.MetricValueStatus
		var res *autoscalingv2.ResourceMetricSource
		var cres *autoscalingv2.ContainerResourceMetricSource
		var pods, obj, ext *autoscalingv2.MetricIdentifier
		switch {
		case m.Resource != nil:
			res, c = &autoscalingv2.ResourceMetricSource{Name: m.Resource.Name}, &m.Resource.Current
		case m.ContainerResource != nil:
			cres, c = &autoscalingv2.ContainerResourceMetricSource{Name: m.ContainerResource.Name}, &m.ContainerResource.Current
		case m.Pods != nil:
			pods, c = &m.Pods.Metric, &m.Pods.Current
		case m.Object != nil:
			obj, c = &m.Object.Metric, &m.Object.Current
		case m.External != nil:
			ext, c = &m.External.Metric, &m.External.Current
		}
		mn := metricName(m.Type, res, cres, pods, obj, ext)
		if c == nil || mn == "" {
			continue
		}
		metricValues(b, hpaCurrentMetric.Name, ns, name, mn, c.Value, c.AverageValue, c.AverageUtilization)
	}
	b.family(famHPACondition)
	for _, c := range h.Status.Conditions {
		for _, s := range [...][2]string{{"true", "True"}, {"false", "False"}, {"unknown", "Unknown"}} {
			b.sample(hpaCondition.Name, boolValue(string(c.Status) == s[1]), "namespace", ns, "hpa", name,
				"condition", string(c.Type), "status", s[0])
		}
	}
	r.store.Set(string(h.UID), b)
}

func metricValues(b *builder, metric, ns, hpa, mn string, v, avg *resource.Quantity, util *int32) {
	if v != nil {
		b.sample(metric, value(v.MilliValue()), "namespace", ns, "hpa", hpa, "metric_name", mn, "metric_target_type", "value")
	}
	if avg != nil {
		b.sample(metric, value(avg.MilliValue()), "namespace", ns, "hpa", hpa, "metric_name", mn, "metric_target_type", "average")
	}
	if util != nil {
		b.sample(metric, float64(*util), "namespace", ns, "hpa", hpa, "metric_name", mn, "metric_target_type", "utilization")
	}
}
