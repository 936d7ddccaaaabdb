// Package kubelettext scans the kubelet's Prometheus text (/metrics/resource,
// /metrics/cadvisor) for container CPU and memory samples. It has no
// Kubernetes dependencies, so its fuzz target builds and starts fast.
package kubelettext

import (
	"bytes"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// Kind says which usage family a sample belongs to.
type Kind uint8

const (
	KindNone   Kind = iota
	KindCPU         // container_cpu_usage_seconds_total
	KindMemory      // container_memory_working_set_bytes
	// The node's own figures from /metrics/resource (system daemons
	// included). Their samples have no namespace, pod or container.
	KindNodeCPU    // node_cpu_usage_seconds_total
	KindNodeMemory // node_memory_working_set_bytes
)

// Sample is one container usage sample from a kubelet's text exposition.
// Label values keep their exposition escaping (\\, \" and \n), which is
// also valid output escaping, so the store copies them verbatim. All slices
// point into the parsed input and are only valid during the callback.
type Sample struct {
	Kind      Kind
	Namespace []byte
	Pod       []byte
	Container []byte
	Value     []byte // the value's text, validated as a float
	Timestamp []byte // milliseconds since the epoch as text; empty when absent
}

// ParseStats summarises one parse.
type ParseStats struct {
	Lines   int // non-comment, non-blank lines
	Samples int // usage samples handed to the callback
	Ignored int // valid lines of other families, or pod/system cgroups
	Bad     int // malformed lines, skipped
	// Errors holds the first few malformed lines, for the log.
	Errors []LineError
}

// LineError names a malformed line of the input.
type LineError struct {
	Line int
	Msg  string
	Text string // start of the line, for the log
}

func (e LineError) Error() string {
	return fmt.Sprintf("line %d: %s (line starts %q)", e.Line, e.Msg, e.Text)
}

const maxLineErrors = 5

// Parse reads Prometheus text exposition (format 0.0.4) as served by the
// kubelet's /metrics/resource or /metrics/cadvisor and calls fn for every
// container CPU and memory sample. Other families are checked only as far as
// their metric name and skipped; malformed lines are counted and skipped.
//
// It is a hand-written scanner rather than expfmt.TextParser because it
// never builds dto objects or strings for samples: see docs/benchmarks/usage.md
// for the measured difference.
func Parse(data []byte, fn func(*Sample)) ParseStats {
	var st ParseStats
	var s Sample
	lineNo := 0
	for len(data) > 0 {
		var line []byte
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			line, data = data, nil
		}
		lineNo++
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
		line = trimBlank(line)
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		st.Lines++
		msg := parseLine(line, &s)
		switch {
		case msg != "":
			st.Bad++
			if len(st.Errors) < maxLineErrors {
				st.Errors = append(st.Errors, LineError{Line: lineNo, Msg: msg, Text: lineStart(line)})
			}
		case s.Kind == KindNone:
			st.Ignored++
		default:
			st.Samples++
			fn(&s)
		}
	}
	return st
}

func lineStart(b []byte) string {
	const max = 60
	if len(b) > max {
		b = b[:max]
	}
	return string(b)
}

func trimBlank(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

func skipBlank(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t') {
		i++
	}
	return i
}

func isNameStart(c byte) bool {
	return c == '_' || c == ':' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func isNameChar(c byte) bool { return isNameStart(c) || (c >= '0' && c <= '9') }

func isLabelStart(c byte) bool { return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }

func isLabelChar(c byte) bool { return isLabelStart(c) || (c >= '0' && c <= '9') }

// parseLine fills s from one sample line and returns "" or what is wrong.
// s.Kind is KindNone for lines that are valid but not wanted.
func parseLine(line []byte, s *Sample) string {
	*s = Sample{}
	if !isNameStart(line[0]) {
		return "expected a metric name"
	}
	i := 1
	for i < len(line) && isNameChar(line[i]) {
		i++
	}
	var kind Kind
	switch string(line[:i]) {
	case "container_cpu_usage_seconds_total":
		kind = KindCPU
	case "container_memory_working_set_bytes":
		kind = KindMemory
	case "node_cpu_usage_seconds_total":
		kind = KindNodeCPU
	case "node_memory_working_set_bytes":
		kind = KindNodeMemory
	}
	if i < len(line) && line[i] != '{' && line[i] != ' ' && line[i] != '\t' {
		return "invalid character in metric name"
	}
	if i == len(line) {
		return "metric name without a value"
	}
	if kind == KindNone {
		return "" // another family: not ours to validate further
	}
	var cpu []byte
	cpuSet := false
	if line[i] == '{' {
		i++
		for {
			i = skipBlank(line, i)
			if i >= len(line) {
				return "unterminated label set: expected '}'"
			}
			if line[i] == '}' {
				i++
				break
			}
			if !isLabelStart(line[i]) {
				return "expected a label name"
			}
			ns := i
			for i < len(line) && isLabelChar(line[i]) {
				i++
			}
			name := line[ns:i]
			i = skipBlank(line, i)
			if i >= len(line) || line[i] != '=' {
				return "expected '=' after label name"
			}
			i = skipBlank(line, i+1)
			if i >= len(line) || line[i] != '"' {
				return "expected '\"' to open the label value"
			}
			i++
			vs := i
			for {
				if i >= len(line) {
					return "unterminated label value: expected '\"'"
				}
				c := line[i]
				if c == '"' {
					break
				}
				if c == '\\' {
					if i+1 >= len(line) {
						return "unterminated escape in label value"
					}
					switch line[i+1] {
					case '\\', '"', 'n':
					default:
						return "invalid escape in label value (only \\\\, \\\" and \\n are allowed)"
					}
					i++
				}
				i++
			}
			val := line[vs:i]
			i++
			if !utf8.Valid(val) {
				return "label value is not valid UTF-8"
			}
			switch string(name) {
			case "namespace":
				s.Namespace = val
			case "pod":
				s.Pod = val
			case "container":
				s.Container = val
			case "pod_name": // cAdvisor before Kubernetes 1.16
				if s.Pod == nil {
					s.Pod = val
				}
			case "container_name":
				if s.Container == nil {
					s.Container = val
				}
			case "cpu":
				cpu, cpuSet = val, true
			}
			i = skipBlank(line, i)
			if i < len(line) && line[i] == ',' {
				i++
				continue
			}
			if i < len(line) && line[i] == '}' {
				i++
				break
			}
			return "expected ',' or '}' after label value"
		}
	}
	if i >= len(line) || (line[i] != ' ' && line[i] != '\t') {
		return "expected a blank before the value"
	}
	i = skipBlank(line, i)
	vs := i
	for i < len(line) && line[i] != ' ' && line[i] != '\t' {
		i++
	}
	val := line[vs:i]
	if len(val) == 0 {
		return "missing value"
	}
	if _, err := strconv.ParseFloat(string(val), 64); err != nil {
		return "value is not a number"
	}
	i = skipBlank(line, i)
	var ts []byte
	if i < len(line) {
		ts = line[i:]
		if _, err := strconv.ParseInt(string(ts), 10, 64); err != nil {
			return "timestamp is not an integer of milliseconds"
		}
	}
	if kind == KindNodeCPU || kind == KindNodeMemory {
		s.Namespace, s.Pod, s.Container = nil, nil, nil
		s.Kind, s.Value, s.Timestamp = kind, val, ts
		return ""
	}
	// Pod-level and system cgroups (cAdvisor), the pause container, and
	// per-CPU series would double count: skip them as valid but unwanted.
	if len(s.Namespace) == 0 || len(s.Pod) == 0 || len(s.Container) == 0 ||
		string(s.Container) == "POD" || (cpuSet && string(cpu) != "total") {
		return ""
	}
	s.Kind = kind
	s.Value = val
	s.Timestamp = ts
	return ""
}
