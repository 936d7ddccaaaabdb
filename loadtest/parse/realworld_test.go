package parse

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Reference computations: deliberately simple, built on the standard
// library, and independent of the parsers under test.

type refTotals struct {
	totals
	badRows int
}

// refJMeterCSV counts rows with encoding/csv. Rows whose field count differs
// from the header's are bad; transaction rows are recognised by message.
func refJMeterCSV(t *testing.T, data []byte, mode TransactionMode) refTotals {
	r := csv.NewReader(bytes.NewReader(data))
	first := data[:bytes.IndexByte(data, '\n')]
	if strings.Count(string(first), "\t") > strings.Count(string(first), ",") {
		r.Comma = '\t'
	}
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatalf("reference csv: %v", err)
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	var out refTotals
	for _, rec := range recs[1:] {
		if len(rec) != len(recs[0]) {
			out.badRows++
			continue
		}
		txn := false
		if i, ok := col["responseMessage"]; ok {
			txn = strings.HasPrefix(rec[i], "Number of samples in transaction")
		}
		if !mode.keep(txn) {
			continue
		}
		ms, err := strconv.Atoi(rec[col["elapsed"]])
		if err != nil {
			t.Fatalf("reference: elapsed %q", rec[col["elapsed"]])
		}
		out.requests++
		out.elapsed += time.Duration(ms) * time.Millisecond
		if rec[col["success"]] == "false" {
			out.failures++
		}
	}
	return out
}

func refJMeterXML(t *testing.T, data []byte) refTotals {
	var doc struct {
		Samples []struct {
			T          int    `xml:"t,attr"`
			S          string `xml:"s,attr"`
			Assertions []struct {
				Failure bool `xml:"failure"`
				Error   bool `xml:"error"`
			} `xml:"assertionResult"`
		} `xml:",any"`
	}
	if err := xml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("reference xml: %v", err)
	}
	var out refTotals
	for _, s := range doc.Samples {
		out.requests++
		out.elapsed += time.Duration(s.T) * time.Millisecond
		failed := s.S == "false"
		for _, a := range s.Assertions {
			failed = failed || a.Failure || a.Error
		}
		if failed {
			out.failures++
		}
	}
	return out
}

// refGatling uses the version in the RUN record to pick the layout: Gatling
// 3.0-3.2 wrote a userId after REQUEST.
func refGatling(t *testing.T, data []byte) refTotals {
	withUser := false
	var out refTotals
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Split(line, "\t")
		switch f[0] {
		case "RUN":
			v := f[len(f)-1]
			withUser = strings.HasPrefix(v, "3.0") || strings.HasPrefix(v, "3.1.") || strings.HasPrefix(v, "3.2")
		case "REQUEST":
			off := 0
			if withUser {
				off = 1
			}
			start, err1 := strconv.ParseInt(f[3+off], 10, 64)
			end, err2 := strconv.ParseInt(f[4+off], 10, 64)
			if err1 != nil || err2 != nil {
				t.Fatalf("reference gatling: %q", line)
			}
			out.requests++
			out.elapsed += time.Duration(end-start) * time.Millisecond
			if f[5+off] == "KO" {
				out.failures++
			}
		}
	}
	return out
}

// refGatlingBinary walks the Gatling >=3.13 binary layout with
// encoding/binary.Read, counting REQUEST records (type 1).
func refGatlingBinary(t *testing.T, data []byte) refTotals {
	r := bytes.NewReader(data)
	var n32 int32
	var n64 int64
	var b byte
	rd := func(v any) {
		if err := binary.Read(r, binary.BigEndian, v); err != nil {
			t.Fatalf("reference binary: %v at %d", err, len(data)-r.Len())
		}
	}
	str := func() {
		rd(&n32)
		if n32 > 0 {
			_, _ = r.Seek(int64(n32)+1, io.SeekCurrent) // bytes and coder
		}
	}
	cached := func() {
		rd(&n32)
		if n32 > 0 {
			str()
		}
	}
	rd(&b) // run
	str()
	str()
	rd(&n64)
	str()
	rd(&n32)
	for range n32 {
		str()
	}
	var assertions int32
	rd(&assertions)
	for range assertions {
		str()
	}
	var out refTotals
	for r.Len() > 0 {
		rd(&b)
		switch b {
		case 1, 3:
			var groups int32
			rd(&groups)
			for range groups {
				cached()
			}
			if b == 1 {
				cached()
			}
			var start, end int32
			rd(&start)
			rd(&end)
			if b == 3 {
				rd(&n32)
			}
			var ok byte
			rd(&ok)
			if b == 1 {
				cached()
				out.requests++
				out.elapsed += time.Duration(end-start) * time.Millisecond
				if ok == 0 {
					out.failures++
				}
			}
		case 2:
			rd(&n32)
			rd(&b)
			rd(&n32)
		case 4:
			cached()
			rd(&n32)
		default:
			t.Fatalf("reference binary: record type %d", b)
		}
	}
	return out
}

func refK6JSON(t *testing.T, data []byte) refTotals {
	var out refTotals
	for _, line := range strings.Split(string(data), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		var v map[string]any
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			out.badRows++
			continue
		}
		if v["type"] != "Point" || v["metric"] != "http_req_duration" {
			continue
		}
		d := v["data"].(map[string]any)
		out.requests++
		out.elapsed += time.Duration(d["value"].(float64) * float64(time.Millisecond))
		if tags, ok := d["tags"].(map[string]any); ok && tags["expected_response"] == "false" {
			out.failures++
		}
	}
	return out
}

func refK6CSV(t *testing.T, data []byte) refTotals {
	recs, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	if err != nil {
		t.Fatalf("reference k6 csv: %v", err)
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	var out refTotals
	for _, rec := range recs[1:] {
		if rec[0] != "http_req_duration" {
			continue
		}
		v, err := strconv.ParseFloat(rec[2], 64)
		if err != nil {
			t.Fatal(err)
		}
		out.requests++
		out.elapsed += time.Duration(v * float64(time.Millisecond))
		if rec[col["expected_response"]] == "false" {
			out.failures++
		}
	}
	return out
}

// TestRealWorldFiles parses every file in testdata/realworld/{jmeter-jtl,
// gatling,k6}. A file the table does not know fails the test, so new
// samples cannot be skipped by accident.
func TestRealWorldFiles(t *testing.T) {
	type ref func(*testing.T, []byte) refTotals
	jcsv := func(t *testing.T, b []byte) refTotals { return refJMeterCSV(t, b, TransactionsExclude) }
	cases := map[string]struct {
		format     Format
		ref        ref
		reject     string // substring of the UnsupportedError
		minSamples int    // guards against a reference and a parser that both see nothing
	}{
		"jmeter-jtl/tailspin-results.jtl":                  {format: FormatJMeterCSV, ref: jcsv, minSamples: 300},
		"jmeter-jtl/defra-formatted-date-failures.jtl":     {format: FormatJMeterCSV, ref: jcsv, minSamples: 500},
		"jmeter-jtl/perfplugin-multiline-quoted-label.jtl": {format: FormatJMeterCSV, ref: jcsv, minSamples: 2},
		"jmeter-jtl/perfplugin-formatted-timestamp.csv":    {format: FormatJMeterCSV, ref: jcsv, minSamples: 3},
		"jmeter-jtl/perfplugin-nonhttp-error.csv":          {format: FormatJMeterCSV, ref: jcsv, minSamples: 1},
		"jmeter-jtl/taurus-doublequoting-hostname.jtl":     {format: FormatJMeterCSV, ref: jcsv, minSamples: 2},
		"jmeter-jtl/taurus-tabs.jtl":                       {format: FormatJMeterCSV, ref: jcsv, minSamples: 4},
		"jmeter-jtl/taurus-tranctl.jtl":                    {format: FormatJMeterCSV, ref: jcsv},
		"jmeter-jtl/taurus-quoted-extra-columns.jtl":       {format: FormatJMeterCSV, ref: jcsv, minSamples: 10},
		"jmeter-jtl/taurus-xml-assertion-failures.jtl":     {format: FormatJMeterXML, ref: refJMeterXML, minSamples: 1},
		"jmeter-jtl/perfaction-xml-sample-vars.jtl":        {format: FormatJMeterXML, ref: refJMeterXML, minSamples: 10},
		"gatling/andreylysov-3.1.2-ko-simulation.log":      {format: FormatGatling, ref: refGatling, minSamples: 40},
		"gatling/kibana-3.4.2-simulation.log":              {format: FormatGatling, ref: refGatling, minSamples: 700},
		"gatling/abhic43-3.6.1-errors-simulation.log":      {format: FormatGatling, ref: refGatling, minSamples: 200},
		"gatling/xperf-3.9.0-assertion-ko-simulation.log":  {format: FormatGatling, ref: refGatling, minSamples: 5000},
		"gatling/taurus-3.14.3-binary-simulation.log":      {format: FormatGatlingBinary, ref: refGatlingBinary, minSamples: 25},
		"k6/redis-operator-out.ndjson":                     {format: FormatK6JSON, ref: refK6JSON, minSamples: 8},
		"k6/spark-out-legacy.ndjson":                       {format: FormatK6JSON, ref: refK6JSON, minSamples: 100},
		"k6/taurus-k6-out.csv":                             {format: FormatK6CSV, ref: refK6CSV, minSamples: 4},
		"k6/high-vol-ticketing-summary-export.json":        {reject: "--out json"},
		"k6/k6perf-handlesummary.json":                     {reject: "--out json"},
	}
	seen := 0
	for _, dir := range []string{"jmeter-jtl", "gatling", "k6"} {
		entries, err := os.ReadDir(realworld(t, dir))
		if err != nil {
			t.Fatalf("real-world samples: %v", err)
		}
		for _, e := range entries {
			name := dir + "/" + e.Name()
			tc, ok := cases[name]
			if !ok {
				t.Errorf("%s: no expectation for this real-world file; add one", name)
				continue
			}
			seen++
			t.Run(name, func(t *testing.T) {
				data, err := os.ReadFile(filepath.Join(realworld(t, dir), e.Name()))
				if err != nil {
					t.Fatal(err)
				}
				inputs := map[string][]byte{"plain": data}
				if tc.format == FormatK6JSON || tc.format == FormatJMeterCSV {
					var gz bytes.Buffer
					zw := gzip.NewWriter(&gz)
					_, _ = zw.Write(data)
					_ = zw.Close()
					inputs["gzip"] = gz.Bytes()
				}
				for kind, in := range inputs {
					var c collect
					f, err := Parse(bytes.NewReader(in), Options{File: name, DefaultRun: "r"}, &c)
					if tc.reject != "" {
						if !IsUnsupported(err) || !strings.Contains(err.Error(), tc.reject) {
							t.Fatalf("%s: want rejection mentioning %q, got format %q, err %v", kind, tc.reject, f, err)
						}
						if len(c.samples) != 0 {
							t.Errorf("%s: rejected file produced %d samples", kind, len(c.samples))
						}
						continue
					}
					if err != nil {
						t.Fatalf("%s: %v", kind, err)
					}
					if f != tc.format {
						t.Errorf("%s: detected %q, want %q", kind, f, tc.format)
					}
					want := tc.ref(t, data)
					got := c.totals()
					if got.requests != want.requests || got.failures != want.failures {
						t.Errorf("%s: requests/failures = %d/%d, reference %d/%d", kind, got.requests, got.failures, want.requests, want.failures)
					}
					// k6 durations are float milliseconds: allow a nanosecond of rounding per sample.
					if d := got.elapsed - want.elapsed; d > time.Duration(want.requests) || -d > time.Duration(want.requests) {
						t.Errorf("%s: sum of elapsed = %v, reference %v", kind, got.elapsed, want.elapsed)
					}
					if len(c.errs) != want.badRows {
						t.Errorf("%s: %d parse errors, reference counts %d bad rows: %v", kind, len(c.errs), want.badRows, c.errs)
					}
					t.Logf("%s: %d requests, %d failures, elapsed %v, %d errors, users %d", kind, got.requests, got.failures, got.elapsed, len(c.errs), len(c.users))
					if got.requests < tc.minSamples {
						t.Errorf("%s: %d samples, want at least %d", kind, got.requests, tc.minSamples)
					}
					for _, e := range c.errs {
						if e.Line <= 0 || e.Reason == "" || e.File != name {
							t.Errorf("%s: error without file, line or reason: %+v", kind, e)
						}
					}
				}
			})
		}
	}
	if seen != len(cases) {
		t.Errorf("saw %d real-world files, the table has %d", seen, len(cases))
	}
}
