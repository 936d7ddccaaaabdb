package loadtest

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kubepulse/kubepulse/internal/testutil"
	"github.com/kubepulse/kubepulse/loadtest"
	"github.com/kubepulse/kubepulse/loadtest/parse"
)

// runSink counts samples per run label, as the collector labels them.
type runSink map[string]float64

func (s runSink) Sample(smp *loadtest.Sample)                   { s[smp.Run]++ }
func (s runSink) Users(string, float64, time.Time)              {}
func (s runSink) Bytes(string, string, int64, int64, time.Time) {}
func (s runSink) Error(*parse.Error)                            {}

// refCounts parses data as the collector would parse the file name and
// returns the samples per run; live=true counts only what complete lines hold
// (the collector waits for the rest of a last line without a newline).
func refCounts(name string, data []byte, live bool) (runSink, error) {
	if i := bytes.LastIndexByte(data, '\n'); live && len(data) > 0 && data[0] != 0 && i < len(data)-1 {
		data = data[:i+1] // data[0] == 0: Gatling binary, which has no lines
	}
	s := runSink{}
	_, err := parse.Parse(bytes.NewReader(data), parse.Options{File: name, DefaultRun: RunFromPath(name)}, s)
	return s, err
}

// members compresses b as n gzip members, cut at byte offsets that ignore
// line boundaries (as `gzip -c part >> file` or a writer's periodic
// finish-and-restart makes them).
func members(t *testing.T, b []byte, n int) []byte {
	var out []byte
	for i := 0; i < n; i++ {
		out = append(out, testutil.Gzip(t, b[len(b)*i/n:len(b)*(i+1)/n])...)
	}
	return out
}

// TestGzipRealWorldThroughCollector tails every real JMeter, Gatling and k6
// sample gzipped, as one member, as several members and as a file whose last
// member is still being written. Each run must reach the count the parsers
// find in the plain file: live while the tail runs, in full after Stop.
func TestGzipRealWorldThroughCollector(t *testing.T) {
	var plain []string
	for _, dir := range []string{"jmeter-jtl", "gatling", "k6"} {
		files, _ := filepath.Glob(filepath.Join(testutil.Realworld(t, dir), "*"))
		if len(files) == 0 {
			t.Fatalf("no real-world files in %s", dir)
		}
		plain = append(plain, files...)
	}
	type file struct {
		name         string
		data         []byte
		first, later []byte // the compressed file: written at start, appended later
	}
	variants := []struct {
		name  string
		build func(data []byte) (first, later []byte)
	}{
		{"one member", func(d []byte) ([]byte, []byte) { return testutil.Gzip(t, d), nil }},
		{"five members", func(d []byte) ([]byte, []byte) { return members(t, d, 5), nil }},
		{"last member half written", func(d []byte) ([]byte, []byte) {
			// A small last member: its deflate block ends only with it,
			// so nothing of it can be decoded before it is complete.
			cut := max(len(d)-2000, len(d)/2)
			head, tail := members(t, d[:cut], 3), testutil.Gzip(t, d[cut:])
			return append(head, tail[:len(tail)/2]...), tail[len(tail)/2:]
		}},
	}
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			dir := t.TempDir()
			var files []file
			for _, p := range plain {
				data, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				first, later := v.build(data)
				name := filepath.Join(dir, filepath.Base(p)+".gz")
				if err := os.WriteFile(name, first, 0o644); err != nil {
					t.Fatal(err)
				}
				files = append(files, file{name: name, data: data, first: first, later: later})
			}
			// Reference counts per run from the plain bytes, before and
			// after the rest of a half-written member arrives.
			want := func(complete bool, live bool) runSink {
				total := runSink{}
				for _, f := range files {
					data := f.data
					if !complete && f.later != nil {
						data = data[:max(len(data)-2000, len(data)/2)]
					}
					n, err := refCounts(f.name, data, live)
					if err != nil && !parse.IsUnsupported(err) {
						t.Fatalf("%s: %v", f.name, err)
					}
					for run, c := range n {
						total[run] += c
					}
				}
				return total
			}
			c, reg := startCollector(t, Config{Files: []string{filepath.Join(dir, "*.gz")}})
			check := func(stage string, w runSink) {
				t.Helper()
				if len(w) < 10 {
					t.Fatalf("%s: reference counts cover only %d runs", stage, len(w))
				}
				for run, n := range w {
					waitFor(t, stage+": run "+run, func() (float64, float64) {
						return value(t, reg, "kubepulse_loadtest_requests_total", map[string]string{"run": run}), n
					})
				}
			}
			check("written so far", want(false, true))
			for _, f := range files {
				if f.later != nil {
					testutil.AppendFile(t, f.name, string(f.later))
				}
			}
			check("complete", want(true, true))
			if err := c.Stop(); err != nil {
				t.Fatal(err)
			}
			for run, n := range want(true, false) {
				if got := value(t, reg, "kubepulse_loadtest_requests_total", map[string]string{"run": run}); got != n {
					t.Errorf("after Stop: run %s has %v requests, the plain file %v", run, got, n)
				}
			}
		})
	}
}

// TestGzipReplacedMidMember truncates and rewrites a gzipped file while its
// last member is half written: the incomplete member is skipped and the new
// content is read, instead of the tail stopping.
func TestGzipReplacedMidMember(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "shop.jtl.gz")
	rows := func(label string, n int) []byte {
		b := []byte(jmeterHeader)
		for i := 0; i < n; i++ {
			b = append(b, jmeterRow(1700000000000+int64(i), 10, label, "200", true, 1)...)
		}
		return b
	}
	first := testutil.Gzip(t, rows("old", 3))
	half := testutil.Gzip(t, rows("lost", 2)[len(jmeterHeader):])
	if err := os.WriteFile(path, append(first, half[:len(half)/2]...), 0o644); err != nil {
		t.Fatal(err)
	}
	_, reg := startCollector(t, Config{Files: []string{path}})
	count := func(label string) func() (float64, float64) {
		return func() (float64, float64) {
			return value(t, reg, "kubepulse_loadtest_requests_total", map[string]string{"label": label}), 0
		}
	}
	waitFor(t, "rows of the complete member", func() (float64, float64) { got, _ := count("old")(); return got, 3 })
	if err := os.WriteFile(path, testutil.Gzip(t, rows("new", 4)), 0o644); err != nil { // truncated and rewritten
		t.Fatal(err)
	}
	waitFor(t, "rows of the new content", func() (float64, float64) { got, _ := count("new")(); return got, 4 })
	if got, _ := count("lost")(); got != 0 {
		t.Errorf("%v rows counted from a member that was never complete", got)
	}
}
