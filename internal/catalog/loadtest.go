package catalog

var (
	LoadtestRequestsTotal = def("loadtest", "kubepulse_loadtest_requests_total",
		"Load-test requests by result.",
		Counter, "run", "label", "code", "result")
	LoadtestRequestDurationSeconds = def("loadtest", "kubepulse_loadtest_request_duration_seconds",
		"Load-test request latency; for kubepulse's generator measured from the intended send time.",
		Histogram, "run", "label")
	LoadtestBytesReceivedTotal = def("loadtest", "kubepulse_loadtest_bytes_received_total",
		"Bytes received by load-test requests.",
		Counter, "run", "label")
	LoadtestBytesSentTotal = def("loadtest", "kubepulse_loadtest_bytes_sent_total",
		"Bytes sent by load-test requests.",
		Counter, "run", "label")
	LoadtestActiveUsers = def("loadtest", "kubepulse_loadtest_active_users",
		"Active virtual users (JMeter allThreads, k6 vus, Gatling open users, generator in-flight requests).",
		Gauge, "run")
	LoadtestLastSampleTimestampSeconds = def("loadtest", "kubepulse_loadtest_last_sample_timestamp_seconds",
		"Unix time of the newest sample seen for the run.",
		Gauge, "run")
	LoadtestParseErrorsTotal = def("loadtest", "kubepulse_loadtest_parse_errors_total",
		"Result rows that could not be parsed, by reason. They are skipped, never silently.",
		Counter, "run", "reason")
	LoadtestDroppedRequestsTotal = def("loadtest-generator", "kubepulse_loadtest_dropped_requests_total",
		"Requests of kubepulse loadtest's arrival profile that were not sent because no worker was free in time (k6 dropped_iterations).",
		Counter, "run")
)
