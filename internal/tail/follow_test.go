package tail

import (
	"bytes"
	"context"
	"errors"
	"hash/fnv"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kubepulse/kubepulse/internal/testutil"
)

// collector reads a Follower in the background and records what it got.
type collector struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	err  error
	done chan struct{}
}

func collect(f *Follower) *collector {
	c := &collector{done: make(chan struct{})}
	go func() {
		defer close(c.done)
		p := make([]byte, 7) // small on purpose: many Reads per file
		for {
			n, err := f.Read(p)
			c.mu.Lock()
			c.buf.Write(p[:n])
			if err != nil {
				c.err = err
				c.mu.Unlock()
				return
			}
			c.mu.Unlock()
		}
	}()
	return c
}

func (c *collector) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.String()
}

// waitFor polls cond until it holds or a generous deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

var appendFile = func(t *testing.T, path, s string) { testutil.AppendFile(t, path, s) }

func TestFollow(t *testing.T) {
	type step struct {
		do   func(t *testing.T, path string)
		want string // everything read so far, waited for after do
	}
	write := func(s string) func(*testing.T, string) {
		return func(t *testing.T, p string) { appendFile(t, p, s) }
	}
	tests := []struct {
		name        string
		initial     *string // nil: the file does not exist at Follow time
		offset      int64
		steps       []step
		rotations   int64
		truncations int64
	}{
		{
			name: "existing content then appends", initial: ptr("one\ntwo\n"),
			steps: []step{{nil, "one\ntwo\n"}, {write("three\n"), "one\ntwo\nthree\n"}},
		},
		{
			name: "start offset", initial: ptr("skip\nkeep\n"), offset: 5,
			steps: []step{{nil, "keep\n"}, {write("more\n"), "keep\nmore\n"}},
		},
		{
			name: "file appears later", initial: nil,
			steps: []step{{write("late\n"), "late\n"}, {write("later\n"), "late\nlater\n"}},
		},
		{
			name: "rename rotation finishes the old file first", initial: ptr("a\n"),
			steps: []step{
				{nil, "a\n"},
				{func(t *testing.T, p string) {
					if err := os.Rename(p, p+".1"); err != nil {
						t.Fatal(err)
					}
					appendFile(t, p+".1", "b\n") // the writer still had the old file open
					appendFile(t, p, "c\n")
				}, "a\nb\nc\n"},
				{write("d\n"), "a\nb\nc\nd\n"},
			},
			rotations: 1,
		},
		{
			name: "truncation restarts at zero", initial: ptr("0123456789\n"),
			steps: []step{
				{nil, "0123456789\n"},
				{func(t *testing.T, p string) {
					if err := os.Truncate(p, 0); err != nil {
						t.Fatal(err)
					}
				}, "0123456789\n"},
			},
			truncations: 1,
		},
		{
			name: "truncated and rewritten past the offset", initial: ptr("first\n"),
			steps: []step{
				{nil, "first\n"},
				{func(t *testing.T, p string) {
					if err := os.WriteFile(p, []byte("replaced content\n"), 0o644); err != nil {
						t.Fatal(err)
					}
				}, "first\nreplaced content\n"},
			},
			truncations: 1,
		},
		{
			name: "offset beyond a shorter file reads it from zero", initial: ptr("short\n"), offset: 100,
			steps:       []step{{nil, "short\n"}},
			truncations: 1,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "results.jtl")
			if tc.initial != nil {
				appendFile(t, path, *tc.initial)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			f, err := Follow(ctx, path, FollowOptions{Offset: tc.offset, Poll: 20 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			c := collect(f)
			for _, s := range tc.steps {
				if s.do != nil {
					s.do(t, path)
				}
				waitFor(t, "step content", func() bool { return c.String() == s.want })
			}
			if tc.truncations > 0 {
				waitFor(t, "truncation", func() bool { return f.Truncations() == tc.truncations })
				appendFile(t, path, "after\n")
				want := tc.steps[len(tc.steps)-1].want + "after\n"
				waitFor(t, "content after truncation", func() bool { return c.String() == want })
			}
			if got := f.Rotations(); got != tc.rotations {
				t.Errorf("rotations = %d, want %d", got, tc.rotations)
			}
			cancel()
			<-c.done
			if !errors.Is(c.err, io.EOF) {
				t.Errorf("final error = %v, want io.EOF", c.err)
			}
		})
	}
}

// TestFollowDrainsBeforeEOF: bytes written before cancel are all returned
// before io.EOF.
func TestFollowDrainsBeforeEOF(t *testing.T) {
	for _, size := range []int{0, 1, 4096, 1 << 20} {
		path := filepath.Join(t.TempDir(), "x")
		want := bytes.Repeat([]byte("z"), size)
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		f, err := Follow(ctx, path, FollowOptions{})
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(f)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("size %d: read %d bytes", size, len(got))
		}
		if f.Offset() != int64(size) {
			t.Errorf("size %d: offset %d", size, f.Offset())
		}
		f.Close()
	}
}

// TestFollowClose: Close unblocks a Read that waits for data.
func TestFollowClose(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x")
	f, err := Follow(context.Background(), path, FollowOptions{Poll: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	c := collect(f)
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	<-c.done
	if !errors.Is(c.err, io.EOF) {
		t.Errorf("error after Close = %v, want io.EOF", c.err)
	}
}

func TestFingerprint(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		content string
		other   string
		match   bool
	}{
		{"same prefix, grown", "2024-01-01T00:00:00Z stdout F a\n", "2024-01-01T00:00:00Z stdout F a\nmore\n", true},
		{"different", "2024-01-01T00:00:00Z stdout F a\n", "2024-01-01T00:00:01Z stdout F a\n", false},
		{"shorter", "2024-01-01T00:00:00Z stdout F a\n", "2024", false},
		{"empty fingerprint matches anything", "", "x", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fp := FingerprintBytes([]byte(tc.content))
			p := filepath.Join(dir, "f")
			if err := os.WriteFile(p, []byte(tc.other), 0o644); err != nil {
				t.Fatal(err)
			}
			f, err := os.Open(p)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			got, err := fp.Matches(f)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.match {
				t.Errorf("Matches = %v, want %v", got, tc.match)
			}
		})
	}
}

// TestFingerprintExtend: growing a fingerprint piece by piece gives the
// fingerprint of the whole, capped at FingerprintSize.
func TestFingerprintExtend(t *testing.T) {
	long := strings.Repeat("0123456789abcdef", 100) // 1600 bytes
	tests := []struct {
		name   string
		pieces []string
	}{
		{"one piece", []string{"2024-01-01T00:00:00Z stdout F a\n"}},
		{"several pieces", []string{"2024-", "01-01T00:00:00Z", "", " stdout F a\n"}},
		{"crosses the cap", []string{long[:1000], long[1000:]}},
		{"starts past the cap", []string{long}},
		{"nothing", []string{""}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var fp Fingerprint
			for _, p := range tc.pieces {
				fp = fp.Extend([]byte(p))
			}
			whole := strings.Join(tc.pieces, "")
			h := fnv.New64a() // the reference: the standard library's FNV-1a
			h.Write([]byte(whole[:min(len(whole), FingerprintSize)]))
			want := Fingerprint{Len: min(len(whole), FingerprintSize), Hash: h.Sum64()}
			if whole == "" {
				want = Fingerprint{}
			}
			if fp != want || FingerprintBytes([]byte(whole)) != want {
				t.Errorf("Extend = %+v, want %+v", fp, want)
			}
		})
	}
}

func ptr(s string) *string { return &s }
