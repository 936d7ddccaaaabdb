package logs

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-kit/log"

	"github.com/kubepulse/kubepulse/internal/testutil"
)

var repoRoot = testutil.RepoRoot

func testRules(t testing.TB) string {
	return filepath.Join(repoRoot(t), "testdata", "logs", "rules.yaml")
}

// env is a kubelet-style log tree plus a tailer over it.
type env struct {
	t         *testing.T
	root      string
	positions string
	cfg       Config
	tl        *Tailer
}

func newEnv(t *testing.T, mod func(*Config)) *env {
	root := filepath.Join(t.TempDir(), "pods")
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, root: root, positions: filepath.Join(t.TempDir(), "positions.json")}
	e.cfg = Config{Path: root, RulesFile: testRules(t), PositionsFile: e.positions, Poll: 20 * time.Millisecond,
		PositionsSync: time.Hour}
	if mod != nil {
		mod(&e.cfg)
	}
	return e
}

func (e *env) start() *Tailer {
	e.t.Helper()
	return e.startWith(nil)
}

// startWith starts a tailer after mod has set its test hooks.
func (e *env) startWith(mod func(*Tailer)) *Tailer {
	e.t.Helper()
	logger := log.NewNopLogger()
	if os.Getenv("KUBEPULSE_TEST_DEBUG") != "" {
		logger = log.NewLogfmtLogger(os.Stderr)
	}
	tl, err := NewTailer(e.cfg, logger)
	if err != nil {
		e.t.Fatal(err)
	}
	if mod != nil {
		mod(tl)
	}
	if err := tl.Start(e.t.Context()); err != nil {
		e.t.Fatal(err)
	}
	e.tl = tl
	e.t.Cleanup(func() { _ = tl.Stop() })
	return tl
}

func (e *env) stop() {
	e.t.Helper()
	if err := e.tl.Stop(); err != nil {
		e.t.Fatal(err)
	}
}

// path of <ns>_<pod>_<uid>/<container>/<name>
func (e *env) path(ns, pod, ctr, name string) string {
	return filepath.Join(e.root, ns+"_"+pod+"_uid-"+pod, ctr, name)
}

func (e *env) write(path string, data string) {
	e.t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		e.t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := f.WriteString(data); err != nil {
		e.t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		e.t.Fatal(err)
	}
}

// eventually polls cond until it returns "" or 20 s pass.
func eventually(t testing.TB, cond func() string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		msg := cond()
		if msg == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out: %s", msg)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitCounts waits until the container's counters equal want (only the keys
// given in want.Lines/Matches are compared; Bytes when non-zero).
func waitCounts(t testing.TB, tls []*Tailer, key string, want Counts) {
	t.Helper()
	eventually(t, func() string {
		got := sumCounts(tls, key)
		for k, v := range want.Lines {
			if got.Lines[k] != v {
				return fmt.Sprintf("%s lines[%s] = %d, want %d (all: %v %v)", key, k, got.Lines[k], v, got.Lines, got.Matches)
			}
		}
		for k, v := range want.Matches {
			if got.Matches[k] != v {
				return fmt.Sprintf("%s matches[%s] = %d, want %d (all: %v %v)", key, k, got.Matches[k], v, got.Lines, got.Matches)
			}
		}
		if want.Bytes != 0 && got.Bytes != want.Bytes {
			return fmt.Sprintf("%s bytes = %d, want %d", key, got.Bytes, want.Bytes)
		}
		return ""
	})
}

func sumCounts(tls []*Tailer, key string) Counts {
	out := Counts{Lines: map[string]uint64{}, Matches: map[string]uint64{}}
	for _, tl := range tls {
		c, ok := tl.Counts()[key]
		if !ok {
			continue
		}
		for k, v := range c.Lines {
			out.Lines[k] += v
		}
		for k, v := range c.Matches {
			out.Matches[k] += v
		}
		out.Bytes += c.Bytes
	}
	return out
}

// cri renders CRI records. Each message gets a distinct timestamp so files
// have distinct fingerprints, as real ones do.
type criGen struct{ n int }

func (g *criGen) rec(stream, tag, msg string) string {
	g.n++
	ts := time.Date(2025, 3, 21, 14, 0, 0, 0, time.UTC).Add(time.Duration(g.n) * time.Millisecond)
	return fmt.Sprintf("%s %s %s %s\n", ts.Format(time.RFC3339Nano), stream, tag, msg)
}

// lines renders n full stdout lines; every k-th (k>0) contains ERROR. It
// returns the text and the number of ERROR lines: the ground truth.
func (g *criGen) lines(n, k int) (string, int) {
	var b strings.Builder
	errs := 0
	for i := 0; i < n; i++ {
		msg := fmt.Sprintf("request %d served in 3ms", g.n)
		if k > 0 && i%k == 0 {
			msg = fmt.Sprintf("ERROR request %d failed", g.n)
			errs++
		}
		b.WriteString(g.rec("stdout", "F", msg))
	}
	return b.String(), errs
}

// oneShot is a tailer test hook that does its work once, at the first call
// after it is armed, so that a race happens at one chosen point every run.
type oneShot struct {
	armed atomic.Bool
	do    func()
}

func (o *oneShot) hook(string) {
	if o.armed.CompareAndSwap(true, false) {
		o.do()
	}
}

func (o *oneShot) arm() { o.armed.Store(true) }

// fire arms the hook and waits until it has run.
func (o *oneShot) fire(t testing.TB) {
	t.Helper()
	o.arm()
	eventually(t, func() string {
		if o.armed.Load() {
			return "hook not run"
		}
		return ""
	})
}
