package logs

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseCRI(t *testing.T) {
	tests := []struct {
		in      string
		ok      bool
		stream  int
		partial bool
		msg     string
	}{
		{"2025-03-21T14:51:46.481339471Z stdout F .:53", true, streamStdout, false, ".:53"},
		{"2018-02-13T07:59:37.505201169-05:00 stderr P part", true, streamStderr, true, "part"},
		{"2025-03-21T14:51:46.48Z stdout F:x:y tagged", true, streamStdout, false, "tagged"},
		{"2025-03-21T14:51:46.48Z stdout F", true, streamStdout, false, ""},
		{"2025-03-21T14:51:46.48Z stdout F ", true, streamStdout, false, ""},
		{"2025-03-21T14:51:46.48Z stdout F  two spaces", true, streamStdout, false, " two spaces"},
		{"2025-03-21T14:51:46.48Z stdin F x", false, streamUnknown, false, ""},
		{"2025-03-21T14:51:46.48Z stdout X x", false, streamUnknown, false, ""},
		{"2025-03-21T14:51:46.48Z stdout FF x", false, streamUnknown, false, ""},
		{"2023-04-30T12:04:38.453365949Z 0: Sun Apr 30", false, streamUnknown, false, ""}, // kubectl --timestamps
		{"not a timestamp stdout F x", false, streamUnknown, false, ""},
		{"", false, streamUnknown, false, ""},
	}
	for _, tc := range tests {
		r := parseCRI([]byte(tc.in))
		if r.ok != tc.ok || r.stream != tc.stream || r.partial != tc.partial || (tc.ok && string(r.msg) != tc.msg) {
			t.Errorf("parseCRI(%q) = %+v (msg %q), want ok=%v stream=%d partial=%v msg=%q", tc.in, r, r.msg, tc.ok, tc.stream, tc.partial, tc.msg)
		}
		if !r.ok && string(r.msg) != tc.in {
			t.Errorf("parseCRI(%q): malformed record must keep its raw text, got %q", tc.in, r.msg)
		}
	}
}

func TestParseDocker(t *testing.T) {
	tests := []struct {
		in      string
		ok      bool
		stream  int
		partial bool
		msg     string
	}{
		{`{"log":"hello\n","stream":"stdout","time":"2018-10-03T05:25:08.921074351Z"}`, true, streamStdout, false, "hello"},
		{`{"log":"split","stream":"stderr","time":"x"}`, true, streamStderr, true, "split"},
		{`{"log":"q\"b\\s\/ \b\f\r\t\u0026\u00e9\ud83d\ude00\n","stream":"stdout"}`, true, streamStdout, false, "q\"b\\s/ \b\f\r\t&é😀"},
		{`{"log":"lone \ud83d x\n","stream":"stdout"}`, true, streamStdout, false, "lone \uFFFD x"},
		{` { "stream" : "stdout" , "attrs":{"k":[1,2,{"x":null}]}, "log" : "ws\n" } `, true, streamStdout, false, "ws"},
		{`{"log":"x\n"}`, false, 0, false, ""},
		{`{"log":"x\n","stream":"stdin"}`, false, 0, false, ""},
		{`{"log":"x\n","stream":"stdout"`, false, 0, false, ""},
		{`{"log":"bad \q","stream":"stdout"}`, false, 0, false, ""},
		{`{"log":"x","log":"y","stream":"stdout"}`, false, 0, false, ""},
		{`{}`, false, 0, false, ""},
		{`{"log":"x\n","stream":"stdout"} trailing`, false, 0, false, ""},
	}
	for _, tc := range tests {
		r, _ := parseDocker([]byte(tc.in), nil)
		if r.ok != tc.ok || (tc.ok && (r.stream != tc.stream || r.partial != tc.partial || string(r.msg) != tc.msg)) {
			t.Errorf("parseDocker(%s) = ok=%v stream=%d partial=%v msg=%q, want ok=%v stream=%d partial=%v msg=%q",
				tc.in, r.ok, r.stream, r.partial, r.msg, tc.ok, tc.stream, tc.partial, tc.msg)
		}
	}
}

func FuzzParseCRI(f *testing.F) {
	for _, s := range []string{
		"2025-03-21T14:51:46.481339471Z stdout F .:53",
		"2018-02-13T07:59:37.505201169-05:00 stderr P part",
		"2025-03-21T14:51:46.48Z stdout F:x tagged",
		"2023-04-30T12:04:38.453365949Z 0: Sun Apr 30",
		"\x00\xff",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r := parseCRI(b)
		// The timestamp ends at the first space in [19, 40), found naively.
		sp := -1
		for i := 19; i < len(b) && i < 40; i++ {
			if b[i] == ' ' {
				sp = i
				break
			}
		}
		if r.ok && (sp < 0 || !bytes.HasPrefix(b[sp+1:], []byte(streamNames[r.stream]+" "))) {
			t.Fatalf("parsed %q with the stream not after the first space in [19, 40) (%d)", b, sp)
		}
		if sp >= 0 && looksLikeTimestamp(b[:sp]) && len(b) > sp+9 && string(b[sp+1:sp+10]) == "stdout F " && !r.ok {
			t.Fatalf("%q not parsed", b)
		}
		if !r.ok {
			if !bytes.Equal(r.msg, b) || r.stream != streamUnknown {
				t.Fatalf("malformed record lost its text")
			}
			return
		}
		// the message is a suffix of the record
		if !bytes.HasSuffix(b, r.msg) {
			t.Fatalf("msg %q not a suffix of %q", r.msg, b)
		}
		if r.stream != streamStdout && r.stream != streamStderr {
			t.Fatalf("bad stream %d", r.stream)
		}
	})
}

func FuzzParseDocker(f *testing.F) {
	for _, s := range []string{
		`{"log":"hello\n","stream":"stdout","time":"2018-10-03T05:25:08.921074351Z"}`,
		`{"log":"q\"b\\s\/\u0026\ud83d\ude00","stream":"stderr"}`,
		`{"stream":"stdout","attrs":{"a":[1,{"b":null}]},"log":"x\n"}`,
		`{"log":"`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, _ := parseDocker(b, nil)
		if !r.ok {
			if !bytes.Equal(r.msg, b) {
				t.Fatalf("malformed record lost its text")
			}
			return
		}
		// Cross-check with encoding/json when it accepts the record too.
		var d struct{ Log, Stream string }
		if json.Valid(b) && json.Unmarshal(b, &d) == nil && utf8.Valid(b) && !strings.Contains(d.Log, "\uFFFD") {
			want := strings.TrimSuffix(d.Log, "\n")
			if string(r.msg) != want {
				t.Fatalf("msg %q, encoding/json says %q", r.msg, want)
			}
		}
	})
}

// TestLooksLikeTimestampAgainstNaive compares the SWAR shape check with a
// byte-by-byte one on valid timestamps with every byte replaced in turn.
func TestLooksLikeTimestampAgainstNaive(t *testing.T) {
	naive := func(b []byte) bool {
		if len(b) < 20 {
			return false
		}
		for i, c := range b[:19] {
			want := byte(0)
			switch i {
			case 4, 7:
				want = '-'
			case 10:
				want = 'T'
			case 13, 16:
				want = ':'
			}
			if want != 0 && c != want || want == 0 && (c < '0' || c > '9') {
				return false
			}
		}
		last := b[len(b)-1]
		return last == 'Z' || last >= '0' && last <= '9'
	}
	for _, ts := range []string{"2025-03-21T14:51:23.233523365Z", "2018-02-13T07:59:37.505201169-05:00", "2025-03-21T14:51:23Z"} {
		for i := 0; i < len(ts); i++ {
			for _, c := range []byte{'0', '9', '/', ':', '-', 'T', 'Z', 'a', ' ', 0, 0x80, 0xff, '0' - 1, '9' + 1} {
				b := []byte(ts)
				b[i] = c
				if got, want := looksLikeTimestamp(b), naive(b); got != want {
					t.Fatalf("looksLikeTimestamp(%q) = %v, want %v", b, got, want)
				}
			}
		}
	}
}
