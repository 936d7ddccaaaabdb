package catalog

var (
	HPAMinReplicas = def("hpa", "kubepulse_hpa_min_replicas",
		"Lower replica limit of the HPA (spec.minReplicas, default 1).",
		Gauge, "namespace", "hpa")
	HPAMaxReplicas = def("hpa", "kubepulse_hpa_max_replicas",
		"Upper replica limit of the HPA (spec.maxReplicas).",
		Gauge, "namespace", "hpa")
	HPACurrentReplicas = def("hpa", "kubepulse_hpa_current_replicas",
		"Current number of replicas of the HPA's target (status.currentReplicas).",
		Gauge, "namespace", "hpa")
	HPADesiredReplicas = def("hpa", "kubepulse_hpa_desired_replicas",
		"Replicas the HPA last computed (status.desiredReplicas).",
		Gauge, "namespace", "hpa")
	HPATargetMetric = def("hpa", "kubepulse_hpa_target_metric",
		"Target of each HPA metric; metric_target_type is value, average or utilization (percent).",
		Gauge, "namespace", "hpa", "metric_name", "metric_target_type")
	HPACurrentMetric = def("hpa", "kubepulse_hpa_current_metric",
		"Current value of each HPA metric as last seen by the HPA controller; metric_target_type as for the target.",
		Gauge, "namespace", "hpa", "metric_name", "metric_target_type")
	HPACondition = def("hpa", "kubepulse_hpa_condition",
		"HPA condition (AbleToScale, ScalingActive, ScalingLimited): 1 for the current status.",
		Gauge, "namespace", "hpa", "condition", "status")
)
