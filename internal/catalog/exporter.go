package catalog

var (
	ScrapeCollectorDurationSeconds = def("exporter", "kubepulse_scrape_collector_duration_seconds",
		"Duration of a collector scrape.",
		Gauge, "collector")
	ScrapeCollectorSuccess = def("exporter", "kubepulse_scrape_collector_success",
		"Whether a collector succeeded (1) or failed (0) in this scrape.",
		Gauge, "collector")
	BuildInfo = def("exporter", "kubepulse_build_info",
		"A metric with a constant '1' value labeled by version, revision, branch, goversion, goos, goarch and tags.",
		Gauge, "version", "revision", "branch", "goversion", "goos", "goarch", "tags")
	SourceUp = def("exporter", "kubepulse_source_up",
		"Whether the list/watch of a cluster source (nodes, pods, replicasets, jobs, hpas) currently works; on 0 the last known state is served.",
		Gauge, "source")
	SourceLastSyncTimestampSeconds = def("exporter", "kubepulse_source_last_sync_timestamp_seconds",
		"Last time a cluster source got a successful answer from the API server (list, watch start or event).",
		Gauge, "source")
)
