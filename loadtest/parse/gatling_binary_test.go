package parse

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"
	"time"
	"unicode/utf16"
)

// gbWriter encodes the Gatling >=3.13 binary layout, for tests.
type gbWriter struct {
	bytes.Buffer
	cache map[string]int32
}

func (w *gbWriter) i32(v int32) { _ = binary.Write(w, binary.BigEndian, v) }
func (w *gbWriter) i64(v int64) { _ = binary.Write(w, binary.BigEndian, v) }
func (w *gbWriter) boolean(b bool) {
	if b {
		w.WriteByte(1)
	} else {
		w.WriteByte(0)
	}
}

// str writes Latin-1 when it can, else UTF-16LE, like the JVM's compact strings.
func (w *gbWriter) str(s string) {
	if s == "" {
		w.i32(0)
		return
	}
	latin := true
	for _, r := range s {
		latin = latin && r < 256
	}
	if latin {
		w.i32(int32(len([]rune(s))))
		for _, r := range s {
			w.WriteByte(byte(r))
		}
		w.WriteByte(0)
		return
	}
	u := utf16.Encode([]rune(s))
	w.i32(int32(2 * len(u)))
	for _, c := range u {
		_ = binary.Write(w, binary.LittleEndian, c)
	}
	w.WriteByte(1)
}

func (w *gbWriter) cached(s string) {
	if i, ok := w.cache[s]; ok {
		w.i32(-i)
		return
	}
	i := int32(len(w.cache) + 1)
	w.cache[s] = i
	w.i32(i)
	w.str(s)
}

func (w *gbWriter) run(version, class string, start int64, scenarios ...string) {
	w.WriteByte(0)
	w.str(version)
	w.str(class)
	w.i64(start)
	w.str("")
	w.i32(int32(len(scenarios)))
	for _, s := range scenarios {
		w.str(s)
	}
	w.i32(1) // one assertion, skipped
	w.i32(3)
	w.WriteString("abc")
}

func (w *gbWriter) request(groups []string, name string, start, end int32, ok bool, msg string) {
	w.WriteByte(1)
	w.i32(int32(len(groups)))
	for _, g := range groups {
		w.cached(g)
	}
	w.cached(name)
	w.i32(start)
	w.i32(end)
	w.boolean(ok)
	w.cached(msg)
}

func (w *gbWriter) user(start bool, t int32) {
	w.WriteByte(2)
	w.i32(0)
	w.boolean(start)
	w.i32(t)
}

func (w *gbWriter) group(groups []string, start, end, cumulated int32, ok bool) {
	w.WriteByte(3)
	w.i32(int32(len(groups)))
	for _, g := range groups {
		w.cached(g)
	}
	w.i32(start)
	w.i32(end)
	w.i32(cumulated)
	w.boolean(ok)
}

func (w *gbWriter) errorRecord(msg string, t int32) {
	w.WriteByte(4)
	w.cached(msg)
	w.i32(t)
}

func TestGatlingBinary(t *testing.T) {
	start := time.Date(2025, 8, 31, 21, 12, 3, 930e6, time.UTC).UnixMilli()
	build := func(tail func(w *gbWriter)) []byte {
		w := &gbWriter{cache: map[string]int32{}}
		w.run("3.14.3", "com.example.ShopSimulation", start, "browse", "buy")
		w.user(true, 10)
		w.user(true, 20)
		w.request([]string{"checkout"}, "GET /cart", 100, 350, true, "")
		w.request([]string{"checkout"}, "GET /cart", 400, 500, false, "status.find.is(200), but actually found 500")
		w.request(nil, "Zahlung über €", 600, 601, true, "")
		w.errorRecord("could not build request", 700)
		w.group([]string{"checkout", "pay"}, 100, 900, 351, false)
		w.user(false, 950)
		if tail != nil {
			tail(w)
		}
		return w.Bytes()
	}
	run := "shopsimulation-20250831211203930"
	ms := time.Millisecond
	cases := []struct {
		name    string
		in      []byte
		mode    TransactionMode
		samples []sampleKey
		users   []float64
		errs    []wantErr
	}{
		{
			name: "requests, cached strings, UTF-16 names; groups excluded",
			in:   build(nil),
			samples: []sampleKey{
				{run, "GET /cart", "", true, 250 * ms, 0, 0, start + 350},
				{run, "GET /cart", "", false, 100 * ms, 0, 0, start + 500},
				{run, "Zahlung über €", "", true, ms, 0, 0, start + 601},
			},
			users: []float64{1, 2, 1},
		},
		{
			name:    "groups only",
			in:      build(nil),
			mode:    TransactionsOnly,
			samples: []sampleKey{{run, "checkout,pay", "", false, 800 * ms, 0, 0, start + 900}},
			users:   []float64{1, 2, 1},
		},
		{
			name: "cut inside a record",
			in: build(func(w *gbWriter) {
				w.request(nil, "late", 1000, 1100, true, "")
				w.Truncate(w.Len() - 3)
			}),
			mode:  TransactionsOnly,
			users: []float64{1, 2, 1}, samples: []sampleKey{{run, "checkout,pay", "", false, 800 * ms, 0, 0, start + 900}},
			errs: []wantErr{{10, ReasonSyntax}},
		},
		{
			name: "a record that breaks the layout ends the parse",
			in: build(func(w *gbWriter) {
				w.WriteByte(9)
				w.request(nil, "never", 1000, 1100, true, "")
			}),
			mode:    TransactionsOnly,
			users:   []float64{1, 2, 1},
			samples: []sampleKey{{run, "checkout,pay", "", false, 800 * ms, 0, 0, start + 900}},
			errs:    []wantErr{{10, ReasonSyntax}},
		},
		{
			name: "a bad cache reference",
			in: build(func(w *gbWriter) {
				w.WriteByte(4)
				w.i32(-99)
				w.i32(0)
			}),
			mode:    TransactionsOnly,
			users:   []float64{1, 2, 1},
			samples: []sampleKey{{run, "checkout,pay", "", false, 800 * ms, 0, 0, start + 900}},
			errs:    []wantErr{{10, ReasonSyntax}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var c collect
			f, err := Parse(bytes.NewReader(tc.in), Options{File: "f", Transactions: tc.mode}, &c)
			if err != nil || f != FormatGatlingBinary {
				t.Fatalf("format %q, err %v", f, err)
			}
			got := keys(c.samples)
			if len(got) != len(tc.samples) {
				t.Fatalf("samples\n got %+v\nwant %+v", got, tc.samples)
			}
			for i := range got {
				if got[i] != tc.samples[i] {
					t.Errorf("sample %d\n got %+v\nwant %+v", i, got[i], tc.samples[i])
				}
			}
			if len(c.users) != len(tc.users) {
				t.Errorf("users %v, want %v", c.users, tc.users)
			}
			if len(c.errs) != len(tc.errs) {
				t.Fatalf("errors %+v, want %+v", c.errs, tc.errs)
			}
			for i, e := range c.errs {
				if e.Line != tc.errs[i].line || e.Reason != tc.errs[i].reason {
					t.Errorf("error %+v, want %+v", e, tc.errs[i])
				}
			}
		})
	}
}

// An earlier binary layout (plain UTF-8 strings, no coder byte) must be
// rejected, not misread.
func TestGatlingBinaryOtherLayout(t *testing.T) {
	var w bytes.Buffer
	w.WriteByte(0)
	for _, s := range []string{"3.12.0", "com.example.ShopSimulation"} {
		_ = binary.Write(&w, binary.BigEndian, int32(len(s)))
		w.WriteString(s)
	}
	_ = binary.Write(&w, binary.BigEndian, int64(1756674723930))
	w.Write(make([]byte, 64))
	var c collect
	_, err := Parse(bytes.NewReader(w.Bytes()), Options{File: "f"}, &c)
	if !IsUnsupported(err) || !strings.Contains(err.Error(), "Gatling 3.12.0 binary simulation.log in this layout is not supported") {
		t.Fatalf("err %v", err)
	}
}
