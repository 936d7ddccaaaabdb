package catalog

var (
	NodeCapacity = def("node", "kubepulse_node_capacity",
		"Node capacity per resource, in base units (cores, bytes, count).",
		Gauge, "node", "resource", "unit")
	NodeAllocatable = def("node", "kubepulse_node_allocatable",
		"Node allocatable per resource, in base units (cores, bytes, count).",
		Gauge, "node", "resource", "unit")
	NodeRequests = def("node", "kubepulse_node_requests",
		"Sum of the requests of the node's non-terminated pods, as the scheduler counts them (init containers, sidecars, overhead).",
		Gauge, "node", "resource", "unit")
	NodeLimits = def("node", "kubepulse_node_limits",
		"Sum of the limits of the node's non-terminated pods, as kubectl describe node counts them.",
		Gauge, "node", "resource", "unit")
	NodeCondition = def("node", "kubepulse_node_condition",
		"Node condition: 1 for the current status (true, false or unknown) of each condition type.",
		Gauge, "node", "condition", "status")
	NodeUnschedulable = def("node", "kubepulse_node_unschedulable",
		"Whether the node is cordoned (spec.unschedulable).",
		Gauge, "node")
	NodeInfo = def("node", "kubepulse_node_info",
		"Node information; the value is always 1.",
		Gauge, "node", "kubelet_version", "container_runtime", "os_image", "zone", "instance_type")
)
