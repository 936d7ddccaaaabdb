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

// appendJTL adds one row. timeStamp is the intended send time and elapsed
// and Latency are measured from it, so the file carries the same
// coordinated-omission-free latency as the summary.
func (w *worker) appendJTL(tm *template, intended time.Time, lat, connect time.Duration, firstByte time.Time, resp response, kind errKind, err error, success bool) {
	b := w.jtl
	b = strconv.AppendInt(b, intended.UnixMilli(), 10)
	b = append(b, ',')
	b = strconv.AppendInt(b, lat.Milliseconds(), 10)
	b = append(b, ',')
	b = appendCSV(b, tm.target.Label)
	b = append(b, ',')
	if kind != errNone {
		b = appendCSV(b, "Non HTTP response code: "+kind.String())
		b = append(b, ',')
		b = appendCSV(b, "Non HTTP response message: "+err.Error())
	} else {
		b = strconv.AppendInt(b, int64(resp.code), 10)
		b = append(b, ',')
		b = appendCSV(b, http.StatusText(resp.code))
	}
	b = append(b, ',')
	b = append(b, w.thread...)
	b = append(b, ",text,"...)
	b = strconv.AppendBool(b, success)
	b = append(b, ',')
	if kind != errNone {
		b = appendCSV(b, err.Error())
	} else if !success {
		b = append(b, "HTTP status "...)
		b = strconv.AppendInt(b, int64(resp.code), 10)
	}
	b = append(b, ',')
	b = strconv.AppendInt(b, resp.bytes, 10)
	b = append(b, ',')
	b = strconv.AppendInt(b, tm.sent, 10)
	b = append(b, ',')
	active := w.r.InFlight() + 1
	b = strconv.AppendInt(b, active, 10)
	b = append(b, ',')
	b = strconv.AppendInt(b, active, 10)
	b = append(b, ',')
	b = appendCSV(b, tm.target.rawURL)
	b = append(b, ',')
	if !firstByte.IsZero() {
		b = strconv.AppendInt(b, firstByte.Sub(intended).Milliseconds(), 10)
	} else {
		b = append(b, '0')
	}
	b = append(b, ",0,"...)
	b = strconv.AppendInt(b, connect.Milliseconds(), 10)
	b = append(b, ',')
	b = append(b, w.r.jtlRun...)
	b = append(b, '\n')
	w.jtl = b
	if len(b) >= jtlFlushAt {
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
