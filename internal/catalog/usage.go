package catalog

var (
	ContainerCPUUsageSecondsTotal = def("usage", "kubepulse_container_cpu_usage_seconds_total",
		"Cumulative CPU time consumed by the container in core-seconds (kubelet /metrics/resource; with --usage.source=metrics-api an estimate integrated from metrics.k8s.io rates, see docs/usage.md).",
		Counter, "namespace", "pod", "container", "node", "workload_kind", "workload")
	ContainerMemoryWorkingSetBytes = def("usage", "kubepulse_container_memory_working_set_bytes",
		"Current working set of the container in bytes.",
		Gauge, "namespace", "pod", "container", "node", "workload_kind", "workload")
	KubeletScrapeErrorsTotal = def("usage", "kubepulse_kubelet_scrape_errors_total",
		"Failed reads of a kubelet's usage endpoint (connection, TLS, HTTP status, timeout or unparseable body).",
		Counter, "node")
	KubeletLastScrapeSuccessTimestampSeconds = def("usage", "kubepulse_kubelet_last_scrape_success_timestamp_seconds",
		"Unix time of the last successful read of a kubelet's usage endpoint.",
		Gauge, "node")
	KubeletScrapeDurationSeconds = def("usage", "kubepulse_kubelet_scrape_duration_seconds",
		"Duration of the last read of a kubelet's usage endpoint, successful or not.",
		Gauge, "node")
	UsageBadSamplesTotal = def("usage", "kubepulse_usage_bad_samples_total",
		"Malformed lines (kubelet) or items (metrics-api) that were skipped.",
		Counter, "node")
	UsageMetricsAPIErrorsTotal = def("usage", "kubepulse_usage_metrics_api_errors_total",
		"Failed lists of metrics.k8s.io PodMetrics or NodeMetrics (--usage.source=metrics-api).",
		Counter)
	NodeCPUUsageSecondsTotal = def("usage", "kubepulse_node_cpu_usage_seconds_total",
		"Cumulative CPU time used by the whole node in core-seconds, system daemons included (kubelet /metrics/resource node_cpu_usage_seconds_total; with --usage.source=metrics-api integrated from NodeMetrics rates).",
		Counter, "node")
	NodeMemoryWorkingSetBytes = def("usage", "kubepulse_node_memory_working_set_bytes",
		"Working set of the whole node in bytes, system daemons included (kubelet /metrics/resource node_memory_working_set_bytes, or NodeMetrics).",
		Gauge, "node")
	WorkloadMemoryWorkingSetBytes = def("usage", "kubepulse_workload_memory_working_set_bytes",
		"Sum of the working sets of the workload's containers that this exporter read (with --shard or per-node usage, sum by across instances gives the whole).",
		Gauge, "namespace", "workload_kind", "workload")
	WorkloadPodMaxMemoryWorkingSetBytes = def("usage", "kubepulse_workload_pod_max_memory_working_set_bytes",
		"Largest working set of one pod (the sum of its containers) among the workload's pods that this exporter read (max by across instances gives the whole).",
		Gauge, "namespace", "workload_kind", "workload")
	ContainerMemoryWorkingSetLimitRatio = def("usage", "kubepulse_container_memory_working_set_limit_ratio",
		"Working set divided by the container's memory limit; only for containers with a memory limit.",
		Gauge, "namespace", "pod", "container", "workload_kind", "workload")
	ContainerCPUUsageLimitRatio = def("usage", "kubepulse_container_cpu_usage_limit_ratio",
		"CPU usage rate between the last two reads divided by the container's CPU limit; only for containers with a CPU limit, from the second read on.",
		Gauge, "namespace", "pod", "container", "workload_kind", "workload")
)
