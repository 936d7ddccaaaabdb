package tail

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTruncated covers the check both the logs tailer and Follow use to
// tell that an open file no longer holds what was read.
func TestTruncated(t *testing.T) {
	head := "2025-03-21T14:00:00.000Z stdout F first line\n"
	for _, tc := range []struct {
		name    string
		content string // what the file holds now
		off     int64  // bytes read of the original
		fpOf    string // the fingerprint was taken of this ("" = none yet)
		want    bool
	}{
		{"grown", head + "more\n", int64(len(head)), head, false},
		{"unchanged", head, int64(len(head)), head, false},
		{"shorter than the offset", head[:10], int64(len(head)), head, true},
		{"empty after copytruncate", "", int64(len(head)), head, true},
		{"written again past the offset", strings.Repeat("x", 2*len(head)), int64(len(head)), head, true},
		{"same size, other first bytes", "X" + head[1:], int64(len(head)), head, true},
		{"no fingerprint yet: only the size tells", "X" + head[1:], int64(len(head)), "", false},
		{"fingerprint of a shorter head", head + "more\n", 10, head[:10], false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fp := FingerprintBytes([]byte(tc.fpOf))
			r := strings.NewReader(tc.content)
			if got := Truncated(r, int64(len(tc.content)), tc.off, fp); got != tc.want {
				t.Errorf("Truncated = %v, want %v", got, tc.want)
			}
			p := filepath.Join(t.TempDir(), "0.log")
			if err := os.WriteFile(p, []byte(tc.content), 0o644); err != nil {
				t.Fatal(err)
			}
			f, err := os.Open(p)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if got := Intact(f, tc.off, fp); got == tc.want {
				t.Errorf("Intact = %v, want %v", got, !tc.want)
			}
		})
	}
}

// TestRenamed covers the rotation check: the name now leads to another file.
func TestRenamed(t *testing.T) {
	for _, tc := range []struct {
		name    string
		rotate  func(t *testing.T, p string)
		want    bool
		missing bool
	}{
		{"appended", func(t *testing.T, p string) { appendTo(t, p, "more\n") }, false, false},
		{"renamed and recreated", func(t *testing.T, p string) {
			mustDo(t, os.Rename(p, p+".1"))
			mustDo(t, os.WriteFile(p, []byte("new\n"), 0o644))
		}, true, false},
		{"renamed, not recreated yet", func(t *testing.T, p string) { mustDo(t, os.Rename(p, p+".1")) }, false, true},
		{"truncated in place", func(t *testing.T, p string) { mustDo(t, os.Truncate(p, 0)) }, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "0.log")
			mustDo(t, os.WriteFile(p, []byte("first\n"), 0o644))
			id, err := IDOfPath(p)
			mustDo(t, err)
			tc.rotate(t, p)
			got, err := Renamed(p, id)
			if tc.missing != errors.Is(err, fs.ErrNotExist) || (!tc.missing && err != nil) {
				t.Fatalf("Renamed error = %v, want missing=%v", err, tc.missing)
			}
			if got != tc.want {
				t.Errorf("Renamed = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestFingerprintGrow grows a fingerprint chunk by chunk, for every chunk
// size, and wants the fingerprint of the head read at once; a chunk read
// past the bytes covered must be refused (the caller hashes the head).
func TestFingerprintGrow(t *testing.T) {
	data := []byte(strings.Repeat("2025-03-21T14:00:00.000Z stdout F line\n", 40)) // > FingerprintSize
	want := FingerprintBytes(data)
	for _, size := range []int{1, 7, 100, FingerprintSize - 1, FingerprintSize, FingerprintSize + 1, len(data)} {
		var fp Fingerprint
		for off := 0; off < len(data); off += size {
			var ok bool
			if fp, ok = fp.Grow(int64(off), data[off:min(off+size, len(data))]); !ok {
				t.Fatalf("chunks of %d: Grow refused the chunk at %d", size, off)
			}
		}
		if fp != want {
			t.Errorf("chunks of %d: fingerprint %+v, want %+v", size, fp, want)
		}
	}
	// A chunk read again (overlapping what is covered) changes nothing.
	fp := FingerprintBytes(data[:100])
	if got, ok := fp.Grow(50, data[50:80]); !ok || got != fp {
		t.Errorf("Grow of covered bytes = %+v, %v; want %+v, true", got, ok, fp)
	}
	if got, ok := fp.Grow(50, data[50:150]); !ok || got != FingerprintBytes(data[:150]) {
		t.Errorf("Grow of overlapping bytes = %+v, %v; want the fingerprint of 150 bytes", got, ok)
	}
	if _, ok := fp.Grow(101, data[101:200]); ok {
		t.Error("Grow accepted a chunk past the bytes covered")
	}
}

func appendTo(t *testing.T, p, s string) {
	t.Helper()
	f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
	mustDo(t, err)
	defer f.Close()
	_, err = f.WriteString(s)
	mustDo(t, err)
}

func mustDo(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
