package parse

import (
	"bufio"
	"bytes"
	"fmt"
	"time"

	"github.com/kubepulse/kubepulse/loadtest"
)

// parseGatling reads the tab-separated simulation.log of Gatling 3.0-3.12.
// Layouts differ across versions: up to 3.2 USER, REQUEST and GROUP records
// carry a userId after the record type (USER also has start and end times);
// from 3.3 they do not. Each record's layout is recognised by where its
// START/END or OK/KO field sits, not by the version in the RUN record, so
// files from patched or odd versions still read.
func parseGatling(br *bufio.Reader, o Options, sink Sink) error {
	lr := lineReader{br: br, max: o.maxRecord()}
	g := gatling{o: &o, sink: sink}
	g.s.Run = o.run()
	var fields [][]byte
	for {
		line, tooLong, err := lr.next()
		if err != nil {
			return ioErr(err)
		}
		g.line = lr.line
		if tooLong {
			g.bad(ReasonTooLong, fmt.Sprintf("line longer than %d bytes", lr.max), "")
			continue
		}
		if len(line) == 0 {
			continue
		}
		fields = splitTab(fields[:0], line)
		g.record(fields)
	}
}

type gatling struct {
	o      *Options
	sink   Sink
	line   int
	s      loadtest.Sample
	users  int64
	labels map[string]string
}

func (g *gatling) bad(reason, msg, fix string) {
	g.sink.Error(&Error{File: g.o.File, Line: g.line, Reason: reason, Msg: msg, Fix: fix})
}

func splitTab(dst [][]byte, line []byte) [][]byte {
	for {
		i := bytes.IndexByte(line, '\t')
		if i < 0 {
			return append(dst, line)
		}
		dst = append(dst, line[:i])
		line = line[i+1:]
	}
}

func (g *gatling) record(f [][]byte) {
	switch string(f[0]) {
	case "REQUEST":
		g.request(f)
	case "USER":
		g.user(f)
	case "GROUP":
		g.group(f)
	case "RUN":
		g.run(f)
	case "ERROR", "ASSERTION":
		// ERROR records are Gatling's own errors (e.g. a request that could not
		// be built), not requests; ASSERTION holds the encoded assertions.
	default:
		g.bad(ReasonRecord, fmt.Sprintf("unknown record type %q", trunc(f[0])),
			"Gatling simulation.log records are RUN, USER, REQUEST, GROUP, ERROR and ASSERTION")
	}
}

func trunc(b []byte) []byte {
	if len(b) > 40 {
		return b[:40]
	}
	return b
}

// RUN simulationClass simulationId startMillis description version
func (g *gatling) run(f [][]byte) {
	if len(f) < 4 {
		g.bad(ReasonFieldCount, fmt.Sprintf("RUN record has %d fields, want at least 4", len(f)), "")
		return
	}
	if g.o.Run != "" {
		return
	}
	start, ok := parseInt(f[3])
	if !ok {
		g.bad(ReasonNumber, fmt.Sprintf("RUN start %q is not epoch milliseconds", trunc(f[3])), "")
		return
	}
	// The name Gatling gives the run's results directory.
	t := time.UnixMilli(start).UTC()
	g.s.Run = fmt.Sprintf("%s-%s%03d", f[2], t.Format("20060102150405"), t.Nanosecond()/1e6)
}

// USER scenario [userId] START|END start [end]
func (g *gatling) user(f [][]byte) {
	var ev, ts []byte
	switch {
	case len(f) >= 4 && isStartEnd(f[2]):
		ev, ts = f[2], f[3]
	case len(f) >= 5 && isStartEnd(f[3]):
		ev, ts = f[3], f[4]
		if string(ev) == "END" && len(f) >= 6 {
			ts = f[5]
		}
	default:
		g.bad(ReasonValue, "USER record without START or END", "")
		return
	}
	ms, ok := parseInt(ts)
	if !ok {
		g.bad(ReasonNumber, fmt.Sprintf("USER time %q is not epoch milliseconds", trunc(ts)), "")
		return
	}
	if string(ev) == "START" {
		g.users++
	} else if g.users > 0 {
		g.users--
	}
	g.sink.Users(g.s.Run, float64(g.users), time.UnixMilli(ms))
}

func isStartEnd(b []byte) bool { return string(b) == "START" || string(b) == "END" }
func isOKKO(b []byte) bool     { return string(b) == "OK" || string(b) == "KO" }

// REQUEST [userId] groups name start end OK|KO message
func (g *gatling) request(f [][]byte) {
	var name, start, end, status []byte
	switch {
	case len(f) >= 6 && isOKKO(f[5]):
		name, start, end, status = f[2], f[3], f[4], f[5]
	case len(f) >= 7 && isOKKO(f[6]):
		name, start, end, status = f[3], f[4], f[5], f[6]
	default:
		g.bad(ReasonValue, "REQUEST record without an OK or KO status where Gatling 3.x writes it", "")
		return
	}
	if !g.o.Transactions.keep(false) {
		return
	}
	g.emit(name, start, end, status)
}

// GROUP [userId] groups start end cumulatedResponseTime OK|KO
func (g *gatling) group(f [][]byte) {
	var name, start, end, status []byte
	switch {
	case len(f) >= 6 && isOKKO(f[5]):
		name, start, end, status = f[1], f[2], f[3], f[5]
	case len(f) >= 7 && isOKKO(f[6]):
		name, start, end, status = f[2], f[3], f[4], f[6]
	default:
		g.bad(ReasonValue, "GROUP record without an OK or KO status where Gatling 3.x writes it", "")
		return
	}
	if !g.o.Transactions.keep(true) {
		return
	}
	g.emit(name, start, end, status)
}

func (g *gatling) emit(name, start, end, status []byte) {
	st, ok1 := parseInt(start)
	en, ok2 := parseInt(end)
	if !ok1 || !ok2 || st < 0 || en < st || en-st > maxElapsedMs {
		g.bad(ReasonNumber, fmt.Sprintf("start %q and end %q are not epoch milliseconds in order", trunc(start), trunc(end)), "")
		return
	}
	s := &g.s
	s.Label = intern(&g.labels, name)
	s.Code = ""
	s.Success = string(status) == "OK"
	s.Elapsed = time.Duration(en-st) * time.Millisecond
	s.BytesReceived, s.BytesSent = 0, 0
	s.Time = time.UnixMilli(en)
	g.sink.Sample(s)
}
