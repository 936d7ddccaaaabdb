package catalog

var (
	PDBExpectedPods = def("pdb", "kubepulse_pdb_expected_pods",
		"Pods the PodDisruptionBudget counts (status.expectedPods).",
		Gauge, "namespace", "poddisruptionbudget")
	PDBCurrentHealthy = def("pdb", "kubepulse_pdb_current_healthy",
		"Healthy pods the PodDisruptionBudget sees now (status.currentHealthy).",
		Gauge, "namespace", "poddisruptionbudget")
	PDBDesiredHealthy = def("pdb", "kubepulse_pdb_desired_healthy",
		"Fewest healthy pods the PodDisruptionBudget allows (status.desiredHealthy).",
		Gauge, "namespace", "poddisruptionbudget")
	PDBDisruptionsAllowed = def("pdb", "kubepulse_pdb_disruptions_allowed",
		"Pod evictions the PodDisruptionBudget allows now (status.disruptionsAllowed); 0 blocks node drains.",
		Gauge, "namespace", "poddisruptionbudget")
)
