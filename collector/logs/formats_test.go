package logs

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// This file re-implements what the default rules promise without regexps
// (byte checks, encoding/json, token splitting), so that the tailer's
// counts on real files are checked against a second, independent reading.

var (
	levelWords  = map[string]bool{"error": true, "fatal": true, "critical": true, "crit": true, "emerg": true, "severe": true, "exception": true}
	levelValues = map[string]bool{"err": true, "eror": true, "alert": true, "emergency": true, "panic": true, "dpanic": true}
	levelKeys   = []string{"level", "lvl", "severity", "loglevel"}
)

func wordByte(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// hasLevelWord: a level word, any case, delimited by non-word bytes.
func hasLevelWord(msg string) bool {
	for _, tok := range strings.FieldsFunc(msg, func(r rune) bool { return r > 127 || !wordByte(byte(r)) }) {
		if levelWords[strings.ToLower(tok)] {
			return true
		}
	}
	return false
}

// klogHeader reports a klog header "Lmmdd hh:mm:ss" and its severity letter.
func klogHeader(msg string) (byte, bool) {
	if len(msg) < 14 || !strings.ContainsRune("IWEF", rune(msg[0])) || !isDigits(msg[1:5]) || msg[5] != ' ' ||
		!isDigits(msg[6:8]) || msg[8] != ':' || !isDigits(msg[9:11]) || msg[11] != ':' || !isDigits(msg[12:14]) {
		return 0, false
	}
	return msg[0], true
}

// jsonLevelError: a top-level level field of a JSON object with an error
// value the level words miss (err, eror, …) or pino's 50/60.
func jsonLevelError(msg string) (isJSON, isErr bool) {
	var m map[string]any
	if !strings.HasPrefix(msg, "{") || json.Unmarshal([]byte(msg), &m) != nil {
		return false, false
	}
	for _, k := range levelKeys {
		switch v := m[k].(type) {
		case string:
			if levelValues[strings.ToLower(v)] {
				return true, true
			}
		case float64:
			if v == 50 || v == 60 {
				return true, true
			}
		}
	}
	return true, false
}

// logfmtLevelError: a key=value token level/lvl/severity with such a value.
func logfmtLevelError(msg string) (isLogfmt, isErr bool) {
	for _, tok := range strings.Fields(msg) {
		k, v, ok := strings.Cut(tok, "=")
		if !ok {
			continue
		}
		switch k {
		case "level", "lvl", "severity":
			isLogfmt = true
			v = strings.Trim(v, `"`)
			if levelValues[strings.ToLower(v)] {
				return true, true
			}
		}
	}
	return isLogfmt, false
}

// exceptionHead: "<Name>Exception: …" or "<Name>Error" at the line start;
// dotted requires a package-qualified (JVM) name, else a bare one (Python).
func exceptionHead(msg string, dotted bool, suffixes ...string) bool {
	name, _, _ := strings.Cut(msg, ":")
	if name == "" || strings.ContainsAny(name, " \t") {
		return false
	}
	segs := strings.Split(name, ".")
	if dotted != (len(segs) > 1) {
		return false
	}
	for i, seg := range segs {
		if seg == "" && i < len(segs)-1 {
			return false
		}
		for j := 0; j < len(seg); j++ {
			if !wordByte(seg[j]) && !(dotted && seg[j] == '$') {
				return false
			}
		}
	}
	if !dotted && name[0] >= '0' && name[0] <= '9' {
		return false
	}
	for _, s := range suffixes {
		if strings.HasSuffix(name, s) {
			return true
		}
	}
	return false
}

// goFrame: "pkg.(*T).Method(args)", a Go stack frame's function line.
func goFrame(msg string) bool {
	if !strings.HasSuffix(msg, ")") {
		return false
	}
	for i := 0; i < len(msg); i++ {
		c := msg[i]
		if c == '(' && i > 0 {
			return true
		}
		if !wordByte(c) && !strings.ContainsRune("./*()-", rune(c)) {
			return false
		}
	}
	return false
}

func continues(msg string) bool {
	if msg == "" || strings.ContainsRune(" \t\n\r\f\v", rune(msg[0])) || goFrame(msg) ||
		exceptionHead(msg, false, "Error", "Exception", "Warning") {
		return true
	}
	if rest, ok := strings.CutPrefix(msg, "goroutine "); ok {
		n, _, _ := strings.Cut(rest, " ")
		return isDigits(n) && strings.Contains(rest, " ")
	}
	for _, p := range []string{"Caused by: ", "created by ", "[signal ", "Traceback (most recent call last):",
		"The above exception was the direct cause", "During handling of the above exception"} {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}

// errorHead classifies a line that is not part of an event: whether it is
// an error, and its format.
func errorHead(msg string) (format string, isErr bool) {
	word := hasLevelWord(msg)
	if sev, ok := klogHeader(msg); ok {
		return "klog", word || sev == 'E' || sev == 'F'
	}
	if isJSON, e := jsonLevelError(msg); isJSON {
		return "json", word || e
	}
	if isLogfmt, e := logfmtLevelError(msg); isLogfmt {
		return "logfmt", word || e
	}
	switch {
	case strings.HasPrefix(msg, "panic: "), strings.HasPrefix(msg, "fatal error: "):
		return "go-panic", true
	case exceptionHead(msg, true, "Exception", "Error"):
		return "jvm-trace", true
	case strings.HasPrefix(msg, "Traceback (most recent call last):"):
		return "python-traceback", true
	}
	return "plain", word
}

// independentErrors counts error events by the format of their first line,
// with stack traces as one event (state per stream).
func independentErrors(lines []logicalLine) map[string]uint64 {
	const none, head, inside = 0, 1, 2
	state := map[string]int{}
	out := map[string]uint64{}
	for _, l := range lines {
		if st := state[l.stream]; st != none {
			if continues(l.msg) || (st == head && exceptionHead(l.msg, true, "Exception", "Error")) {
				state[l.stream] = inside
				continue
			}
		}
		state[l.stream] = none
		if f, ok := errorHead(l.msg); ok {
			out[f]++
			state[l.stream] = head
		}
	}
	return out
}

func sum(m map[string]uint64) (n uint64) {
	for _, v := range m {
		n += v
	}
	return n
}

// tailDefault runs the tailer with the default rules over path and waits
// until it has counted every line of lines and want errors.
func tailDefault(t *testing.T, path string, lines []logicalLine, want uint64) {
	t.Helper()
	wantLines := map[string]uint64{"stdout": 0, "stderr": 0, "unknown": 0}
	for _, l := range lines {
		wantLines[l.stream]++
	}
	e := newEnv(t, func(c *Config) { c.RulesFile = "" })
	link := e.path("real", "world", "ctr", "0.log")
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(path, link); err != nil {
		t.Fatal(err)
	}
	tl := e.start()
	waitCounts(t, []*Tailer{tl}, "real/world/ctr", Counts{Lines: wantLines, Matches: map[string]uint64{"error": want}})
}

// TestDefaultRulesRealWorld: on every third-party sample the default rules
// count what the independent reading counts, format by format; the samples
// hold klog error lines (E1003 from kube-scheduler) that must be found.
func TestDefaultRulesRealWorld(t *testing.T) {
	dir := filepath.Join(repoRoot(t), "testdata", "realworld", "cri-logs")
	ents, err := os.ReadDir(dir)
	if err != nil || len(ents) == 0 {
		t.Fatalf("real-world samples missing: %v", err)
	}
	total := map[string]uint64{}
	for _, de := range ents {
		t.Run(de.Name(), func(t *testing.T) {
			src := filepath.Join(dir, de.Name())
			lines, _ := logicalLines(t, src)
			want := independentErrors(lines)
			for f, n := range want {
				total[f] += n
			}
			tailDefault(t, src, lines, sum(want))
			t.Logf("%s: error events by format %v", de.Name(), want)
		})
	}
	if total["klog"] == 0 {
		t.Errorf("no klog error found in the real samples (kube-scheduler's E1003 lines); by format: %v", total)
	}
}

// TestDefaultRulesFormats: on the real output of common loggers and crashes
// (testdata/logs/formats, written by hack/logsamples), the tailer, the
// independent reading and the number of events the producer emitted agree.
func TestDefaultRulesFormats(t *testing.T) {
	dir := filepath.Join(repoRoot(t), "testdata", "logs", "formats")
	b, err := os.ReadFile(filepath.Join(dir, "EXPECTED.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	rows := strings.Split(strings.TrimSpace(string(b)), "\n")[1:]
	if len(rows) < 8 {
		t.Fatalf("EXPECTED.tsv lists %d files, want the 8 formats", len(rows))
	}
	formats := map[string]bool{}
	for _, row := range rows {
		f := strings.Split(row, "\t")
		name := f[0]
		want, err := strconv.ParseUint(f[1], 10, 64)
		if err != nil {
			t.Fatalf("EXPECTED.tsv: %q: %v", row, err)
		}
		t.Run(name, func(t *testing.T) {
			src := filepath.Join(dir, name)
			lines, malformed := logicalLines(t, src)
			if malformed != 0 {
				t.Fatalf("%d malformed records", malformed)
			}
			got := independentErrors(lines)
			if sum(got) != want {
				t.Fatalf("independent reading finds %d error events (%v), the producer emitted %d", sum(got), got, want)
			}
			for f := range got {
				formats[f] = true
			}
			tailDefault(t, src, lines, want)
		})
	}
	var seen []string
	for f := range formats {
		seen = append(seen, f)
	}
	sort.Strings(seen)
	if got := strings.Join(seen, ","); got != "go-panic,json,jvm-trace,klog,logfmt,plain,python-traceback" {
		t.Errorf("formats with errors = %s, want every format covered", got)
	}
}
