package logs

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-kit/log"
)

// logBuf collects a logger's output; safe for concurrent use.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// lines returns the logged lines that contain every one of subs.
func (l *logBuf) lines(subs ...string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, ln := range strings.Split(l.b.String(), "\n") {
		ok := ln != ""
		for _, s := range subs {
			ok = ok && strings.Contains(ln, s)
		}
		if ok {
			out = append(out, ln)
		}
	}
	return out
}

// TestPathProblemsLoggedOnce: a missing --logs.path, a file given as
// --logs.path and unreadable pod and container directories are each logged
// once with their path over many scans, and counted.
func TestPathProblemsLoggedOnce(t *testing.T) {
	eacces := &fs.PathError{Op: "open", Err: syscall.EACCES}
	for _, tc := range []struct {
		name   string
		setup  func(e *env) (path string) // returns the path the warning must name
		denied bool                       // listing the returned path fails with EACCES
		want   string                     // in the warning
		reason string                     // kubepulse_log_errors_total reason raised
	}{
		{"missing root", func(e *env) string {
			e.cfg.Path = filepath.Join(e.root, "no-such-dir")
			return e.cfg.Path
		}, false, "does not exist", "stat"},
		{"root is a file", func(e *env) string {
			e.write(e.path("ns", "web", "app", "0.log"), "x\n")
			e.cfg.Path = e.path("ns", "web", "app", "0.log")
			return e.cfg.Path
		}, false, "not a directory", "stat"},
		{"unreadable pod dir", func(e *env) string {
			e.write(e.path("ns", "web", "app", "0.log"), "x\n")
			return filepath.Dir(filepath.Dir(e.path("ns", "web", "app", "0.log")))
		}, true, "cannot list pod log directory", "open"},
		{"unreadable container dir", func(e *env) string {
			e.write(e.path("ns", "web", "app", "0.log"), "x\n")
			return filepath.Dir(e.path("ns", "web", "app", "0.log"))
		}, true, "cannot list container log directory", "open"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			path := tc.setup(e)
			var buf logBuf
			tl, err := NewTailer(e.cfg, log.NewLogfmtLogger(&buf))
			if err != nil {
				t.Fatal(err)
			}
			if tc.denied {
				tl.readDir = func(p string) ([]os.DirEntry, error) {
					if p == path {
						return nil, eacces
					}
					return os.ReadDir(p)
				}
			}
			if err := tl.Start(t.Context()); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = tl.Stop() })
			eventually(t, func() string { // Poll is 20 ms: 15 scans in ~0.3 s
				if n := tl.scans.Load(); n < 15 {
					return fmt.Sprintf("%d scans", n)
				}
				return ""
			})
			got := buf.lines("level=warn", tc.want)
			if len(got) != 1 {
				t.Fatalf("want one warning %q naming the path after 15 scans, got %d:\n%s", tc.want, len(got), strings.Join(buf.lines(), "\n"))
			}
			if !strings.Contains(got[0], "path="+path) {
				t.Errorf("warning does not name the path %s: %s", path, got[0])
			}
			if n := tl.Health().Errors[tc.reason]; n < 15 {
				t.Errorf("errors_total{reason=%q} = %d, want one per scan (>= 15)", tc.reason, n)
			}
		})
	}
}

// TestProblemBackoff: a problem that persists is logged again after 1 min,
// then 2, 4, … up to 1 h; one that cleared is logged at once when it recurs.
func TestProblemBackoff(t *testing.T) {
	var buf logBuf
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p := newProblems(log.NewLogfmtLogger(&buf), 500*time.Millisecond)
	p.now = func() time.Time { return now }
	// Reported every second for 8 minutes: logged at 0, 1 min, 3 min, 7 min.
	var at []time.Duration
	start := now
	for i := 0; i <= 8*60; i++ {
		before := len(buf.lines("level=warn"))
		p.report("/x", "cannot open log file", "", nil)
		if len(buf.lines("level=warn")) > before {
			at = append(at, now.Sub(start))
		}
		now = now.Add(time.Second)
	}
	want := []time.Duration{0, time.Minute, 3 * time.Minute, 7 * time.Minute}
	if fmt.Sprint(at) != fmt.Sprint(want) {
		t.Errorf("logged at %v, want %v", at, want)
	}
	if got := buf.lines("repeated=60"); len(got) != 1 {
		t.Errorf("the second report should say it repeated 60 times: %q", buf.lines())
	}
	// A different path is a different problem.
	p.report("/y", "cannot open log file", "", nil)
	if got := buf.lines("path=/y"); len(got) != 1 {
		t.Errorf("new path not logged at once: %q", got)
	}
	// Not seen for longer than the forget window: cleared, and new again.
	now = now.Add(p.forget + time.Second)
	p.sweep()
	if got := buf.lines("level=info", "problem cleared", "path=/x"); len(got) != 1 {
		t.Errorf("clearing not logged: %q", buf.lines())
	}
	p.report("/x", "cannot open log file", "", nil)
	if got := buf.lines("level=warn", "path=/x"); len(got) != 5 {
		t.Errorf("a recurrence after it cleared must be logged at once; warnings: %q", got)
	}
}
