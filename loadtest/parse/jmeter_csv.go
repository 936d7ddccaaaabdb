package parse

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kubepulse/kubepulse/loadtest"
)

// JMeter CSV columns kubepulse reads; any subset, any order. Other columns
// (Hostname, sample variables, ...) are ignored.
const (
	colTimeStamp = iota
	colElapsed
	colLabel
	colResponseCode
	colResponseMessage
	colSuccess
	colBytes
	colSentBytes
	colAllThreads
	colRun
	colCount
)

// RunColumn is the sample-variable column in which kubepulse loadtest writes
// its run label, so that the file read back is labelled as the live metrics
// were. JMeter writes sample_variables=kubepulse_run the same way.
const RunColumn = "kubepulse_run"

var jmeterColumns = map[string]int{
	"timeStamp":       colTimeStamp,
	"elapsed":         colElapsed,
	"label":           colLabel,
	"responseCode":    colResponseCode,
	"responseMessage": colResponseMessage,
	"success":         colSuccess,
	"bytes":           colBytes,
	"sentBytes":       colSentBytes,
	"allThreads":      colAllThreads,
	RunColumn:         colRun,
}

// transactionMessage starts the responseMessage JMeter writes for the
// parent sample of a Transaction Controller.
var transactionMessage = []byte("Number of samples in transaction")

func parseJMeterCSV(br *bufio.Reader, o Options, sink Sink, header []byte) error {
	// jmeter.save.saveservice.default_delimiter: the header uses it between
	// every column, so the most frequent candidate is it.
	delim, most := byte(','), 0
	for _, d := range []byte{',', '\t', ';', '|'} {
		if n := bytes.Count(header, []byte{d}); n > most {
			delim, most = d, n
		}
	}
	cr := newCSVReader(lineReader{br: br, max: o.maxRecord()}, delim)
	if err := cr.next(); err != nil {
		if errors.Is(err, io.EOF) {
			return nil
		}
		return err
	}
	var idx [colCount]int
	for i := range idx {
		idx[i] = -1
	}
	for i := 0; i < cr.n(); i++ {
		name := strings.TrimSpace(string(cr.field(i)))
		if c, ok := jmeterColumns[name]; ok {
			idx[c] = i
		}
	}
	nfields := cr.n()
	if idx[colElapsed] < 0 || idx[colLabel] < 0 {
		return &UnsupportedError{File: o.File, Format: "JMeter CSV without elapsed or label columns",
			Msg: "kubepulse needs at least label and elapsed; set jmeter.save.saveservice.label=true and jmeter.save.saveservice.time=true"}
	}

	p := jmeterRow{o: &o, sink: sink, idx: idx, ts: newTimeParser(o.Location)}
	p.s.Run = o.run()
	for {
		err := cr.next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			var se *csvSyntaxError
			if errors.As(err, &se) {
				sink.Error(&Error{File: o.File, Line: cr.recLine, Reason: se.reason, Msg: se.msg,
					Fix: "check the quoting of this row; JMeter quotes fields holding the delimiter, quotes or newlines"})
				continue
			}
			return err
		}
		if cr.n() != nfields {
			sink.Error(&Error{File: o.File, Line: cr.recLine, Reason: ReasonFieldCount,
				Msg: fmt.Sprintf("row has %d fields, the header has %d", cr.n(), nfields),
				Fix: "a truncated or hand-edited row; rows must have the header's columns"})
			continue
		}
		p.row(cr)
	}
}

type jmeterRow struct {
	o    *Options
	sink Sink
	idx  [colCount]int
	ts   timeParser
	s    loadtest.Sample
	// label and code strings are interned: a run has few distinct ones, and
	// the sink may keep them as map keys.
	labels map[string]string
	codes  map[string]string
	runs   map[string]string
}

func (p *jmeterRow) bad(cr *csvReader, reason, msg, fix string) {
	p.sink.Error(&Error{File: p.o.File, Line: cr.recLine, Reason: reason, Msg: msg, Fix: fix})
}

func (p *jmeterRow) get(cr *csvReader, c int) []byte {
	if i := p.idx[c]; i >= 0 {
		return cr.field(i)
	}
	return nil
}

func (p *jmeterRow) row(cr *csvReader) {
	s := &p.s
	elapsed, ok := parseInt(p.get(cr, colElapsed))
	if !ok || elapsed < 0 || elapsed > maxElapsedMs {
		p.bad(cr, ReasonNumber, fmt.Sprintf("elapsed %q is not a number of milliseconds", p.get(cr, colElapsed)), "")
		return
	}
	var start time.Time
	if f := p.get(cr, colTimeStamp); f != nil {
		t, err := p.ts.parse(f)
		if err != nil {
			p.bad(cr, ReasonTimestamp, err.Error(), "use epoch milliseconds (jmeter.save.saveservice.timestamp_format=ms) or a yyyy-MM-dd / yyyy/MM/dd date and time")
			return
		}
		start = t
	}
	label := p.get(cr, colLabel)
	code := p.get(cr, colResponseCode)
	success := true
	if f := p.get(cr, colSuccess); f != nil {
		switch {
		case bytes.EqualFold(f, []byte("true")):
		case bytes.EqualFold(f, []byte("false")):
			success = false
		default:
			p.bad(cr, ReasonValue, fmt.Sprintf("success %q is neither true nor false", f), "")
			return
		}
	} else {
		// No success column: judge by the HTTP status, as JMeter does by default.
		success = len(code) == 3 && (code[0] == '2' || code[0] == '3')
	}
	s.Run = p.o.run()
	if r := p.get(cr, colRun); len(r) > 0 && string(r) != "null" && p.o.Run == "" { // JMeter writes an unset variable as null
		s.Run = intern(&p.runs, r) // the file's own run, unless --loadtest.run-label overrides it
	}
	var recv, sent, users int64
	for _, c := range [...]struct {
		col int
		dst *int64
	}{{colBytes, &recv}, {colSentBytes, &sent}, {colAllThreads, &users}} {
		f := p.get(cr, c.col)
		if len(f) == 0 {
			*c.dst = -1
			continue
		}
		v, ok := parseInt(f)
		if !ok {
			p.bad(cr, ReasonNumber, fmt.Sprintf("%s %q is not a number", columnName(c.col), f), "")
			return
		}
		*c.dst = v
	}

	end := start
	if !start.IsZero() {
		end = start.Add(time.Duration(elapsed) * time.Millisecond)
	}
	if users >= 0 {
		p.sink.Users(s.Run, float64(users), end)
	}
	isTxn := bytes.HasPrefix(p.get(cr, colResponseMessage), transactionMessage) ||
		(p.o.TransactionLabel != nil && p.o.TransactionLabel.Match(label))
	if !p.o.Transactions.keep(isTxn) {
		return
	}
	s.Label = intern(&p.labels, label)
	s.Code = intern(&p.codes, code)
	s.Success = success
	s.Elapsed = time.Duration(elapsed) * time.Millisecond
	s.BytesReceived = max(recv, 0)
	s.BytesSent = max(sent, 0)
	s.Time = end
	p.sink.Sample(s)
}

func columnName(c int) string {
	for k, v := range jmeterColumns {
		if v == c {
			return k
		}
	}
	return "?"
}

// intern returns a string equal to b, shared between rows. The map is
// bounded so that a file with unique labels cannot grow it without limit.
func intern(m *map[string]string, b []byte) string {
	if *m == nil {
		*m = make(map[string]string)
	}
	if s, ok := (*m)[string(b)]; ok {
		return s
	}
	s := string(b)
	if !utf8.ValidString(s) {
		// Prometheus label values must be UTF-8; keep what can be kept.
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if len(*m) < 10000 {
		(*m)[string(b)] = s
	}
	return s
}

// parseInt parses a decimal integer, optionally signed; it allocates nothing.
func parseInt(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 20 {
		return 0, false
	}
	neg := false
	if b[0] == '-' || b[0] == '+' {
		neg = b[0] == '-'
		b = b[1:]
		if len(b) == 0 {
			return 0, false
		}
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := int64(c - '0')
		if n > (math.MaxInt64-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	if neg {
		n = -n
	}
	return n, true
}

// timeParser reads JMeter timeStamp values: epoch milliseconds, or a date
// in one of the SimpleDateFormat patterns people configure. It remembers
// the last layout that worked, so a file costs one try per row.
type timeParser struct {
	loc  *time.Location
	last int
}

// jmeterTimeLayouts are tried in order; zone-less ones use the parser's
// location. Day-first layouts are not guessed: 01/02/2024 is read
// month-first, as JMeter's US-default examples write it.
var jmeterTimeLayouts = []string{
	"2006/01/02 15:04:05.000",
	"2006/01/02 15:04:05",
	"2006-01-02 15:04:05.000",
	"2006-01-02 15:04:05",
	"2006-01-02T15:04:05.000Z0700",
	"2006-01-02T15:04:05.000Z07:00",
	"2006-01-02T15:04:05Z07:00",
	"2006-01-02T15:04:05.000",
	"2006-01-02T15:04:05",
	"2006/01/02 15:04:05.000 MST",
	"01/02/2006 15:04:05.000",
	"01/02/2006 15:04:05",
	"2006-01-02 15:04:05,000",
}

func newTimeParser(loc *time.Location) timeParser {
	if loc == nil {
		loc = time.Local
	}
	return timeParser{loc: loc}
}

func (p *timeParser) parse(b []byte) (time.Time, error) {
	if ms, ok := parseInt(b); ok {
		if ms < 1e11 { // before 1973 in ms: these are seconds (some tools write them)
			return time.Unix(ms, 0), nil
		}
		return time.UnixMilli(ms), nil
	}
	s := string(b)
	if t, err := time.ParseInLocation(jmeterTimeLayouts[p.last], s, p.loc); err == nil {
		return t, nil
	}
	for i, l := range jmeterTimeLayouts {
		if t, err := time.ParseInLocation(l, s, p.loc); err == nil {
			p.last = i
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("timeStamp %q is neither epoch milliseconds nor a known date format", b)
}
