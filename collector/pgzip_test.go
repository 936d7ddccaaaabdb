package collector

import (
	"bytes"
	stdgzip "compress/gzip"
	"errors"
	"fmt"
	"io"
	"testing"
)

// The parallel writer's output must be one gzip member that the standard
// reader (Prometheus') decodes to the input, at every size around the chunk
// boundaries, whatever the write sizes.
func TestParallelGzipRoundTrip(t *testing.T) {
	var text bytes.Buffer
	for i := 0; text.Len() < 3*gzipChunk+gzipChunk/2; i++ {
		fmt.Fprintf(&text, "kubepulse_pod_phase{namespace=\"team-%03d\",pod=\"web-%d\",phase=\"Running\"} 1\n", i%200, i)
	}
	all := text.Bytes()
	tests := []struct {
		name       string
		size, step int
	}{
		{"empty", 0, 1},
		{"one byte", 1, 1},
		{"chunk minus one", gzipChunk - 1, 4096},
		{"one chunk", gzipChunk, 256 << 10},
		{"chunk plus one", gzipChunk + 1, 7},
		{"3.5 chunks in one write", len(all), len(all)},
		{"3.5 chunks in odd writes", len(all), 100003},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := all[:tt.size]
			var out bytes.Buffer
			z := newParallelGzip(&out, 1)
			for off := 0; off < len(in); off += tt.step {
				if n, err := z.Write(in[off:min(off+tt.step, len(in))]); err != nil || n != min(tt.step, len(in)-off) {
					t.Fatalf("Write = %d, %v", n, err)
				}
			}
			if err := z.Close(); err != nil {
				t.Fatal(err)
			}
			r, err := stdgzip.NewReader(&out)
			if err != nil {
				t.Fatal(err)
			}
			r.Multistream(false) // one member, not several concatenated
			got, err := io.ReadAll(r)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, in) {
				t.Fatalf("round trip: got %d bytes, want %d", len(got), len(in))
			}
			if rest, _ := io.ReadAll(&out); len(rest) != 0 {
				t.Errorf("%d bytes after the gzip member", len(rest))
			}
		})
	}
}

type failWriter struct{ n int }

func (f *failWriter) Write(p []byte) (int, error) {
	if f.n == 0 {
		return 0, errors.New("connection reset")
	}
	f.n--
	return len(p), nil
}

// A client that goes away mid-scrape is reported by Close, and the writer
// neither blocks nor leaks work on the remaining chunks.
func TestParallelGzipWriteError(t *testing.T) {
	z := newParallelGzip(&failWriter{n: 2}, 1)
	buf := bytes.Repeat([]byte("kubepulse_node_info{node=\"n\"} 1\n"), 5*gzipChunk/32)
	if _, err := z.Write(buf); err != nil {
		t.Fatal(err)
	}
	if err := z.Close(); err == nil || err.Error() != "connection reset" {
		t.Fatalf("Close = %v, want the write error", err)
	}
}
