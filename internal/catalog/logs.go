package catalog

var (
	LogLinesTotal = def("logs", "kubepulse_log_lines_total",
		"Logical log lines read (P/F and docker split records joined), by stream; malformed records count under stream=\"unknown\".",
		Counter, "namespace", "pod", "container", "stream", "workload_kind", "workload")
	LogMatchesTotal = def("logs", "kubepulse_log_matches_total",
		"Logical log lines matching a rule of --logs.rules-file; a line counts once per rule it matches.",
		Counter, "namespace", "pod", "container", "rule", "workload_kind", "workload")
	LogBytesTotal = def("logs", "kubepulse_log_bytes_total",
		"Bytes of log files read and accounted for.",
		Counter, "namespace", "pod", "container", "workload_kind", "workload")
	LogFilesOpen = def("logs", "kubepulse_log_files_open",
		"Log files currently held open by the tailer.",
		Gauge)
	LogLagBytes = def("logs", "kubepulse_log_lag_bytes",
		"Bytes on disk not yet read, as of the last directory scan.",
		Gauge)
	LogRotationsTotal = def("logs", "kubepulse_log_rotations_total",
		"Rename rotations (N.log renamed to N.log.<suffix>) followed.",
		Counter)
	LogTruncationsTotal = def("logs", "kubepulse_log_truncations_total",
		"Truncations (copytruncate) detected: the file was read again from 0.",
		Counter)
	LogLinesTruncatedTotal = def("logs", "kubepulse_log_lines_truncated_total",
		"Logical lines longer than --logs.max-line-bytes: counted and matched on their kept prefix.",
		Counter)
	LogErrorsTotal = def("logs", "kubepulse_log_errors_total",
		"Tailer errors by reason. Malformed records are still counted as lines and matched on their raw text.",
		Counter, "reason")
)
