package parse

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/kubepulse/kubepulse/internal/testutil"
	"github.com/kubepulse/kubepulse/loadtest"
)

// signalSink closes done once it has seen want samples.
type signalSink struct {
	collect
	want int
	done chan struct{}
}

func (s *signalSink) Sample(smp *loadtest.Sample) {
	s.collect.Sample(smp)
	if len(s.samples) == s.want {
		close(s.done)
	}
}

// TestGzipMemberReturnedBeforeNextHeader parses one gzip member from a pipe
// that stays open, as a file whose writer has not yet added the next member:
// every row of the member must be parsed without waiting for more input.
func TestGzipMemberReturnedBeforeNextHeader(t *testing.T) {
	for _, rows := range []int{1, 5000} { // within and beyond a 32 KiB window
		t.Run(fmt.Sprint(rows, " rows"), func(t *testing.T) {
			data := []byte("timeStamp,elapsed,label,responseCode,success\n")
			for i := 0; i < rows; i++ {
				data = fmt.Appendf(data, "%d,12,home,200,true\n", 1700000000000+i)
			}
			pr, pw := io.Pipe()
			go func() { _, _ = pw.Write(testutil.Gzip(t, data)) }()
			sink := &signalSink{want: rows, done: make(chan struct{})}
			parsed := make(chan error, 1)
			go func() {
				_, err := Parse(pr, Options{File: "live.jtl.gz", DefaultRun: "r"}, sink)
				parsed <- err
			}()
			select {
			case <-sink.done:
			case <-time.After(20 * time.Second): // bounds a hang only
				t.Error("the member's rows are held back until another member arrives")
			}
			pw.Close()
			if err := <-parsed; err != nil {
				t.Fatal(err)
			}
			if len(sink.samples) != rows {
				t.Errorf("%d rows parsed, want %d", len(sink.samples), rows)
			}
		})
	}
}

func TestGzipMembersEnds(t *testing.T) {
	full := append(testutil.Gzip(t, []byte("ab")), testutil.Gzip(t, nil)...) // an empty member too
	full = append(full, testutil.Gzip(t, []byte("cd\n"))...)
	cases := []struct {
		name    string
		in      []byte
		want    string
		wantErr error
	}{
		{"members and an empty one", full, "abcd\n", nil},
		{"trailer cut off", full[:len(full)-5], "abcd\n", io.ErrUnexpectedEOF},
		{"garbage after a member", append(testutil.Gzip(t, []byte("x")), "junk......"...), "x", gzip.ErrHeader},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			zr, err := newGzipMembers(bufio.NewReader(bytes.NewReader(tc.in)))
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(zr)
			if !bytes.HasPrefix([]byte(tc.want), got) || (tc.wantErr == nil && string(got) != tc.want) {
				t.Errorf("read %q, want %q", got, tc.want)
			}
			if (tc.wantErr == nil) != (err == nil) || (tc.wantErr != nil && !errors.Is(err, tc.wantErr)) {
				t.Errorf("err %v, want %v", err, tc.wantErr)
			}
		})
	}
}

// FuzzGzipMembers cuts data into gzip members at fuzzed offsets: read a
// byte at a time, the members give back exactly data.
func FuzzGzipMembers(f *testing.F) {
	f.Add([]byte("timeStamp,elapsed,label\n1,2,a\n"), uint8(3))
	f.Add([]byte{}, uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, cuts uint8) {
		n := int(cuts%8) + 1
		var in []byte
		for i := 0; i < n; i++ {
			in = append(in, testutil.Gzip(t, data[len(data)*i/n:len(data)*(i+1)/n])...)
		}
		zr, err := newGzipMembers(bufio.NewReaderSize(oneByte{strings.NewReader(string(in))}, 16))
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(zr)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("read %d bytes (%v), want %d", len(got), err, len(data))
		}
	})
}
