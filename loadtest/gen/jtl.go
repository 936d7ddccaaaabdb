package gen

import (
	"net/http"
	"strconv"
	"time"

	"github.com/kubepulse/kubepulse/loadtest/parse"
)

// JTLHeader is JMeter 5's default CSV header (17 columns) and the run label
// as a sample variable, written as JMeter writes sample_variables: its name
// quoted. Reading the file back gives the run of the live metrics.
const JTLHeader = "timeStamp,elapsed,label,responseCode,responseMessage,threadName,dataType,success,failureMessage,bytes,sentBytes,grpThreads,allThreads,URL,Latency,IdleTime,Connect,\"" + parse.RunColumn + "\"\n"

const jtlFlushAt = 32 << 10

// JTLRow is one row of the JTL file, in the columns of JTLHeader.
type JTLRow struct {
	Time                      time.Time // timeStamp: the intended send time
	Elapsed, Latency, Connect time.Duration
	Label                     string
	Code                      int    // HTTP status; unused when Kind is set
	Kind, Err                 string // a non-HTTP failure: its kind and message
	Thread                    string
	Success                   bool
	Bytes, Sent, Threads      int64
	URL, Run                  string
}

// AppendJTLRow appends r as one CSV row in the generator's format. The
// generator writes its file with it, and so does anything that must write
// rows the collector reads back the same way (the demo's history).
func AppendJTLRow(b []byte, r *JTLRow) []byte {
	b = strconv.AppendInt(b, r.Time.UnixMilli(), 10)
	b = append(b, ',')
	b = strconv.AppendInt(b, r.Elapsed.Milliseconds(), 10)
	b = append(b, ',')
	b = appendCSV(b, r.Label)
	b = append(b, ',')
	if r.Kind != "" {
		b = appendCSV(b, "Non HTTP response code: "+r.Kind)
		b = append(b, ',')
		b = appendCSV(b, "Non HTTP response message: "+r.Err)
	} else {
		b = strconv.AppendInt(b, int64(r.Code), 10)
		b = append(b, ',')
		b = appendCSV(b, http.StatusText(r.Code))
	}
	b = append(b, ',')
	b = append(b, r.Thread...)
	b = append(b, ",text,"...)
	b = strconv.AppendBool(b, r.Success)
	b = append(b, ',')
	if r.Kind != "" {
		b = appendCSV(b, r.Err)
	} else if !r.Success {
		b = append(b, "HTTP status "...)
		b = strconv.AppendInt(b, int64(r.Code), 10)
	}
	b = append(b, ',')
	b = strconv.AppendInt(b, r.Bytes, 10)
	b = append(b, ',')
	b = strconv.AppendInt(b, r.Sent, 10)
	b = append(b, ',')
	b = strconv.AppendInt(b, r.Threads, 10)
	b = append(b, ',')
	b = strconv.AppendInt(b, r.Threads, 10)
	b = append(b, ',')
	b = appendCSV(b, r.URL)
	b = append(b, ',')
	b = strconv.AppendInt(b, r.Latency.Milliseconds(), 10)
	b = append(b, ",0,"...)
	b = strconv.AppendInt(b, r.Connect.Milliseconds(), 10)
	b = append(b, ',')
	b = appendCSV(b, r.Run)
	return append(b, '\n')
}

// appendJTL adds one row. timeStamp is the intended send time and elapsed
// and Latency are measured from it, so the file carries the same
// coordinated-omission-free latency as the summary.
func (w *worker) appendJTL(tm *template, intended time.Time, lat, connect time.Duration, firstByte time.Time, resp response, kind errKind, err error, success bool) {
	r := JTLRow{Time: intended, Elapsed: lat, Connect: connect, Label: tm.target.Label, Code: resp.code, Thread: w.thread,
		Success: success, Bytes: resp.bytes, Sent: tm.sent, Threads: w.r.InFlight() + 1, URL: tm.target.rawURL, Run: w.r.cfg.Run}
	if kind != errNone {
		r.Kind, r.Err = kind.String(), err.Error()
	}
	if !firstByte.IsZero() {
		r.Latency = firstByte.Sub(intended)
	}
	w.jtl = AppendJTLRow(w.jtl, &r)
	if len(w.jtl) >= jtlFlushAt {
		w.flushJTL(false)
	}
}

func (w *worker) flushJTL(final bool) {
	if len(w.jtl) == 0 || w.r.cfg.JTL == nil {
		return
	}
	r := w.r
	r.jtlMu.Lock()
	if r.jtlErr == nil {
		_, r.jtlErr = r.cfg.JTL.Write(w.jtl)
	}
	r.jtlMu.Unlock()
	w.jtl = w.jtl[:0]
	if final {
		w.jtl = nil
	}
}

// appendCSV appends s, quoted as RFC 4180 requires when it holds a comma,
// quote, CR or LF (doubling inner quotes).
func appendCSV(b []byte, s string) []byte {
	need := false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ',', '"', '\n', '\r':
			need = true
		}
	}
	if !need && (len(s) == 0 || (s[0] != ' ' && s[0] != '\t')) {
		return append(b, s...)
	}
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' {
			b = append(b, '"')
		}
		b = append(b, s[i])
	}
	return append(b, '"')
}
