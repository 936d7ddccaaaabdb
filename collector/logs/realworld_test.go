package logs

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// logicalLine is one logical line of a log file; stream "unknown" is a
// malformed record, msg then its raw text.
type logicalLine struct{ stream, msg string }

// logicalLines splits a real file into logical lines by a different method
// than the tailer: strings.SplitN on CRI records, encoding/json on docker
// ones. Records without a final newline are still being written and are not
// expected to count.
func logicalLines(t *testing.T, path string) (out []logicalLine, malformed uint64) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	if i := strings.LastIndexByte(text, '\n'); i >= 0 {
		text = text[:i+1]
	} else {
		text = ""
	}
	pending := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		rec := sc.Text()
		if strings.HasPrefix(rec, "{") {
			var d struct{ Log, Stream string }
			if err := json.Unmarshal([]byte(rec), &d); err != nil || (d.Stream != "stdout" && d.Stream != "stderr") {
				malformed++
				out = append(out, logicalLine{"unknown", rec})
				continue
			}
			pending[d.Stream] += d.Log
			if strings.HasSuffix(d.Log, "\n") {
				out = append(out, logicalLine{d.Stream, strings.TrimSuffix(pending[d.Stream], "\n")})
				pending[d.Stream] = ""
			}
			continue
		}
		parts := strings.SplitN(rec, " ", 4)
		if len(parts) < 3 || (parts[1] != "stdout" && parts[1] != "stderr") || (parts[2] != "F" && parts[2] != "P") {
			malformed++
			out = append(out, logicalLine{"unknown", rec})
			continue
		}
		msg := ""
		if len(parts) == 4 {
			msg = parts[3]
		}
		pending[parts[1]] += msg
		if parts[2] == "F" {
			out = append(out, logicalLine{parts[1], pending[parts[1]]})
			pending[parts[1]] = ""
		}
	}
	return out, malformed
}

// independentCount counts logical lines and matches of the test rules
// (testdata/logs/rules.yaml) in a real file.
func independentCount(t *testing.T, path string) (lines map[string]uint64, matches map[string]uint64, malformed uint64) {
	t.Helper()
	rules := map[string]*regexp.Regexp{"error": regexp.MustCompile(`ERROR|EXCEPTION`), "timeout": regexp.MustCompile(`(?i)timed? ?out`)}
	lines, matches = map[string]uint64{}, map[string]uint64{}
	ll, malformed := logicalLines(t, path)
	for _, l := range ll {
		lines[l.stream]++
		for name, re := range rules {
			if re.MatchString(l.msg) {
				matches[name]++
			}
		}
	}
	return lines, matches, malformed
}

// TestRealWorldLogs runs the tailer over every third-party sample in
// testdata/realworld/cri-logs, read in place through a symlink placed in a
// kubelet-style tree.
func TestRealWorldLogs(t *testing.T) {
	dir := filepath.Join(repoRoot(t), "testdata", "realworld", "cri-logs")
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("real-world samples missing: %v", err)
	}
	if len(ents) == 0 {
		t.Fatal("no real-world samples")
	}
	for _, de := range ents {
		t.Run(de.Name(), func(t *testing.T) {
			src := filepath.Join(dir, de.Name())
			wantLines, wantMatches, wantMalformed := independentCount(t, src)
			total := uint64(0)
			for _, v := range wantLines {
				total += v
			}
			if total == 0 {
				t.Fatalf("independent count found no lines in %s", src)
			}
			e := newEnv(t, nil)
			link := e.path("real", "world", "ctr", "0.log")
			if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(src, link); err != nil {
				t.Fatal(err)
			}
			tl := e.start()
			for _, s := range streamNames {
				if _, ok := wantLines[s]; !ok {
					wantLines[s] = 0
				}
			}
			for _, r := range []string{"error", "timeout"} {
				if _, ok := wantMatches[r]; !ok {
					wantMatches[r] = 0
				}
			}
			waitCounts(t, []*Tailer{tl}, "real/world/ctr", Counts{Lines: wantLines, Matches: wantMatches})
			h := tl.Health()
			if got := h.Errors["malformed_cri"] + h.Errors["malformed_docker"]; got != wantMalformed {
				t.Errorf("malformed = %d, want %d", got, wantMalformed)
			}
			t.Logf("%s: lines %v matches %v malformed %d", de.Name(), wantLines, wantMatches, wantMalformed)
		})
	}
}
