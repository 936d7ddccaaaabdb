// Package parse reads load-test result files (JMeter CSV and XML, Gatling
// simulation.log in text and binary form, k6 JSON and CSV) as streams and turns them into
// loadtest.Samples. The format is detected from the content, never from the
// file name. Bad rows are reported to the Sink with their line number and
// skipped; only an unsupported format or an I/O error stops a parse.
//
// Parsers read through whatever io.Reader they get: a file, a gzip stream or a
// tail follower that blocks until the writer appends more.
package parse

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"github.com/kubepulse/kubepulse/loadtest"
)

// Format is a detected result-file format.
type Format string

// Formats the parsers recognise.
const (
	FormatUnknown       Format = ""
	FormatJMeterCSV     Format = "jmeter-csv"
	FormatJMeterXML     Format = "jmeter-xml"
	FormatGatling       Format = "gatling"
	FormatGatlingBinary Format = "gatling-binary"
	FormatK6JSON        Format = "k6-json"
	FormatK6CSV         Format = "k6-csv"
)

// Reasons for Error; they are the values of the reason label of
// kubepulse_loadtest_parse_errors_total, so the set is small and fixed.
const (
	ReasonFieldCount  = "field_count"        // row has a different number of fields than the header
	ReasonTimestamp   = "bad_timestamp"      // time field not in a known format
	ReasonNumber      = "bad_number"         // elapsed, bytes, thread counts ... not a number
	ReasonValue       = "bad_value"          // e.g. success not true/false, status not OK/KO
	ReasonSyntax      = "syntax"             // broken quoting, JSON or XML
	ReasonRecord      = "unknown_record"     // a record type the format does not define
	ReasonTooLong     = "record_too_long"    // a record over Options.MaxRecordBytes
	ReasonUnsupported = "unsupported_format" // the whole file is rejected
)

// TransactionMode says what to do with JMeter transaction-controller rows and
// Gatling GROUP records, which summarise other samples.
type TransactionMode int

const (
	// TransactionsExclude drops transaction rows so each request counts once.
	TransactionsExclude TransactionMode = iota
	// TransactionsInclude keeps transaction rows as samples labelled with
	// the transaction name, next to the requests they contain.
	TransactionsInclude
	// TransactionsOnly keeps only the transaction rows.
	TransactionsOnly
)

// ParseTransactionMode reads exclude|include|only.
func ParseTransactionMode(s string) (TransactionMode, error) {
	switch strings.ToLower(s) {
	case "exclude", "":
		return TransactionsExclude, nil
	case "include":
		return TransactionsInclude, nil
	case "only":
		return TransactionsOnly, nil
	}
	return 0, fmt.Errorf("transaction mode %q: want exclude, include or only", s)
}

func (m TransactionMode) String() string {
	switch m {
	case TransactionsInclude:
		return "include"
	case TransactionsOnly:
		return "only"
	}
	return "exclude"
}

// keep reports whether a row of the given kind passes the mode.
func (m TransactionMode) keep(isTransaction bool) bool {
	switch m {
	case TransactionsInclude:
		return true
	case TransactionsOnly:
		return isTransaction
	}
	return !isTransaction
}

// Options control a parse.
type Options struct {
	// File names the input in errors.
	File string
	// Run, when set, labels every sample and overrides what the file says.
	Run string
	// DefaultRun labels samples when Run is empty and the file has no run
	// record (only Gatling files have one).
	DefaultRun string
	// Transactions selects JMeter transaction rows and Gatling groups.
	Transactions TransactionMode
	// TransactionLabel, when set, also marks JMeter rows whose label matches
	// as transactions (besides the "Number of samples in transaction"
	// message JMeter writes for them).
	TransactionLabel *regexp.Regexp
	// Location is the zone of JMeter timestamps written as formatted dates,
	// which carry none. Nil means time.Local.
	Location *time.Location
	// MaxRecordBytes bounds one record (a CSV row with quoted newlines, a
	// JSON line). Zero means 1 MiB.
	MaxRecordBytes int
}

func (o *Options) run() string {
	if o.Run != "" {
		return o.Run
	}
	return o.DefaultRun
}

func (o *Options) maxRecord() int {
	if o.MaxRecordBytes > 0 {
		return o.MaxRecordBytes
	}
	return 1 << 20
}

// Sink receives what a parser finds. Calls come from the parsing goroutine
// only. The Sample pointer is reused after Sample returns.
type Sink interface {
	Sample(s *loadtest.Sample)
	// Users reports the number of active virtual users at time t.
	Users(run string, n float64, t time.Time)
	// Bytes reports traffic not tied to one request (k6 data_sent and
	// data_received are per iteration).
	Bytes(run, label string, received, sent int64, t time.Time)
	// Error reports a bad row, which the parser skipped.
	Error(e *Error)
}

// Error is one bad row. Parsing continues after it.
type Error struct {
	File   string
	Line   int
	Reason string // one of the Reason constants
	Msg    string
	Fix    string // what the user can do about it; may be empty
}

func (e *Error) Error() string {
	s := fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	if e.Fix != "" {
		s += " (" + e.Fix + ")"
	}
	return s
}

// UnsupportedError rejects a whole file whose format is recognised but not
// supported, or not recognised at all.
type UnsupportedError struct {
	File   string
	Format string // what the file looks like, e.g. "Gatling 3.14.3 binary simulation.log"
	Msg    string // why, and which output to use instead
}

func (e *UnsupportedError) Error() string {
	return fmt.Sprintf("%s: %s is not supported: %s", e.File, e.Format, e.Msg)
}

// IsUnsupported reports whether err rejects the file's format.
func IsUnsupported(err error) bool {
	var u *UnsupportedError
	return errors.As(err, &u)
}

const readBufSize = 64 << 10

// maxElapsedMs bounds one sample's elapsed time (100 days). Larger values are
// corrupt, and would overflow time.Duration.
const maxElapsedMs = 100 * 24 * 3600 * 1000

// Parse detects the format of r and parses it to the end, reporting to sink.
// It returns the format it found and a non-nil error only for an
// unsupported format (*UnsupportedError), a syntax error that the format
// cannot resync from (JMeter XML), or an I/O error.
func Parse(r io.Reader, o Options, sink Sink) (Format, error) {
	br := bufio.NewReaderSize(r, readBufSize)
	return parse(br, o, sink, 0)
}

func parse(br *bufio.Reader, o Options, sink Sink, depth int) (Format, error) {
	b, err := br.Peek(1)
	if len(b) == 0 {
		if err == io.EOF {
			return FormatUnknown, nil // empty file: nothing to do, nothing lost
		}
		return FormatUnknown, err
	}
	switch b[0] {
	case 0x1f:
		if g, _ := br.Peek(2); len(g) == 2 && g[1] == 0x8b && depth == 0 {
			zr, err := newGzipMembers(br)
			if err != nil {
				return FormatUnknown, fmt.Errorf("%s: %w", o.File, err)
			}
			return parse(bufio.NewReaderSize(zr, readBufSize), o, sink, depth+1)
		}
	case 0x00:
		err := parseGatlingBinary(br, o, sink)
		if IsUnsupported(err) {
			return FormatUnknown, err
		}
		return FormatGatlingBinary, err
	case 0xEF: // UTF-8 byte order mark, written by some editors
		if bom, _ := br.Peek(3); bytes.Equal(bom, []byte{0xEF, 0xBB, 0xBF}) {
			_, _ = br.Discard(3)
		}
	}
	line, err := peekLine(br)
	if err != nil && len(line) == 0 {
		if err == io.EOF {
			return FormatUnknown, nil
		}
		return FormatUnknown, err
	}
	f, uerr := detect(line, o.File)
	if uerr != nil {
		return f, uerr
	}
	switch f {
	case FormatJMeterCSV:
		return f, parseJMeterCSV(br, o, sink, line)
	case FormatJMeterXML:
		return f, parseJMeterXML(br, o, sink)
	case FormatGatling:
		return f, parseGatling(br, o, sink)
	case FormatK6JSON:
		return f, parseK6JSON(br, o, sink)
	case FormatK6CSV:
		return f, parseK6CSV(br, o, sink)
	}
	return f, &UnsupportedError{File: o.File, Format: "this file", Msg: "not a known result format"}
}

// peekLine returns the first line without consuming it. It reads no more than
// the reader has ready plus what is needed to finish the line, so a follower
// on a small, growing file does not block waiting for a full buffer.
func peekLine(br *bufio.Reader) ([]byte, error) {
	for {
		n := br.Buffered()
		b, _ := br.Peek(n)
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			return bytes.TrimRight(b[:i], "\r"), nil
		}
		if n >= readBufSize {
			return b, nil // a first line this long is judged on its start
		}
		if _, err := br.Peek(n + 1); err != nil {
			b, _ = br.Peek(br.Buffered())
			return bytes.TrimRight(b, "\r"), err
		}
	}
}

var gatlingRecords = []string{"RUN\t", "ASSERTION\t", "USER\t", "REQUEST\t", "GROUP\t", "ERROR\t"}

// detect decides the format from the first line.
func detect(line []byte, file string) (Format, error) {
	t := bytes.TrimLeft(line, " \t")
	switch {
	case len(t) == 0:
		return FormatUnknown, &UnsupportedError{File: file, Format: "a file starting with an empty line", Msg: "result files start with a header or a record"}
	case t[0] == '<':
		if bytes.HasPrefix(t, []byte("<?xml")) || bytes.HasPrefix(t, []byte("<testResults")) {
			return FormatJMeterXML, nil
		}
		return FormatUnknown, &UnsupportedError{File: file, Format: "XML other than a JMeter .jtl", Msg: "only JMeter <testResults> XML is read"}
	case t[0] == '{' || t[0] == '[':
		if isK6Line(t) {
			return FormatK6JSON, nil
		}
		return FormatUnknown, &UnsupportedError{File: file, Format: "a JSON document that is not k6 --out json",
			Msg: "k6 --summary-export and handleSummary() JSON hold only end-of-test aggregates, no requests to count; run k6 with --out json=FILE (or --out csv=FILE) and point --loadtest.file at that"}
	case bytes.HasPrefix(t, []byte("metric_name,")):
		return FormatK6CSV, nil
	}
	for _, p := range gatlingRecords {
		if bytes.HasPrefix(line, []byte(p)) {
			return FormatGatling, nil
		}
	}
	if bytes.Contains(line, []byte("timeStamp")) || bytes.Contains(line, []byte("elapsed")) {
		return FormatJMeterCSV, nil
	}
	if len(t) > 0 && t[0] >= '0' && t[0] <= '9' && (bytes.IndexByte(t, ',') > 0 || bytes.IndexByte(t, '\t') > 0) {
		return FormatUnknown, &UnsupportedError{File: file, Format: "a CSV file without a header line",
			Msg: "JMeter CSV is read by its header; set jmeter.save.saveservice.print_field_names=true (the default since JMeter 2.13)"}
	}
	return FormatUnknown, &UnsupportedError{File: file, Format: "this file",
		Msg: "not JMeter CSV/XML, Gatling simulation.log or k6 --out json/csv; first line starts " + quoteStart(line)}
}

func quoteStart(b []byte) string {
	if len(b) > 40 {
		b = b[:40]
	}
	return fmt.Sprintf("%q", b)
}

var gatlingVersion = regexp.MustCompile(`^[0-9]+\.[0-9]+(\.[0-9]+)?([-.][0-9A-Za-z.-]+)?$`)

// lineReader hands out lines from a bufio.Reader without copying when a line
// fits in the buffer. The returned slice is valid until the next call.
type lineReader struct {
	br   *bufio.Reader
	long []byte
	line int // number of the line last returned
	max  int
	err  error // deferred until the line read with it is handed out
}

// next returns the next line without its line ending. tooLong is set when
// the line was cut at max bytes (the rest is discarded).
func (l *lineReader) next() (b []byte, tooLong bool, err error) {
	if l.err != nil {
		return nil, false, l.err
	}
	b, err = l.br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		l.long = append(l.long[:0], b...)
		for err == bufio.ErrBufferFull {
			b, err = l.br.ReadSlice('\n')
			if len(l.long) < l.max {
				l.long = append(l.long, b...)
			} else {
				tooLong = true
			}
		}
		b = l.long
	}
	if len(b) == 0 {
		if err == nil {
			err = io.EOF
		}
		return nil, false, err
	}
	l.line++
	if n := len(b); b[n-1] == '\n' {
		b = b[:n-1]
		if n > 1 && b[n-2] == '\r' {
			b = b[:n-2]
		}
	}
	if len(b) > l.max {
		tooLong = true
	}
	if err != nil {
		l.err = err // a last line without newline; the error comes with the next call
	}
	return b, tooLong, nil
}
