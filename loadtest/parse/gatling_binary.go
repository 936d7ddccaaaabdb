package parse

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/kubepulse/kubepulse/loadtest"
)

// Gatling 3.13 and later write simulation.log as a binary stream of records,
// big-endian, each opening with a type byte:
//
//	0 run:     string version, string class, int64 start ms, string description,
//	           int32 n, n × string scenario, int32 m, m × (int32 len, bytes) assertion
//	1 request: groups, cached name, int32 start, int32 end (ms after run start),
//	           bool ok, cached message
//	2 user:    int32 scenario index, bool start, int32 time
//	3 group:   groups, int32 start, int32 end, int32 cumulated response time, bool ok
//	4 error:   cached message, int32 time
//
// string: int32 byte length, then (when not 0) the bytes of the Java string
// and its coder byte (0 Latin-1, 1 UTF-16 in the JVM's byte order, little
// endian on x86-64 and arm64). cached string: int32 i; i > 0 is followed by
// a string that becomes entry i, i < 0 refers to entry -i. groups: int32 n,
// then n cached strings.
//
// This is the layout of the real 3.14.3 file among the samples. Earlier binary
// layouts wrote plain UTF-8 strings without a coder or a cache; a file whose
// run record does not check out against this layout is rejected rather than
// misread.
const (
	gbRun = iota
	gbRequest
	gbUser
	gbGroup
	gbError
)

type gatlingBin struct {
	br     *bufio.Reader
	o      *Options
	sink   Sink
	off    int64 // bytes consumed
	record int   // records read, the run record is 1
	start  int64 // run start, Unix ms
	cache  []string
	users  int64
	s      loadtest.Sample
	buf    [8]byte
	str    []byte
}

// errLayout marks data that does not fit the layout; it ends the parse.
var errLayout = errors.New("layout")

func parseGatlingBinary(br *bufio.Reader, o Options, sink Sink) error {
	g := &gatlingBin{br: br, o: &o, sink: sink, cache: []string{""}}
	version, err := g.runRecord()
	if err != nil {
		if version != "" && (errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)) {
			g.bad(ReasonSyntax, "file ends inside the run record", "the file is cut short; nothing in it can be read")
			return nil
		}
		if version == "" {
			return &UnsupportedError{File: o.File, Format: "a binary file", Msg: "result files are text (JMeter CSV/XML, Gatling <=3.12, k6 JSON/CSV) or Gatling >=3.13 binary simulation.log, optionally gzip-compressed"}
		}
		return &UnsupportedError{File: o.File, Format: "Gatling " + version + " binary simulation.log in this layout",
			Msg: "its run record does not match the binary layout kubepulse reads (that of Gatling 3.13-3.14); export from a supported Gatling version, or use Gatling <=3.12 text logs"}
	}
	for {
		t, err := g.u8()
		if err != nil {
			return ioErr(err)
		}
		g.record++
		recStart := g.off - 1
		switch t {
		case gbRequest:
			err = g.request()
		case gbUser:
			err = g.user()
		case gbGroup:
			err = g.group()
		case gbError:
			if _, err = g.cached(); err == nil {
				_, err = g.i32()
			}
		default:
			err = fmt.Errorf("%w: unknown record type %d", errLayout, t)
		}
		if err == nil {
			continue
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			g.bad(ReasonSyntax, fmt.Sprintf("file ends inside record %d (byte %d)", g.record, recStart), "Gatling stopped while writing; the records before it are counted")
			return nil
		}
		if errors.Is(err, errLayout) {
			// Binary records cannot be resynchronised: the rest is unreadable.
			g.bad(ReasonSyntax, fmt.Sprintf("record %d (byte %d): %v", g.record, recStart, err), "the rest of the file is not read; it is corrupt or from an unsupported Gatling version")
			return nil
		}
		return err
	}
}

func (g *gatlingBin) bad(reason, msg, fix string) {
	g.sink.Error(&Error{File: g.o.File, Line: g.record, Reason: reason, Msg: msg, Fix: fix})
}

func (g *gatlingBin) read(n int) ([]byte, error) {
	b, err := g.br.Peek(n)
	if len(b) < n {
		if err == nil || errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			return nil, fmt.Errorf("%w: field of %d bytes", errLayout, n)
		}
		return nil, err
	}
	_, _ = g.br.Discard(n)
	g.off += int64(n)
	return b, nil
}

func (g *gatlingBin) u8() (byte, error) {
	b, err := g.br.ReadByte()
	if err == nil {
		g.off++
	}
	return b, err
}

func (g *gatlingBin) i32() (int32, error) {
	b, err := g.read(4)
	if err != nil {
		return 0, err
	}
	return int32(binary.BigEndian.Uint32(b)), nil
}

func (g *gatlingBin) i64() (int64, error) {
	b, err := g.read(8)
	if err != nil {
		return 0, err
	}
	return int64(binary.BigEndian.Uint64(b)), nil
}

func (g *gatlingBin) boolean() (bool, error) {
	b, err := g.u8()
	if err != nil {
		return false, err
	}
	if b > 1 {
		return false, fmt.Errorf("%w: boolean byte %d", errLayout, b)
	}
	return b == 1, nil
}

// string reads a length-prefixed Java string with its coder byte.
func (g *gatlingBin) string() (string, error) {
	n, err := g.i32()
	if err != nil {
		return "", err
	}
	if n == 0 {
		return "", nil
	}
	if n < 0 || int(n) > g.o.maxRecord() || int(n) > readBufSize-1 {
		return "", fmt.Errorf("%w: string length %d", errLayout, n)
	}
	b, err := g.read(int(n) + 1)
	if err != nil {
		return "", err
	}
	raw, coder := b[:n], b[n]
	switch coder {
	case 0: // Latin-1: one byte per character
		g.str = g.str[:0]
		for _, c := range raw {
			g.str = utf8.AppendRune(g.str, rune(c))
		}
		return string(g.str), nil
	case 1: // UTF-16, JVM byte order (little endian on every JVM platform kubepulse runs next to)
		if n%2 != 0 {
			return "", fmt.Errorf("%w: UTF-16 string of odd length %d", errLayout, n)
		}
		u := make([]uint16, n/2)
		for i := range u {
			u[i] = binary.LittleEndian.Uint16(raw[2*i:])
		}
		return strings.ToValidUTF8(string(utf16.Decode(u)), "\uFFFD"), nil
	}
	return "", fmt.Errorf("%w: string coder %d", errLayout, coder)
}

func (g *gatlingBin) cached() (string, error) {
	i, err := g.i32()
	if err != nil {
		return "", err
	}
	switch {
	case i > 0:
		if int(i) != len(g.cache) {
			return "", fmt.Errorf("%w: new cached string %d, expected %d", errLayout, i, len(g.cache))
		}
		s, err := g.string()
		if err != nil {
			return "", err
		}
		g.cache = append(g.cache, s)
		return s, nil
	case i < 0 && int(-i) < len(g.cache):
		return g.cache[-i], nil
	}
	return "", fmt.Errorf("%w: cached string reference %d of %d", errLayout, i, len(g.cache)-1)
}

// runRecord reads and checks the run record; version is set as soon as it is
// known, for the rejection message.
func (g *gatlingBin) runRecord() (version string, err error) {
	t, err := g.u8()
	if err != nil {
		return "", err
	}
	g.record = 1
	if t != gbRun {
		return "", errLayout
	}
	if version, err = g.string(); err != nil || !gatlingVersion.MatchString(version) {
		return "", errLayout
	}
	// Peek at the class name's length first: an earlier layout (no coder
	// byte after the version) shows up here as an absurd length.
	if b, err := g.br.Peek(4); err == nil && binary.BigEndian.Uint32(b) > 1024 {
		return version, errLayout
	}
	class, err := g.string()
	if err != nil {
		return version, err
	}
	if class == "" || strings.ContainsAny(class, " \t\n") {
		return version, errLayout
	}
	if g.start, err = g.i64(); err != nil {
		return version, err
	}
	// A run between 2015 and 2100: anything else is another layout.
	if g.start < 1420070400000 || g.start > 4102444800000 {
		return version, errLayout
	}
	if _, err = g.string(); err != nil {
		return version, err
	}
	n, err := g.i32()
	if err != nil {
		return version, err
	}
	if n < 0 || n > 10000 {
		return version, errLayout
	}
	for range n {
		if _, err = g.string(); err != nil {
			return version, err
		}
	}
	m, err := g.i32()
	if err != nil {
		return version, err
	}
	if m < 0 || m > 10000 {
		return version, errLayout
	}
	for range m {
		l, err := g.i32()
		if err != nil {
			return version, err
		}
		if l < 0 || int(l) > g.o.maxRecord() {
			return version, errLayout
		}
		if _, err = g.br.Discard(int(l)); err != nil {
			return version, err
		}
		g.off += int64(l)
	}
	if g.o.Run != "" {
		g.s.Run = g.o.Run
	} else {
		// Gatling's default run directory name: simulation id (the class
		// name, lower case) and start time.
		simple := class[strings.LastIndexByte(class, '.')+1:]
		st := time.UnixMilli(g.start).UTC()
		g.s.Run = fmt.Sprintf("%s-%s%03d", strings.ToLower(simple), st.Format("20060102150405"), st.Nanosecond()/1e6)
	}
	return version, nil
}

func (g *gatlingBin) groups() (string, error) {
	n, err := g.i32()
	if err != nil {
		return "", err
	}
	if n < 0 || n > 1000 {
		return "", fmt.Errorf("%w: %d groups", errLayout, n)
	}
	path := ""
	for i := range n {
		s, err := g.cached()
		if err != nil {
			return "", err
		}
		if i > 0 {
			path += ","
		}
		path += s
	}
	return path, nil
}

func (g *gatlingBin) times() (start, end int32, err error) {
	if start, err = g.i32(); err != nil {
		return
	}
	if end, err = g.i32(); err != nil {
		return
	}
	if end < start {
		err = fmt.Errorf("%w: end %d before start %d", errLayout, end, start)
	}
	return
}

func (g *gatlingBin) request() error {
	if _, err := g.groups(); err != nil {
		return err
	}
	name, err := g.cached()
	if err != nil {
		return err
	}
	start, end, err := g.times()
	if err != nil {
		return err
	}
	ok, err := g.boolean()
	if err != nil {
		return err
	}
	if _, err := g.cached(); err != nil { // message
		return err
	}
	if g.o.Transactions.keep(false) {
		g.emit(name, start, end, ok)
	}
	return nil
}

func (g *gatlingBin) group() error {
	path, err := g.groups()
	if err != nil {
		return err
	}
	start, end, err := g.times()
	if err != nil {
		return err
	}
	if _, err := g.i32(); err != nil { // cumulated response time
		return err
	}
	ok, err := g.boolean()
	if err != nil {
		return err
	}
	if g.o.Transactions.keep(true) {
		g.emit(path, start, end, ok)
	}
	return nil
}

func (g *gatlingBin) user() error {
	if _, err := g.i32(); err != nil { // scenario index
		return err
	}
	start, err := g.boolean()
	if err != nil {
		return err
	}
	t, err := g.i32()
	if err != nil {
		return err
	}
	if start {
		g.users++
	} else if g.users > 0 {
		g.users--
	}
	g.sink.Users(g.s.Run, float64(g.users), time.UnixMilli(g.start+int64(t)))
	return nil
}

func (g *gatlingBin) emit(label string, start, end int32, ok bool) {
	s := &g.s
	s.Label = label
	s.Code = ""
	s.Success = ok
	s.Elapsed = time.Duration(end-start) * time.Millisecond
	s.BytesReceived, s.BytesSent = 0, 0
	s.Time = time.UnixMilli(g.start + int64(end))
	g.sink.Sample(s)
}
