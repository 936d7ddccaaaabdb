package logs

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/go-kit/log"
)

// TestJoinAtChunkBoundaries reads each history through the reader's chunk
// loop with every buffer size from the longest record up, so that every
// record boundary, and every point inside a record, falls at a chunk's end
// once: a partial line pending across chunks, a record cut in two by the
// buffer, and the fast path giving way to the joiner mid-chunk must all
// count the same logical lines.
func TestJoinAtChunkBoundaries(t *testing.T) {
	g := &criGen{}
	cri := func(recs ...[3]string) string {
		var b strings.Builder
		for _, r := range recs {
			b.WriteString(g.rec(r[0], r[1], r[2]))
		}
		return b.String()
	}
	docker := func(recs ...string) string { return strings.Join(recs, "\n") + "\n" }
	for _, tc := range []struct {
		name    string
		text    string
		maxLine int // 0: the default
		want    Counts
		trunc   uint64 // lines cut at maxLine
	}{
		{
			name: "CRI P parts joined, the match only exists joined",
			text: cri([3]string{"stdout", "F", "before"}, [3]string{"stdout", "P", "a long line that fails with ERR"},
				[3]string{"stdout", "P", "O"}, [3]string{"stdout", "F", "R at the end"}, [3]string{"stdout", "F", "after"}),
			want: Counts{Lines: map[string]uint64{"stdout": 3}, Matches: map[string]uint64{"error": 1}},
		},
		{
			name: "CRI streams interleaved while both are partial",
			text: cri([3]string{"stdout", "P", "EXCEP"}, [3]string{"stderr", "P", "request ti"},
				[3]string{"stdout", "F", "TION thrown"}, [3]string{"stdout", "F", "full line, no match"},
				[3]string{"stderr", "P", "med "}, [3]string{"stderr", "F", "out"}),
			want: Counts{Lines: map[string]uint64{"stdout": 2, "stderr": 1}, Matches: map[string]uint64{"error": 1, "timeout": 1}},
		},
		{
			name: "CRI joined line over max-line-bytes is cut and matched on its prefix",
			text: cri([3]string{"stdout", "P", "ERROR 0123456789"}, [3]string{"stdout", "P", "0123456789"},
				[3]string{"stdout", "F", "timed out past the cut"}),
			maxLine: 20,
			want:    Counts{Lines: map[string]uint64{"stdout": 1}, Matches: map[string]uint64{"error": 1}},
			trunc:   1,
		},
		{
			name: "CRI malformed record between parts counts as unknown",
			text: cri([3]string{"stdout", "P", "ERR"}) + "not a cri record\n" + cri([3]string{"stdout", "F", "OR"}),
			want: Counts{Lines: map[string]uint64{"stdout": 1, "unknown": 1}, Matches: map[string]uint64{"error": 1}},
		},
		{
			name: "docker split lines joined across records",
			text: docker(`{"log":"first half EXC","stream":"stdout","time":"2018-10-03T05:25:09Z"}`,
				`{"log":"time","stream":"stderr","time":"2018-10-03T05:25:09Z"}`,
				`{"log":"EPTION second half\n","stream":"stdout","time":"2018-10-03T05:25:09Z"}`,
				`{"log":"d out\n","stream":"stderr","time":"2018-10-03T05:25:09Z"}`,
				`{"log":"plain\n","stream":"stdout","time":"2018-10-03T05:25:10Z"}`),
			want: Counts{Lines: map[string]uint64{"stdout": 2, "stderr": 1}, Matches: map[string]uint64{"error": 1, "timeout": 1}},
		},
		{
			name: "docker CRLF records",
			text: strings.ReplaceAll(docker(`{"log":"ERR","stream":"stdout"}`, `{"log":"OR\n","stream":"stdout"}`,
				`{"log":"ok\n","stream":"stdout"}`), "\n{", "\r\n{"),
			want: Counts{Lines: map[string]uint64{"stdout": 2}, Matches: map[string]uint64{"error": 1}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			longest := 0
			for _, r := range strings.SplitAfter(tc.text, "\n") {
				longest = max(longest, len(r))
			}
			tc.want.Bytes = uint64(len(tc.text))
			for size := longest + 1; size <= len(tc.text)+1; size++ {
				got, trunc := readInChunks(t, tc.text, size, tc.maxLine)
				if msg := diffCounts(got, tc.want); msg != "" {
					t.Fatalf("buffer %d bytes: %s", size, msg)
				}
				if trunc != tc.trunc {
					t.Fatalf("buffer %d bytes: %d lines cut at max-line-bytes, want %d", size, trunc, tc.trunc)
				}
			}
		})
	}
}

// readInChunks runs text through consume the way readFile does, with a
// buffer of size bytes, and returns the counts.
func readInChunks(t *testing.T, text string, size, maxLine int) (Counts, uint64) {
	t.Helper()
	tl, err := NewTailer(Config{Path: t.TempDir(), RulesFile: testRules(t), MaxLineBytes: maxLine, BufferBytes: size}, log.NewNopLogger())
	if err != nil {
		t.Fatal(err)
	}
	c := &container{matches: make([]atomic.Uint64, len(tl.rules.rules))}
	f := &file{current: true}
	s := &series{c: c, files: []*file{f}}
	w := newWorker(tl.cfg.BufferBytes, tl.rules.numLits)
	data := []byte(text)
	for f.readOff < int64(len(data)) {
		n := copy(w.buf, data[f.readOff:])
		full := n == len(w.buf)
		used := tl.consume(w, s, f, w.buf[:n], full, false)
		if used == 0 && !full {
			t.Fatalf("buffer %d bytes: stuck at offset %d of %d", size, f.readOff, len(data))
		}
		tl.setReadOff(f, f.readOff+int64(used))
	}
	if s.join[0].active || s.join[1].active {
		t.Fatalf("buffer %d bytes: a partial line is still pending at the end", size)
	}
	out := Counts{Lines: map[string]uint64{}, Matches: map[string]uint64{}, Bytes: c.bytes.Load()}
	for st := range c.lines {
		if n := c.lines[st].Load(); n > 0 {
			out.Lines[streamNames[st]] = n
		}
	}
	for i, r := range tl.rules.rules {
		if n := c.matches[i].Load(); n > 0 {
			out.Matches[r.name] = n
		}
	}
	if tl.errs[errRecordTooLong].Load() > 0 {
		t.Fatalf("buffer %d bytes: a record was taken as longer than the buffer", size)
	}
	return out, tl.truncLines.Load()
}

// diffCounts describes how got differs from want ("" when equal); zero
// counts and absent keys are the same.
func diffCounts(got, want Counts) string {
	var diffs []string
	for _, m := range []struct {
		what      string
		got, want map[string]uint64
	}{{"lines", got.Lines, want.Lines}, {"matches", got.Matches, want.Matches}} {
		for k := range mergeKeys(m.got, m.want) {
			if m.got[k] != m.want[k] {
				diffs = append(diffs, fmt.Sprintf("%s[%s] = %d, want %d", m.what, k, m.got[k], m.want[k]))
			}
		}
	}
	if got.Bytes != want.Bytes {
		diffs = append(diffs, fmt.Sprintf("bytes = %d, want %d", got.Bytes, want.Bytes))
	}
	return strings.Join(diffs, "; ")
}

func mergeKeys(a, b map[string]uint64) map[string]bool {
	out := map[string]bool{}
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	return out
}
