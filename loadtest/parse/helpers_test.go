package parse

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/kubepulse/kubepulse/internal/testutil"
	"github.com/kubepulse/kubepulse/loadtest"
)

// collect is a Sink that keeps everything, for assertions.
type collect struct {
	samples []loadtest.Sample
	users   []float64
	recv    int64
	sent    int64
	errs    []Error
}

func (c *collect) Sample(s *loadtest.Sample)                  { c.samples = append(c.samples, *s) }
func (c *collect) Users(_ string, n float64, _ time.Time)     { c.users = append(c.users, n) }
func (c *collect) Error(e *Error)                             { c.errs = append(c.errs, *e) }
func (c *collect) Bytes(_, _ string, r, s int64, _ time.Time) { c.recv += r; c.sent += s }

type totals struct {
	requests, failures int
	elapsed            time.Duration
}

func (c *collect) totals() totals {
	var t totals
	for _, s := range c.samples {
		t.requests++
		if !s.Success {
			t.failures++
		}
		t.elapsed += s.Elapsed
	}
	return t
}

var repoRoot = testutil.RepoRoot

func realworld(t testing.TB, sub string) string {
	return filepath.Join(repoRoot(t), "testdata", "realworld", sub)
}

func testdata(t testing.TB, name string) string {
	return filepath.Join(repoRoot(t), "testdata", "loadtest", name)
}
