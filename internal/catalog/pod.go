package catalog

var (
	WorkloadResourceRequests = def("pod", "kubepulse_workload_resource_requests",
		"Sum of the container requests (app and sidecar containers) of the workload's Pending, Running and Unknown pods, in base units.",
		Gauge, "namespace", "workload_kind", "workload", "resource", "unit")
	WorkloadResourceLimits = def("pod", "kubepulse_workload_resource_limits",
		"Sum of the container limits (app and sidecar containers) of the workload's Pending, Running and Unknown pods, in base units.",
		Gauge, "namespace", "workload_kind", "workload", "resource", "unit")
	WorkloadPods = def("pod", "kubepulse_workload_pods",
		"Pending, Running and Unknown pods of the workload (pods without a controller count under workload_kind=\"<none>\").",
		Gauge, "namespace", "workload_kind", "workload")
	ContainerResourceRequests = def("pod", "kubepulse_container_resource_requests",
		"Requests of an app or sidecar container of a Pending, Running or Unknown pod, in base units (cores, bytes, count).",
		Gauge, "namespace", "pod", "container", "node", "resource", "unit", "workload_kind", "workload")
	ContainerResourceLimits = def("pod", "kubepulse_container_resource_limits",
		"Limits of an app or sidecar container of a Pending, Running or Unknown pod, in base units (cores, bytes, count).",
		Gauge, "namespace", "pod", "container", "node", "resource", "unit", "workload_kind", "workload")
	ContainerRestartsTotal = def("pod", "kubepulse_container_restarts_total",
		"Restarts of a container (app and init containers), from status.restartCount.",
		Counter, "namespace", "pod", "container", "workload_kind", "workload")
	ContainerLastTerminatedReason = def("pod", "kubepulse_container_last_terminated_reason",
		"Reason of the container's last termination (OOMKilled, Error, Completed, ...); the value is always 1.",
		Gauge, "namespace", "pod", "container", "reason", "workload_kind", "workload")
	ContainerLastTerminatedTimestampSeconds = def("pod", "kubepulse_container_last_terminated_timestamp_seconds",
		"Unix time the container last terminated (lastState.terminated.finishedAt), present only when it has terminated before; time() minus it is how recent an OOM kill is, without increase() over every restart counter.",
		Gauge, "namespace", "pod", "container", "reason", "workload_kind", "workload")
	ContainerWaitingReason = def("pod", "kubepulse_container_waiting_reason",
		"Reason the container is waiting (CrashLoopBackOff, ImagePullBackOff, ErrImagePull, CreateContainerConfigError, ...); present only while it waits, value 1.",
		Gauge, "namespace", "pod", "container", "reason", "workload_kind", "workload")
	PodPhase = def("pod", "kubepulse_pod_phase",
		"The pod's current phase (Pending, Running, Succeeded, Failed, Unknown); one series per pod, value 1.",
		Gauge, "namespace", "pod", "phase")
	PodPendingSinceTimestampSeconds = def("pod", "kubepulse_pod_pending_since_timestamp_seconds",
		"Unix time the pod was created, present only while it is Pending; time() minus it is how long it has been pending.",
		Gauge, "namespace", "pod", "workload_kind", "workload")
	PodUnschedulable = def("pod", "kubepulse_pod_unschedulable",
		"Present with value 1 while the scheduler cannot place the pod (condition PodScheduled=False, reason Unschedulable).",
		Gauge, "namespace", "pod", "workload_kind", "workload")
	PodOwner = def("pod", "kubepulse_pod_owner",
		"The controller and the workload (Deployment, StatefulSet, DaemonSet, Job, CronJob) of a Pending, Running or Unknown pod; the value is always 1.",
		Gauge, "namespace", "pod", "owner_kind", "owner_name", "workload_kind", "workload")
)
