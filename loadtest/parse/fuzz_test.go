package parse

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var reasons = map[string]bool{ReasonFieldCount: true, ReasonTimestamp: true, ReasonNumber: true, ReasonValue: true,
	ReasonSyntax: true, ReasonRecord: true, ReasonTooLong: true}

// seed adds the real-world files of a kind and our fixtures to the corpus.
func seed(f *testing.F, globs ...string) {
	for _, g := range globs {
		paths, _ := filepath.Glob(g)
		for _, p := range paths {
			b, err := os.ReadFile(p)
			if err != nil {
				f.Fatal(err)
			}
			if len(b) > 4<<10 {
				b = b[:4<<10] // small inputs fuzz faster; the cut is a test in itself
			}
			f.Add(b)
		}
	}
}

// fuzzParse runs one parser over data whole and one byte at a time and
// checks what must hold for any input: no panic, the same result either
// way, errors with a known reason and a line inside the input.
func fuzzParse(t *testing.T, data []byte, run func(*bufio.Reader, Options, Sink) error) {
	o := Options{File: "fuzz", DefaultRun: "r", MaxRecordBytes: 4096}
	var whole, slow collect
	err1 := run(bufio.NewReaderSize(bytes.NewReader(data), 16), o, &whole)
	err2 := run(bufio.NewReaderSize(oneByte{strings.NewReader(string(data))}, 16), o, &slow)
	if (err1 == nil) != (err2 == nil) || len(whole.samples) != len(slow.samples) || len(whole.errs) != len(slow.errs) || whole.totals() != slow.totals() {
		t.Fatalf("whole and byte-at-a-time reads differ: %v/%v, %d/%d samples, %d/%d errors", err1, err2, len(whole.samples), len(slow.samples), len(whole.errs), len(slow.errs))
	}
	lines := bytes.Count(data, []byte{'\n'}) + 1
	for _, e := range whole.errs {
		if !reasons[e.Reason] || e.Line < 1 || e.Line > lines || e.Msg == "" {
			t.Fatalf("bad error %+v (input has %d lines)", e, lines)
		}
	}
	for _, s := range whole.samples {
		if s.Elapsed < 0 || s.BytesReceived < 0 || s.BytesSent < 0 || s.Run == "" {
			t.Fatalf("bad sample %+v", s)
		}
	}
}

func FuzzJMeterCSV(f *testing.F) {
	seed(f, realworld(f, "jmeter-jtl/*.jtl"), realworld(f, "jmeter-jtl/*.csv"), testdata(f, "*.jtl"))
	f.Add([]byte("label,elapsed\n\"a\"\"b\nc\",1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzParse(t, data, func(br *bufio.Reader, o Options, s Sink) error {
			line, _ := peekLine(br)
			return parseJMeterCSV(br, o, s, line)
		})
	})
}

func FuzzJMeterXML(f *testing.F) {
	seed(f, realworld(f, "jmeter-jtl/*xml*"), testdata(f, "*.xml"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzParse(t, data, parseJMeterXML)
	})
}

func FuzzGatling(f *testing.F) {
	seed(f, realworld(f, "gatling/*.log"), testdata(f, "gatling*.log"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzParse(t, data, parseGatling)
	})
}

func FuzzK6JSON(f *testing.F) {
	seed(f, realworld(f, "k6/*.ndjson"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzParse(t, data, parseK6JSON)
	})
}

func FuzzK6CSV(f *testing.F) {
	seed(f, realworld(f, "k6/*.csv"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzParse(t, data, func(br *bufio.Reader, o Options, s Sink) error {
			err := parseK6CSV(br, o, s)
			if IsUnsupported(err) {
				return nil // a mutated header; rejection is the right answer
			}
			return err
		})
	})
}

// FuzzDetect feeds anything to Parse: detection must never panic, and a
// rejection must name the file.
func FuzzDetect(f *testing.F) {
	seed(f, realworld(f, "*/*"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var c collect
		_, err := Parse(bytes.NewReader(data), Options{File: "fuzz", DefaultRun: "r", MaxRecordBytes: 4096}, &c)
		if err != nil && IsUnsupported(err) && !strings.HasPrefix(err.Error(), "fuzz: ") {
			t.Fatalf("rejection does not name the file: %v", err)
		}
	})
}

// FuzzK6Line checks the single-pass k6 line scanner against encoding/json:
// it accepts only valid JSON, and what it extracts is what encoding/json
// decodes.
func FuzzK6Line(f *testing.F) {
	for _, p := range []string{realworld(f, "k6/redis-operator-out.ndjson"), realworld(f, "k6/spark-out-legacy.ndjson")} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		for i, line := range bytes.Split(b, []byte{'\n'}) {
			if i < 40 {
				f.Add(line)
			}
		}
	}
	f.Add([]byte(`{"type":"Point","metric":"vus","data":{"value":1e999}}`))
	f.Add([]byte(`{"type":"Po\u0069nt","data":{"tags":{"name":"a\"b","status":200}},"metric":"http_req_duration"}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		var sc k6Scan
		ok := sc.scan(line)
		if ok && !json.Valid(line) {
			t.Fatalf("scanner accepted invalid JSON %q", line)
		}
		var v struct {
			Type   string `json:"type"`
			Metric string `json:"metric"`
			Data   struct {
				Time  string            `json:"time"`
				Value *float64          `json:"value"`
				Tags  map[string]string `json:"tags"`
			} `json:"data"`
		}
		if err := json.Unmarshal(line, &v); err != nil {
			return // other types than k6 writes: the scanner may accept or not
		}
		if !ok {
			t.Fatalf("scanner rejected %q, which encoding/json decodes", line)
		}
		hasV := v.Data.Value != nil
		if string(sc.typ) != v.Type || string(sc.metric) != v.Metric || string(sc.time) != v.Data.Time || sc.hasValue != hasV ||
			(hasV && sc.value != *v.Data.Value) || string(sc.name) != v.Data.Tags["name"] || string(sc.url) != v.Data.Tags["url"] ||
			string(sc.status) != v.Data.Tags["status"] || string(sc.expect) != v.Data.Tags["expected_response"] {
			t.Fatalf("scanner and encoding/json differ on %q:\nscan %+v\njson %+v", line, sc, v)
		}
	})
}

func FuzzGatlingBinary(f *testing.F) {
	seed(f, realworld(f, "gatling/*binary*"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var whole, slow collect
		o := Options{File: "fuzz", MaxRecordBytes: 4096}
		_, err1 := Parse(bytes.NewReader(data), o, &whole)
		_, err2 := Parse(oneByte{strings.NewReader(string(data))}, o, &slow)
		if (err1 == nil) != (err2 == nil) || whole.totals() != slow.totals() || len(whole.errs) != len(slow.errs) {
			t.Fatalf("whole and byte-at-a-time reads differ: %v/%v %+v/%+v", err1, err2, whole.totals(), slow.totals())
		}
		for _, s := range whole.samples {
			if s.Elapsed < 0 || s.Run == "" {
				t.Fatalf("bad sample %+v", s)
			}
		}
	})
}
