package parse

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"time"

	"github.com/kubepulse/kubepulse/loadtest"
)

// k6 reports every request as a set of Points with the same tags and time;
// kubepulse takes one Sample per http_req_duration Point (so each request
// counts once) and reads vus, data_received and data_sent beside it.
const (
	k6Duration = "http_req_duration"
	k6VUs      = "vus"
	k6Received = "data_received"
	k6Sent     = "data_sent"
)

func ioErr(err error) error {
	if errors.Is(err, io.EOF) {
		return nil
	}
	return err
}

// isK6Line tells a k6 --out json line from other JSON: it is one object on
// one line with a "type" of Metric or Point.
func isK6Line(line []byte) bool {
	var v struct {
		Type   string `json:"type"`
		Metric string `json:"metric"`
	}
	if json.Unmarshal(line, &v) != nil {
		return false
	}
	return (v.Type == "Metric" || v.Type == "Point") && v.Metric != ""
}

func parseK6JSON(br *bufio.Reader, o Options, sink Sink) error {
	lr := lineReader{br: br, max: o.maxRecord()}
	k := k6{o: &o, sink: sink}
	k.s.Run = o.run()
	var sc k6Scan
	for {
		line, tooLong, err := lr.next()
		if err != nil {
			return ioErr(err)
		}
		k.line = lr.line
		if tooLong {
			k.bad(ReasonTooLong, fmt.Sprintf("line longer than %d bytes", lr.max), "")
			continue
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		if !sc.scan(line) {
			k.bad(ReasonSyntax, "line is not valid JSON", "k6 --out json writes one JSON object per line; a cut line means the file was truncated")
			continue
		}
		if string(sc.typ) != "Point" {
			continue
		}
		metric := string(sc.metric) // no allocation: compared only
		switch metric {
		case k6Duration, k6VUs, k6Received, k6Sent:
		default:
			continue
		}
		if !sc.hasValue {
			k.bad(ReasonValue, "Point has no numeric value", "")
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, string(sc.time))
		if err != nil {
			k.bad(ReasonTimestamp, fmt.Sprintf("Point time %q is not RFC 3339", trunc(sc.time)), "")
			continue
		}
		label := sc.name
		if len(label) == 0 {
			label = sc.url
		}
		k.point(metric, sc.value, t, label, sc.status, sc.expect, sc.hasExpect)
	}
}

type k6 struct {
	o      *Options
	sink   Sink
	line   int
	s      loadtest.Sample
	labels map[string]string
	codes  map[string]string
}

func (k *k6) bad(reason, msg, fix string) {
	k.sink.Error(&Error{File: k.o.File, Line: k.line, Reason: reason, Msg: msg, Fix: fix})
}

// point handles one Point. label is the name tag, else the url tag.
func (k *k6) point(metric string, v float64, t time.Time, label, status, expect []byte, hasExpect bool) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		k.bad(ReasonNumber, fmt.Sprintf("%s value is not finite", metric), "")
		return
	}
	switch metric {
	case k6VUs:
		k.sink.Users(k.s.Run, v, t)
	case k6Received, k6Sent:
		if v < 0 || v > 1<<53 {
			k.bad(ReasonNumber, fmt.Sprintf("%s value %v is not a byte count", metric, v), "")
			return
		}
		if metric == k6Received {
			k.sink.Bytes(k.s.Run, "", int64(v), 0, t)
		} else {
			k.sink.Bytes(k.s.Run, "", 0, int64(v), t)
		}
	case k6Duration:
		if v < 0 || v > maxElapsedMs {
			k.bad(ReasonNumber, fmt.Sprintf("http_req_duration %v is not a duration in milliseconds", v), "")
			return
		}
		s := &k.s
		s.Label = intern(&k.labels, label)
		s.Code = intern(&k.codes, status)
		switch {
		case hasExpect && string(expect) == "true":
			s.Success = true
		case hasExpect && string(expect) == "false":
			s.Success = false
		default:
			// k6 before 0.31 has no expected_response: its default is 200-399.
			n, ok := parseInt(status)
			s.Success = ok && n >= 200 && n < 400
		}
		s.Elapsed = time.Duration(v * float64(time.Millisecond))
		s.BytesReceived, s.BytesSent = 0, 0
		s.Time = t
		k.sink.Sample(s)
	}
}

// parseK6CSV reads k6 --out csv: metric_name,timestamp,metric_value, then one
// column per system tag and extra_tags. The timestamp is Unix seconds by
// default; k6's timeFormat option may make it milli/micro/nanoseconds or RFC 3339.
func parseK6CSV(br *bufio.Reader, o Options, sink Sink) error {
	cr := newCSVReader(lineReader{br: br, max: o.maxRecord()}, ',')
	if err := cr.next(); err != nil {
		return ioErr(err)
	}
	nfields := cr.n()
	tagCols := map[string]int{}
	for i := 3; i < nfields; i++ {
		tagCols[string(cr.field(i))] = i
	}
	if nfields < 3 || string(cr.field(1)) != "timestamp" || string(cr.field(2)) != "metric_value" {
		return &UnsupportedError{File: o.File, Format: "CSV starting with metric_name but not k6 --out csv",
			Msg: "want a header metric_name,timestamp,metric_value,<tags>"}
	}
	k := k6{o: &o, sink: sink}
	k.s.Run = o.run()
	col := func(name string) int {
		if i, ok := tagCols[name]; ok {
			return i
		}
		return -1
	}
	nameCol, urlCol, statusCol, expCol := col("name"), col("url"), col("status"), col("expected_response")
	field := func(i int) []byte {
		if i < 0 {
			return nil
		}
		return cr.field(i)
	}
	for {
		err := cr.next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			var se *csvSyntaxError
			if errors.As(err, &se) {
				k.line = cr.recLine
				k.bad(se.reason, se.msg, "")
				continue
			}
			return err
		}
		k.line = cr.recLine
		if cr.n() != nfields {
			k.bad(ReasonFieldCount, fmt.Sprintf("row has %d fields, the header has %d", cr.n(), nfields), "a truncated row")
			continue
		}
		metric := string(cr.field(0))
		switch metric {
		case k6Duration, k6VUs, k6Received, k6Sent:
		default:
			continue
		}
		v, err := strconv.ParseFloat(string(cr.field(2)), 64)
		if err != nil {
			k.bad(ReasonNumber, fmt.Sprintf("metric_value %q is not a number", trunc(cr.field(2))), "")
			continue
		}
		t, ok := k6CSVTime(cr.field(1))
		if !ok {
			k.bad(ReasonTimestamp, fmt.Sprintf("timestamp %q is neither Unix time nor RFC 3339", trunc(cr.field(1))), "")
			continue
		}
		label := field(nameCol)
		if len(label) == 0 {
			label = field(urlCol)
		}
		exp := field(expCol)
		k.point(metric, v, t, label, field(statusCol), exp, len(exp) > 0)
	}
}

func k6CSVTime(b []byte) (time.Time, bool) {
	if n, ok := parseInt(b); ok {
		switch {
		case len(b) <= 10:
			return time.Unix(n, 0), true
		case len(b) <= 13:
			return time.UnixMilli(n), true
		case len(b) <= 16:
			return time.UnixMicro(n), true
		}
		return time.Unix(0, n), true
	}
	t, err := time.Parse(time.RFC3339Nano, string(b))
	return t, err == nil
}
