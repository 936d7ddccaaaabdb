package gen

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// The generator speaks HTTP/1.1 itself over net.Conn instead of going through
// net/http: a request is a pre-rendered byte slice in which only the 55-byte
// traceparent value changes, and a response is parsed in place in the
// connection's bufio buffer and its body discarded, so a request costs no
// allocation. docs/benchmarks/loadtest.md has the measurement behind this
// (hey, a net/http client, against wrk).

const (
	traceparentLen = 55 // "00-" 32 hex "-" 16 hex "-01"
	inlineBodyMax  = 64 << 10
	readBufSize    = 16 << 10
)

// template is a target's request rendered once. Each worker keeps its own
// copy so that it can write the traceparent in place.
type template struct {
	target *Target
	buf    []byte
	tpOff  int    // offset of the traceparent value in buf
	body   []byte // written after buf when too large to inline
	sent   int64  // bytes per request
	head   bool
	pool   *connPool
	label  int // index into Runner.labels
}

func renderTemplate(t *Target, keepAlive bool, pool *connPool) *template {
	b := make([]byte, 0, 256+len(t.Body))
	b = append(b, t.Method...)
	b = append(b, ' ')
	b = append(b, t.URL.RequestURI()...)
	b = append(b, " HTTP/1.1\r\n"...)
	hasHost, hasUA := false, false
	for _, h := range t.Header {
		switch h[0] {
		case "Host":
			hasHost = true
		case "User-Agent":
			hasUA = true
		case "Traceparent", "Content-Length", "Connection", "Transfer-Encoding":
			continue // set by the generator
		}
	}
	if !hasHost {
		b = append(b, "Host: "...)
		b = append(b, t.URL.Host...)
		b = append(b, "\r\n"...)
	}
	if !hasUA {
		b = append(b, "User-Agent: kubepulse-loadtest\r\n"...)
	}
	for _, h := range t.Header {
		switch h[0] {
		case "Traceparent", "Content-Length", "Connection", "Transfer-Encoding":
			continue
		}
		b = append(b, h[0]...)
		b = append(b, ": "...)
		b = append(b, h[1]...)
		b = append(b, "\r\n"...)
	}
	if !keepAlive {
		b = append(b, "Connection: close\r\n"...)
	}
	if len(t.Body) > 0 || t.Method == "POST" || t.Method == "PUT" || t.Method == "PATCH" {
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, int64(len(t.Body)), 10)
		b = append(b, "\r\n"...)
	}
	b = append(b, "Traceparent: "...)
	off := len(b)
	b = append(b, "00-00000000000000000000000000000001-0000000000000001-01\r\n\r\n"...)
	tm := &template{target: t, tpOff: off, head: t.Method == "HEAD", pool: pool}
	if len(t.Body) <= inlineBodyMax {
		b = append(b, t.Body...)
	} else {
		tm.body = t.Body
	}
	tm.buf = b
	tm.sent = int64(len(b) + len(tm.body))
	return tm
}

func (t *template) clone() *template {
	c := *t
	c.buf = append([]byte(nil), t.buf...)
	return &c
}

const hexDigits = "0123456789abcdef"

// setTrace writes a W3C traceparent (version 00, sampled) into the template
// and returns the trace id's offset in buf.
func (t *template) setTrace(hi, lo, span uint64) {
	p := t.buf[t.tpOff+3 : t.tpOff+3+32]
	if hi == 0 && lo == 0 {
		lo = 1 // the all-zero trace id is invalid
	}
	if span == 0 {
		span = 1
	}
	putHex(p[:16], hi)
	putHex(p[16:], lo)
	putHex(t.buf[t.tpOff+36:t.tpOff+52], span)
}

func putHex(dst []byte, v uint64) {
	for i := 15; i >= 0; i-- {
		dst[i] = hexDigits[v&0xf]
		v >>= 4
	}
}

// traceID returns the current trace id (allocates; used for exemplars only).
func (t *template) traceID() string { return string(t.buf[t.tpOff+3 : t.tpOff+35]) }

// connPool keeps idle keep-alive connections to one host, last in first out
// so that a low rate reuses one hot connection.
type connPool struct {
	addr      string
	tlsConfig *tls.Config
	dialer    net.Dialer

	mu     sync.Mutex
	idle   []*conn
	live   map[*conn]struct{}
	closed bool
}

type conn struct {
	nc       net.Conn
	br       *bufio.Reader
	pool     *connPool
	deadline int64 // unix ns of the deadline set on nc; 0 when none
}

func newConnPool(addr string, tlsConfig *tls.Config, dialTimeout time.Duration) *connPool {
	return &connPool{addr: addr, tlsConfig: tlsConfig, dialer: net.Dialer{Timeout: dialTimeout}, live: map[*conn]struct{}{}}
}

// get returns an idle connection, or nil when the caller must dial.
func (p *connPool) get() *conn {
	p.mu.Lock()
	n := len(p.idle)
	if n == 0 {
		p.mu.Unlock()
		return nil
	}
	c := p.idle[n-1]
	p.idle[n-1] = nil
	p.idle = p.idle[:n-1]
	p.mu.Unlock()
	return c
}

func (p *connPool) put(c *conn) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		c.close()
		return
	}
	p.idle = append(p.idle, c)
	p.mu.Unlock()
}

func (p *connPool) dial(ctx context.Context) (*conn, error) {
	nc, err := p.dialer.DialContext(ctx, "tcp", p.addr)
	if err != nil {
		return nil, err
	}
	if tc, ok := nc.(*net.TCPConn); ok {
		_ = tc.SetNoDelay(true)
	}
	if p.tlsConfig != nil {
		tc := tls.Client(nc, p.tlsConfig)
		if err := tc.HandshakeContext(ctx); err != nil {
			nc.Close()
			return nil, &tlsError{err}
		}
		nc = tc
	}
	c := &conn{nc: nc, br: bufio.NewReaderSize(nc, readBufSize), pool: p}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		nc.Close()
		return nil, errInterrupted
	}
	p.live[c] = struct{}{}
	p.mu.Unlock()
	return c, nil
}

func (c *conn) close() {
	c.nc.Close()
	c.pool.mu.Lock()
	delete(c.pool.live, c)
	c.pool.mu.Unlock()
}

// closeAll closes every connection, idle or busy; busy requests then fail
// and are counted as interrupted.
func (p *connPool) closeAll() {
	p.mu.Lock()
	p.closed = true
	for c := range p.live {
		c.nc.Close()
	}
	p.idle = nil
	p.mu.Unlock()
}

type tlsError struct{ err error }

func (e *tlsError) Error() string { return "TLS handshake: " + e.err.Error() }
func (e *tlsError) Unwrap() error { return e.err }

var errInterrupted = errors.New("interrupted by shutdown")

// protoError is a response that is not valid HTTP/1.x.
type protoError string

func (e protoError) Error() string { return "bad HTTP response: " + string(e) }

// response is what the generator keeps of one response.
type response struct {
	code      int
	bytes     int64
	keepAlive bool
}

// readLine returns the next line including its "\n", valid until the next read.
func readLine(br *bufio.Reader) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		return nil, protoError("header line longer than 16 KiB")
	}
	return line, err
}

// readResponse parses one response and discards its body. When firstByte is
// not nil it is set once the status line has arrived (time to first byte).
func readResponse(br *bufio.Reader, head bool, firstByte *time.Time) (response, error) {
	var r response
	for {
		line, err := readLine(br)
		if err != nil {
			if r.bytes == 0 && len(line) == 0 && err == io.EOF {
				return r, io.EOF
			}
			return r, unexpectedEOF(err)
		}
		if firstByte != nil {
			*firstByte = time.Now()
			firstByte = nil
		}
		r.bytes += int64(len(line))
		if len(line) < 12 || string(line[:7]) != "HTTP/1." || line[8] != ' ' ||
			!isDigit(line[9]) || !isDigit(line[10]) || !isDigit(line[11]) || (len(line) > 12 && line[12] != ' ' && line[12] != '\r' && line[12] != '\n') {
			return r, protoError(fmt.Sprintf("status line %q", trimEOL(line)))
		}
		r.code = int(line[9]-'0')*100 + int(line[10]-'0')*10 + int(line[11]-'0')
		if r.code < 100 {
			return r, protoError(fmt.Sprintf("status code %03d in %q", r.code, trimEOL(line)))
		}
		r.keepAlive = line[7] == '1'
		contentLength := int64(-1)
		chunked := false
		for {
			line, err = readLine(br)
			if err != nil {
				return r, unexpectedEOF(err)
			}
			r.bytes += int64(len(line))
			h := trimEOL(line)
			if len(h) == 0 {
				break
			}
			colon := indexByte(h, ':')
			if colon <= 0 {
				return r, protoError(fmt.Sprintf("header line %q", h))
			}
			name, val := h[:colon], trimSpace(h[colon+1:])
			switch {
			case equalFold(name, "content-length"):
				n, ok := parseUint(val)
				if !ok {
					return r, protoError(fmt.Sprintf("Content-Length %q", val))
				}
				contentLength = n
			case equalFold(name, "transfer-encoding"):
				chunked = hasToken(val, "chunked")
			case equalFold(name, "connection"):
				if hasToken(val, "close") {
					r.keepAlive = false
				} else if hasToken(val, "keep-alive") {
					r.keepAlive = true
				}
			}
		}
		if r.code >= 100 && r.code < 200 && r.code != 101 {
			continue // interim response; the real one follows
		}
		switch {
		case head || r.code == 204 || r.code == 304 || r.code == 101:
		case chunked:
			n, err := discardChunked(br)
			r.bytes += n
			if err != nil {
				return r, err
			}
		case contentLength >= 0:
			n, err := br.Discard(int(contentLength))
			r.bytes += int64(n)
			if err != nil {
				return r, unexpectedEOF(err)
			}
		default: // body until close
			r.keepAlive = false
			for {
				n, err := br.Discard(readBufSize)
				r.bytes += int64(n)
				if err == io.EOF {
					break
				}
				if err != nil {
					return r, err
				}
			}
		}
		return r, nil
	}
}

func discardChunked(br *bufio.Reader) (int64, error) {
	var total int64
	for {
		line, err := readLine(br)
		if err != nil {
			return total, unexpectedEOF(err)
		}
		total += int64(len(line))
		h := trimEOL(line)
		if i := indexByte(h, ';'); i >= 0 {
			h = h[:i]
		}
		size, ok := parseHex(trimSpace(h))
		if !ok {
			return total, protoError(fmt.Sprintf("chunk size %q", trimEOL(line)))
		}
		if size == 0 {
			for { // trailers up to the empty line
				line, err := readLine(br)
				if err != nil {
					return total, unexpectedEOF(err)
				}
				total += int64(len(line))
				if len(trimEOL(line)) == 0 {
					return total, nil
				}
			}
		}
		n, err := br.Discard(int(size))
		total += int64(n)
		if err != nil {
			return total, unexpectedEOF(err)
		}
		line, err = readLine(br)
		if err != nil {
			return total, unexpectedEOF(err)
		}
		total += int64(len(line))
		if len(trimEOL(line)) != 0 {
			return total, protoError("chunk not followed by CRLF")
		}
	}
}

func unexpectedEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func trimEOL(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
		if n := len(b); n > 0 && b[n-1] == '\r' {
			b = b[:n-1]
		}
	}
	return b
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}

// equalFold compares b with a lower-case ASCII string.
func equalFold(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i := range b {
		c := b[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// hasToken reports whether a comma-separated header value holds tok.
func hasToken(v []byte, tok string) bool {
	for len(v) > 0 {
		i := indexByte(v, ',')
		part := v
		if i >= 0 {
			part, v = v[:i], v[i+1:]
		} else {
			v = nil
		}
		if equalFold(trimSpace(part), tok) {
			return true
		}
	}
	return false
}

func parseUint(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if !isDigit(c) {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

func parseHex(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 15 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			n = n<<4 | int64(c-'0')
		case c >= 'a' && c <= 'f':
			n = n<<4 | int64(c-'a'+10)
		case c >= 'A' && c <= 'F':
			n = n<<4 | int64(c-'A'+10)
		default:
			return 0, false
		}
	}
	return n, true
}

// Error kinds, the failure breakdown of the summary. They are also the
// response code written for a request that got no HTTP response.
type errKind uint8

const (
	errNone errKind = iota
	errTimeout
	errRefused
	errReset
	errEOF
	errTLS
	errProto
	errDial
	errOther
	errDNS
	numErrKinds
)

var errKindNames = [numErrKinds]string{"", "timeout", "connection refused", "connection reset", "connection closed", "tls", "bad response", "dial", "other", "dns"}

func (k errKind) String() string { return errKindNames[k] }

func classify(err error) errKind {
	if err == nil {
		return errNone // before the errors.As targets, which escape to the heap
	}
	return classifyErr(err)
}

func classifyErr(err error) errKind {
	var ne net.Error
	var pe protoError
	var te *tlsError
	var oe *net.OpError
	var de *net.DNSError
	switch {
	case errors.As(err, &de): // before timeout: a DNS timeout is a DNS problem
		return errDNS
	case errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return errTimeout
	case errors.Is(err, syscall.ECONNREFUSED):
		return errRefused
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return errReset
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return errEOF
	case errors.As(err, &te):
		return errTLS
	case errors.As(err, &pe):
		return errProto
	case errors.As(err, &oe) && oe.Op == "dial":
		return errDial
	}
	return errOther
}
