package parse

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/kubepulse/kubepulse/loadtest"
)

// Benchmark inputs are generated, deterministic and realistic: the JMeter 5
// default 17 columns with a few labels, codes and some quoted messages; k6
// --out json as k6 writes it, with the 9 http_req_* Points of every request
// plus per-iteration and vus Points.

const (
	benchRows       = 100000
	benchK6Requests = 10000 // x 11-12 lines each
)

var (
	benchOnce          sync.Once
	benchJTL, benchK6J []byte
)

func benchData() ([]byte, []byte) {
	benchOnce.Do(func() {
		labels := []string{"GET /", "GET /api/items", "POST /api/order", "GET /static/app.js", "login"}
		var b bytes.Buffer
		b.WriteString("timeStamp,elapsed,label,responseCode,responseMessage,threadName,dataType,success,failureMessage,bytes,sentBytes,grpThreads,allThreads,URL,Latency,IdleTime,Connect\n")
		ts := int64(1700000000000)
		for i := 0; i < benchRows; i++ {
			l := labels[i%len(labels)]
			code, msg, ok, fail := "200", "OK", "true", ""
			if i%50 == 0 {
				code, msg, ok, fail = "503", `"Service Unavailable, retry"`, "false", `"upstream said ""no"""`
			}
			fmt.Fprintf(&b, "%d,%d,%s,%s,%s,Thread Group 1-%d,text,%s,%s,%d,%d,%d,%d,http://127.0.0.1:8080/%d,%d,0,%d\n",
				ts+int64(i), 5+i%700, l, code, msg, i%64, ok, fail, 1000+i%5000, 120+i%40, 64, 64, i%100, 3+i%600, i%3)
		}
		benchJTL = b.Bytes()

		var k bytes.Buffer
		tags := `{"expected_response":"true","group":"","method":"GET","name":"http://127.0.0.1:8080/api/items","proto":"HTTP/1.1","scenario":"default","status":"200","tls_version":"tls1.3","url":"http://127.0.0.1:8080/api/items"}`
		base := time.Date(2024, 9, 9, 15, 7, 58, 0, time.UTC)
		for _, m := range []string{"http_reqs", "http_req_duration", "http_req_blocked", "http_req_connecting", "http_req_tls_handshaking", "http_req_sending", "http_req_waiting", "http_req_receiving", "http_req_failed", "data_sent", "data_received", "iteration_duration", "iterations", "vus"} {
			fmt.Fprintf(&k, `{"type":"Metric","data":{"name":%q,"type":"trend","contains":"time","thresholds":[],"submetrics":null},"metric":%q}`+"\n", m, m)
		}
		for i := 0; i < benchK6Requests; i++ {
			t := base.Add(time.Duration(i) * time.Millisecond).Format(time.RFC3339Nano)
			for j, m := range []string{"http_reqs", "http_req_duration", "http_req_blocked", "http_req_connecting", "http_req_tls_handshaking", "http_req_sending", "http_req_waiting", "http_req_receiving", "http_req_failed"} {
				v := strconv.FormatFloat(float64(i%900)+0.123456*float64(j), 'f', -1, 64)
				fmt.Fprintf(&k, `{"metric":%q,"type":"Point","data":{"time":%q,"value":%s,"tags":%s}}`+"\n", m, t, v, tags)
			}
			fmt.Fprintf(&k, `{"metric":"data_sent","type":"Point","data":{"time":%q,"value":562,"tags":{"group":"","scenario":"default"}}}`+"\n", t)
			fmt.Fprintf(&k, `{"metric":"data_received","type":"Point","data":{"time":%q,"value":5471,"tags":{"group":"","scenario":"default"}}}`+"\n", t)
			if i%100 == 0 {
				fmt.Fprintf(&k, `{"metric":"vus","type":"Point","data":{"time":%q,"value":%d,"tags":{}}}`+"\n", t, i%64)
			}
		}
		benchK6J = k.Bytes()
		if dir := os.Getenv("KUBEPULSE_BENCH_DUMP"); dir != "" {
			// The benchmark script feeds the same bytes to command-line peers.
			_ = os.WriteFile(dir+"/bench.jtl", benchJTL, 0o644)
			_ = os.WriteFile(dir+"/bench.ndjson", benchK6J, 0o644)
		}
	})
	return benchJTL, benchK6J
}

// countSink counts; it is the cost floor of a consumer.
type countSink struct {
	n, errs int
	elapsed time.Duration
}

func (c *countSink) Sample(s *loadtest.Sample)                     { c.n++; c.elapsed += s.Elapsed }
func (c *countSink) Users(string, float64, time.Time)              {}
func (c *countSink) Bytes(string, string, int64, int64, time.Time) {}
func (c *countSink) Error(*Error)                                  { c.errs++ }

// observeSink is what the collector does with each sample.
type observeSink struct {
	countSink
	o *loadtest.Observer
}

func (s *observeSink) Sample(smp *loadtest.Sample) { s.n++; s.o.Observe(smp) }

// report adds rows (JMeter rows, k6 requests) and input lines per second.
func report(b *testing.B, rows int, data []byte) {
	sec := b.Elapsed().Seconds()
	b.ReportMetric(float64(rows)*float64(b.N)/sec, "rows/s")
	b.ReportMetric(float64(bytes.Count(data, []byte{'\n'}))*float64(b.N)/sec, "lines/s")
}

func BenchmarkJMeterCSV(b *testing.B) {
	jtl, _ := benchData()
	b.SetBytes(int64(len(jtl)))
	b.ResetTimer()
	for b.Loop() {
		var c countSink
		if _, err := Parse(bytes.NewReader(jtl), Options{DefaultRun: "bench"}, &c); err != nil || c.n != benchRows || c.errs != 0 {
			b.Fatalf("parse: %v, %d rows, %d errors", err, c.n, c.errs)
		}
	}
	report(b, benchRows, jtl)
}

func BenchmarkJMeterCSVObserve(b *testing.B) {
	jtl, _ := benchData()
	b.SetBytes(int64(len(jtl)))
	b.ResetTimer()
	for b.Loop() {
		s := &observeSink{o: loadtest.NewMetrics().NewObserver()}
		if _, err := Parse(bytes.NewReader(jtl), Options{DefaultRun: "bench"}, s); err != nil || s.n != benchRows {
			b.Fatalf("parse: %v, %d rows", err, s.n)
		}
	}
	report(b, benchRows, jtl)
}

// BenchmarkJMeterCSVStdlib is the baseline a quick tool would use:
// encoding/csv (reusing records) and strconv, summing elapsed.
func BenchmarkJMeterCSVStdlib(b *testing.B) {
	jtl, _ := benchData()
	b.SetBytes(int64(len(jtl)))
	b.ResetTimer()
	for b.Loop() {
		r := csv.NewReader(bytes.NewReader(jtl))
		r.ReuseRecord = true
		n := -1
		var sum int64
		for {
			rec, err := r.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			if n++; n == 0 {
				continue
			}
			e, _ := strconv.ParseInt(rec[1], 10, 64)
			ts, _ := strconv.ParseInt(rec[0], 10, 64)
			_, _ = strconv.ParseBool(rec[7])
			sum += e + ts*0
		}
		if n != benchRows {
			b.Fatalf("%d rows", n)
		}
	}
	report(b, benchRows, jtl)
}

func BenchmarkK6JSON(b *testing.B) {
	_, k6 := benchData()
	b.SetBytes(int64(len(k6)))
	b.ResetTimer()
	for b.Loop() {
		var c countSink
		if _, err := Parse(bytes.NewReader(k6), Options{DefaultRun: "bench"}, &c); err != nil || c.n != benchK6Requests || c.errs != 0 {
			b.Fatalf("parse: %v, %d rows, %d errors", err, c.n, c.errs)
		}
	}
	report(b, benchK6Requests, k6)
}

// BenchmarkK6JSONStdlib decodes every line with encoding/json into a
// generic map, as a script would.
func BenchmarkK6JSONStdlib(b *testing.B) {
	_, k6 := benchData()
	b.SetBytes(int64(len(k6)))
	b.ResetTimer()
	for b.Loop() {
		n := 0
		for line := range bytes.Lines(k6) {
			var v map[string]any
			if err := json.Unmarshal(line, &v); err != nil {
				b.Fatal(err)
			}
			if v["type"] == "Point" && v["metric"] == "http_req_duration" {
				n++
			}
		}
		if n != benchK6Requests {
			b.Fatalf("%d rows", n)
		}
	}
	report(b, benchK6Requests, k6)
}
