package parse

import (
	"bytes"
	"compress/gzip"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kubepulse/kubepulse/loadtest"
)

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func gz(s string) string {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	_, _ = w.Write([]byte(s))
	_ = w.Close()
	return b.String()
}

// sampleKey is what a test compares per sample.
type sampleKey struct {
	Run, Label, Code string
	Success          bool
	Elapsed          time.Duration
	Recv, Sent       int64
	Time             int64 // Unix ms; 0 when the sample had no time
}

func keys(ss []loadtest.Sample) []sampleKey {
	out := make([]sampleKey, len(ss))
	for i, s := range ss {
		var ms int64
		if !s.Time.IsZero() {
			ms = s.Time.UnixMilli()
		}
		out[i] = sampleKey{s.Run, s.Label, s.Code, s.Success, s.Elapsed, s.BytesReceived, s.BytesSent, ms}
	}
	return out
}

type wantErr struct {
	line   int
	reason string
}

func TestParse(t *testing.T) {
	ms := time.Millisecond
	utc := time.UTC
	const hdr = "timeStamp,elapsed,label,responseCode,responseMessage,success,bytes,allThreads\n"
	cases := []struct {
		name    string
		in      string
		opts    Options
		format  Format
		samples []sampleKey
		users   []float64
		errs    []wantErr
	}{
		{
			name:   "JMeter 5 default 17-column header",
			in:     mustRead(t, testdata(t, "jmeter5-default.jtl")),
			format: FormatJMeterCSV,
			samples: []sampleKey{
				{"r", "GET /", "200", true, 120 * ms, 1534, 120, 1700000000120},
				{"r", "POST /order", "503", false, 2500 * ms, 88, 310, 1700000002550},
				{"r", "GET /", "", false, 0, 0, 0, 1700000000100},
			},
			users: []float64{4, 5, 6},
		},
		{
			name:   "columns in any order and subset, no success column: judged by code",
			in:     "label,elapsed,responseCode\nb,5,302\na,7,404\n",
			format: FormatJMeterCSV,
			samples: []sampleKey{
				{"r", "b", "302", true, 5 * ms, 0, 0, 0},
				{"r", "a", "404", false, 7 * ms, 0, 0, 0},
			},
		},
		{
			name:    "tab delimiter, CRLF endings, quoted header names and sample variables",
			in:      "\"timeStamp\"\t\"elapsed\"\t\"label\"\t\"success\"\t\"myVar\"\r\n1700000000000\t10\tx,y\ttrue\t\"a\tb\"\r\n",
			format:  FormatJMeterCSV,
			samples: []sampleKey{{"r", "x,y", "", true, 10 * ms, 0, 0, 1700000000010}},
		},
		{
			name:   "elapsed beyond 100 days is corrupt (and would overflow a Duration)",
			in:     "label,elapsed\na,10000000000000\nb,8640000000\n",
			format: FormatJMeterCSV,
			samples: []sampleKey{
				{"r", "b", "", false, 8640000000 * ms, 0, 0, 0},
			},
			errs: []wantErr{{2, ReasonNumber}},
		},
		{
			name:    "semicolon delimiter (a locale's default_delimiter)",
			in:      "timeStamp;elapsed;label;success\n1700000000000;10;a,b;false\n",
			format:  FormatJMeterCSV,
			samples: []sampleKey{{"r", "a,b", "", false, 10 * ms, 0, 0, 1700000000010}},
		},
		{
			name: "quoted newlines and doubled quotes; errors keep the right line numbers",
			in: hdr + "1700000000000,1,\"multi\nline \"\"label\"\"\",200,OK,true,1,1\n" +
				"1700000000000,x,a,200,OK,true,1,1\n" + // line 4
				"1700000000000,1,a,200,OK,maybe,1,1\n" + // line 5
				"1700000000000,1,a,200,OK,true,1\n" + // line 6
				"1700000000000,1,a,200,OK,true,lots,1\n" + // line 7
				"yesterday,1,a,200,OK,true,1,1\n" + // line 8
				"1700000000000,2,b,200,OK,true,1,2\n",
			format:  FormatJMeterCSV,
			samples: []sampleKey{{"r", "multi\nline \"label\"", "200", true, ms, 1, 0, 1700000000001}, {"r", "b", "200", true, 2 * ms, 1, 0, 1700000000002}},
			users:   []float64{1, 2},
			errs:    []wantErr{{4, ReasonNumber}, {5, ReasonValue}, {6, ReasonFieldCount}, {7, ReasonNumber}, {8, ReasonTimestamp}},
		},
		{
			name:   "unterminated quote at the end of the file",
			in:     hdr + "1700000000000,1,a,200,OK,true,1,1\n1700000000000,1,\"a,200,OK,true,1,1\n",
			format: FormatJMeterCSV,
			samples: []sampleKey{
				{"r", "a", "200", true, ms, 1, 0, 1700000000001},
			},
			users: []float64{1},
			errs:  []wantErr{{3, ReasonSyntax}},
		},
		{
			name:    "a line over MaxRecordBytes is skipped, the next row reads",
			in:      hdr + "1700000000000,1," + strings.Repeat("z", 300) + ",200,OK,true,1,1\n1700000000000,1,a,200,OK,true,1,1\n",
			opts:    Options{MaxRecordBytes: 100},
			format:  FormatJMeterCSV,
			samples: []sampleKey{{"r", "a", "200", true, ms, 1, 0, 1700000000001}},
			users:   []float64{1},
			errs:    []wantErr{{2, ReasonTooLong}},
		},
		{
			name:   "formatted timestamps in the given zone",
			in:     "timeStamp,elapsed,label\n2019/12/05 12:37:24,100,a\n2014-02-24 07:42:21.256,1,b\n2024-01-02T03:04:05.000+0100,1,c\n",
			opts:   Options{Location: utc},
			format: FormatJMeterCSV,
			samples: []sampleKey{
				{"r", "a", "", false, 100 * ms, 0, 0, time.Date(2019, 12, 5, 12, 37, 24, 0, utc).UnixMilli() + 100},
				{"r", "b", "", false, ms, 0, 0, time.Date(2014, 2, 24, 7, 42, 21, 256e6, utc).UnixMilli() + 1},
				{"r", "c", "", false, ms, 0, 0, time.Date(2024, 1, 2, 2, 4, 5, 0, utc).UnixMilli() + 1},
			},
		},
		{
			name: "transactions excluded by default (message), label regex adds more",
			in: "elapsed,label,responseCode,responseMessage,success\n" +
				"10,Login TX,,\"Number of samples in transaction : 2, number of failing samples : 0\",true\n" +
				"4,GET /login,200,OK,true\n5,Flow,200,OK,true\n",
			opts:    Options{TransactionLabel: regexp.MustCompile(`^Flow$`)},
			format:  FormatJMeterCSV,
			samples: []sampleKey{{"r", "GET /login", "200", true, 4 * ms, 0, 0, 0}},
		},
		{
			name: "transactions only",
			in: "elapsed,label,responseCode,responseMessage,success\n" +
				"10,Login TX,,\"Number of samples in transaction : 2, number of failing samples : 1\",false\n4,GET /login,200,OK,true\n",
			opts:    Options{Transactions: TransactionsOnly},
			format:  FormatJMeterCSV,
			samples: []sampleKey{{"r", "Login TX", "", false, 10 * ms, 0, 0, 0}},
		},
		{
			name: "transactions included",
			in: "elapsed,label,responseCode,responseMessage,success\n" +
				"10,Login TX,,\"Number of samples in transaction : 2, number of failing samples : 1\",false\n4,GET /login,200,OK,true\n",
			opts:    Options{Transactions: TransactionsInclude},
			format:  FormatJMeterCSV,
			samples: []sampleKey{{"r", "Login TX", "", false, 10 * ms, 0, 0, 0}, {"r", "GET /login", "200", true, 4 * ms, 0, 0, 0}},
		},
		{
			name:    "UTF-8 byte order mark and gzip",
			in:      gz("\xEF\xBB\xBFlabel,elapsed\nz,3\n"),
			format:  FormatJMeterCSV,
			samples: []sampleKey{{"r", "z", "", false, 3 * ms, 0, 0, 0}},
		},
		{
			name:   "XML: transaction children, sub-results stay with their parent, assertion failure",
			in:     mustRead(t, testdata(t, "jmeter-nested-transactions.xml")),
			format: FormatJMeterXML,
			samples: []sampleKey{
				{"r", "GET /cart", "200", true, 400 * ms, 100, 20, 1700000000400},
				{"r", "POST /pay", "200", false, 500 * ms, 200, 20, 1700000000900},
				{"r", "GET /health", "200", true, 30 * ms, 2, 50, 1700000001030},
			},
			users: []float64{2, 1},
		},
		{
			name:   "XML transactions only",
			in:     mustRead(t, testdata(t, "jmeter-nested-transactions.xml")),
			opts:   Options{Transactions: TransactionsOnly},
			format: FormatJMeterXML,
			samples: []sampleKey{
				{"r", "Checkout", "200", false, 900 * ms, 300, 40, 1700000000900},
			},
			users: []float64{2, 1},
		},
		{
			name: "XML: bad attribute skipped with its line; cut off between samples is fine",
			in: "<?xml version=\"1.0\"?>\n<testResults version=\"1.2\">\n<httpSample t=\"x\" ts=\"1\" s=\"true\" lb=\"a\" rc=\"200\"/>\n" +
				"<httpSample t=\"5\" ts=\"1700000000000\" s=\"true\" lb=\"b\" rc=\"200\"/>\n",
			format:  FormatJMeterXML,
			samples: []sampleKey{{"r", "b", "200", true, 5 * ms, 0, 0, 1700000000005}},
			errs:    []wantErr{{3, ReasonNumber}},
		},
		{
			name:   "XML cut off inside a sample, and broken XML",
			in:     "<testResults>\n<httpSample t=\"5\" ts=\"1700000000000\" s=\"true\" lb=\"b\" rc=\"200\">\n<responseData>abc",
			format: FormatJMeterXML,
			errs:   []wantErr{{3, ReasonSyntax}},
		},
		{
			name:   "Gatling 3.0-3.2 layout with userId, groups excluded, users count down",
			in:     mustRead(t, testdata(t, "gatling-3.2-userid-groups.log")),
			format: FormatGatling,
			samples: []sampleKey{
				{"demo-20190624121506180", "cart", "", true, 200 * ms, 0, 0, 1561378507300},
				{"demo-20190624121506180", "pay", "", false, 500 * ms, 0, 0, 1561378507800},
			},
			users: []float64{1, 2, 1},
		},
		{
			name:   "Gatling groups only, run label forced",
			in:     mustRead(t, testdata(t, "gatling-3.2-userid-groups.log")),
			opts:   Options{Run: "forced", Transactions: TransactionsOnly},
			format: FormatGatling,
			samples: []sampleKey{
				{"forced", "checkout", "", false, 700 * ms, 0, 0, 1561378507800},
			},
			users: []float64{1, 2, 1},
		},
		{
			name: "Gatling 3.3+ layout and bad records",
			in: "RUN\tx.Sim\tsim\t1000\t \t3.9.0\nUSER\tscn\tSTART\t1500\nREQUEST\t\tget\t2000\t2100\tOK\t \n" +
				"BOGUS\t1\n" + "REQUEST\t\tget\tx\t2100\tOK\t \n" + "REQUEST\t\tget\t2000\t2100\tMAYBE\n" + "USER\tscn\tHALF\t1\n" +
				"REQUEST\t\tget\t3000\t2000\tOK\t \n" + "GROUP\tg\t1\t2\t1\tKO\nERROR\tsomething\t1\n",
			format:  FormatGatling,
			samples: []sampleKey{{"sim-19700101000001000", "get", "", true, 100 * ms, 0, 0, 2100}},
			users:   []float64{1},
			errs:    []wantErr{{4, ReasonRecord}, {5, ReasonNumber}, {6, ReasonValue}, {7, ReasonValue}, {8, ReasonNumber}},
		},
		{
			name: "k6 NDJSON: new and old key orders, tags null, no expected_response, bad lines",
			in: `{"type":"Metric","data":{"name":"http_req_duration","type":"trend"},"metric":"http_req_duration"}` + "\n" +
				`{"metric":"http_req_duration","type":"Point","data":{"time":"2024-09-09T15:07:59.5-04:00","value":12.5,"tags":{"expected_response":"false","name":"login","status":"502"}}}` + "\n" +
				`{"type":"Point","data":{"time":"2022-01-07T17:03:35Z","value":1,"tags":{"url":"http://127.0.0.1/x","status":"200"}},"metric":"http_req_duration"}` + "\n" +
				`{"type":"Point","data":{"time":"2022-01-07T17:03:36Z","value":3,"tags":null},"metric":"vus"}` + "\n" +
				`{"type":"Point","data":{"time":"2022-01-07T17:03:36Z","value":100,"tags":{}},"metric":"data_received"}` + "\n" +
				`{"type":"Point","data":{"time":"2022-01-07T17:03:36Z","value":1,"tags":{}},"metric":"http_reqs"}` + "\n" +
				`{"type":"Point","data":{"time":"2022-01-07T17:03` + "\n" + // cut line: invalid JSON
				`{"type":"Point","data":{"time":"yesterday","value":1},"metric":"http_req_duration"}` + "\n" +
				`{"type":"Point","data":{"time":"2022-01-07T17:03:36Z"},"metric":"vus"}` + "\n",
			format: FormatK6JSON,
			samples: []sampleKey{
				{"r", "login", "502", false, 12500 * time.Microsecond, 0, 0, time.Date(2024, 9, 9, 19, 7, 59, 5e8, utc).UnixMilli()},
				{"r", "http://127.0.0.1/x", "200", true, ms, 0, 0, time.Date(2022, 1, 7, 17, 3, 35, 0, utc).UnixMilli()},
			},
			users: []float64{3},
			errs:  []wantErr{{7, ReasonSyntax}, {8, ReasonTimestamp}, {9, ReasonValue}},
		},
		{
			name:   "k6 CSV with millisecond timestamps",
			in:     "metric_name,timestamp,metric_value,expected_response,name,status,url\nhttp_req_duration,1633706790123,2.5,true,a,200,u\nvus,1633706790,4,,,,\nhttp_req_duration,1633706790123,oops,true,a,200,u\n",
			format: FormatK6CSV,
			samples: []sampleKey{
				{"r", "a", "200", true, 2500 * time.Microsecond, 0, 0, 1633706790123},
			},
			users: []float64{4},
			errs:  []wantErr{{4, ReasonNumber}},
		},
		{
			name:   "empty input",
			in:     "",
			format: FormatUnknown,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var c collect
			o := tc.opts
			o.File, o.DefaultRun = "f", "r"
			f, err := Parse(strings.NewReader(tc.in), o, &c)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if f != tc.format {
				t.Errorf("format %q, want %q", f, tc.format)
			}
			got := keys(c.samples)
			if len(got) != len(tc.samples) {
				t.Fatalf("got %d samples, want %d:\n got %+v\nwant %+v", len(got), len(tc.samples), got, tc.samples)
			}
			for i := range got {
				if got[i] != tc.samples[i] {
					t.Errorf("sample %d:\n got %+v\nwant %+v", i, got[i], tc.samples[i])
				}
			}
			if len(c.users) != len(tc.users) {
				t.Errorf("users %v, want %v", c.users, tc.users)
			} else {
				for i := range c.users {
					if c.users[i] != tc.users[i] {
						t.Errorf("users %v, want %v", c.users, tc.users)
						break
					}
				}
			}
			if len(c.errs) != len(tc.errs) {
				t.Fatalf("errors %+v, want %+v", c.errs, tc.errs)
			}
			for i, e := range c.errs {
				if e.Line != tc.errs[i].line || e.Reason != tc.errs[i].reason || e.File != "f" || e.Msg == "" {
					t.Errorf("error %d: %+v, want line %d reason %s", i, e, tc.errs[i].line, tc.errs[i].reason)
				}
			}
		})
	}
}

func TestRejected(t *testing.T) {
	cases := []struct {
		name, in, want string
	}{
		{"other binary", "\x00\x01\x02\x03\x04\x05\x06", "binary file"},
		{"k6 summary", "{\n  \"metrics\": {}\n}\n", "--out json"},
		{"one-line JSON that is not k6", `{"a":1}` + "\n", "--out json"},
		{"headerless JMeter CSV", "1700000000000,1,a,200\n", "print_field_names"},
		{"JMeter CSV without elapsed", "timeStamp,label\n1,a\n", "elapsed"},
		{"other XML", "<html></html>\n", "JMeter"},
		{"k6 CSV with a wrong header", "metric_name,when,value\nx,1,2\n", "metric_name,timestamp,metric_value"},
		{"text", "hello world\n", "not JMeter"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var c collect
			_, err := Parse(strings.NewReader(tc.in), Options{File: "f"}, &c)
			if !IsUnsupported(err) || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "f: ") {
				t.Fatalf("err %v, want an UnsupportedError naming the file and mentioning %q", err, tc.want)
			}
			if len(c.samples) != 0 {
				t.Errorf("rejected input gave %d samples", len(c.samples))
			}
		})
	}
}

func TestParseTransactionMode(t *testing.T) {
	for in, want := range map[string]TransactionMode{"exclude": TransactionsExclude, "": TransactionsExclude, "INCLUDE": TransactionsInclude, "only": TransactionsOnly} {
		got, err := ParseTransactionMode(in)
		if err != nil || got != want {
			t.Errorf("%q: %v %v, want %v", in, got, err, want)
		}
		if in != "" && !strings.EqualFold(got.String(), in) {
			t.Errorf("%v.String() = %q", got, got.String())
		}
	}
	if _, err := ParseTransactionMode("sometimes"); err == nil {
		t.Error("want an error for an unknown mode")
	}
}

// A reader that hands out one byte per Read, like a follower on a file
// written slowly, must give the same result as a whole buffer.
type oneByte struct{ r *strings.Reader }

func (o oneByte) Read(p []byte) (int, error) { return o.r.Read(p[:1]) }

func TestByteAtATime(t *testing.T) {
	for _, in := range []string{
		mustRead(t, testdata(t, "jmeter5-default.jtl")),
		mustRead(t, testdata(t, "jmeter-nested-transactions.xml")),
		mustRead(t, testdata(t, "gatling-3.2-userid-groups.log")),
	} {
		var whole, slow collect
		_, err1 := Parse(strings.NewReader(in), Options{}, &whole)
		_, err2 := Parse(oneByte{strings.NewReader(in)}, Options{}, &slow)
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		if len(whole.samples) == 0 || len(whole.samples) != len(slow.samples) || whole.totals() != slow.totals() {
			t.Errorf("whole %+v, byte at a time %+v", whole.totals(), slow.totals())
		}
	}
}

// TestJMeterRunColumn: the kubepulse_run column written by kubepulse loadtest
// labels each row, unless Options.Run overrides it; JMeter's "null" for an
// unset variable falls back to the default.
func TestJMeterRunColumn(t *testing.T) {
	in := "timeStamp,elapsed,label,success,\"kubepulse_run\"\n" +
		"1700000000000,5,a,true,loadtest-shop-20261204T0800\n" +
		"1700000000001,5,a,true,null\n" +
		"1700000000002,5,a,true,\n"
	cases := []struct {
		name string
		o    Options
		want []string
	}{
		{"from the column", Options{File: "results.jtl", DefaultRun: "results"}, []string{"loadtest-shop-20261204T0800", "results", "results"}},
		{"overridden", Options{File: "results.jtl", Run: "fixed", DefaultRun: "results"}, []string{"fixed", "fixed", "fixed"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got collect
			if _, err := Parse(strings.NewReader(in), c.o, &got); err != nil {
				t.Fatal(err)
			}
			var runs []string
			for _, s := range got.samples {
				runs = append(runs, s.Run)
			}
			if strings.Join(runs, " ") != strings.Join(c.want, " ") {
				t.Errorf("runs %v, want %v", runs, c.want)
			}
		})
	}
}
