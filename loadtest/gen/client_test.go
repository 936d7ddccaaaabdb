package gen

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

var traceparentRE = regexp.MustCompile(`^00-([0-9a-f]{32})-([0-9a-f]{16})-01$`)

func TestRenderedRequestIsValidHTTP(t *testing.T) {
	cases := []struct {
		method, url string
		headers     []string
		body        string
		keepAlive   bool
	}{
		{"GET", "http://127.0.0.1:8080/a?b=c", nil, "", true},
		{"POST", "http://127.0.0.1:8080/p", []string{"Content-Type: application/json", "X-Y: z"}, `{"a":1}`, false},
		{"PUT", "http://127.0.0.1:8080/big", nil, strings.Repeat("x", inlineBodyMax+10), true},
		{"GET", "http://127.0.0.1:8080/", []string{"Host: example.test", "User-Agent: me", "Traceparent: mine"}, "", true},
	}
	for _, c := range cases {
		tg, err := NewTarget(c.method, c.url, c.headers, []byte(c.body), "")
		if err != nil {
			t.Fatal(err)
		}
		tm := renderTemplate(tg, c.keepAlive, nil).clone()
		seen := map[string]bool{}
		for i := 0; i < 50; i++ {
			tm.setTrace(uint64(i)*7919, uint64(i), uint64(i)+3)
			raw := append(append([]byte(nil), tm.buf...), tm.body...)
			if int64(len(raw)) != tm.sent {
				t.Errorf("sent %d, request is %d bytes", tm.sent, len(raw))
			}
			req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
			if err != nil {
				t.Fatalf("%s %s: rendered request does not parse: %v\n%s", c.method, c.url, err, tm.buf)
			}
			body, _ := io.ReadAll(req.Body)
			if req.Method != c.method || req.URL.RequestURI() != tg.URL.RequestURI() || string(body) != c.body {
				t.Fatalf("parsed %s %s body %d bytes, want %s %s %d", req.Method, req.URL, len(body), c.method, tg.URL.RequestURI(), len(c.body))
			}
			tps := req.Header.Values("Traceparent")
			if len(tps) != 1 {
				t.Fatalf("traceparent headers %q, want exactly one", tps)
			}
			m := traceparentRE.FindStringSubmatch(tps[0])
			if m == nil {
				t.Fatalf("traceparent %q is not W3C version 00, sampled", tps[0])
			}
			if m[1] == strings.Repeat("0", 32) || m[2] == strings.Repeat("0", 16) {
				t.Fatalf("all-zero id in %q", tps[0])
			}
			if m[1] != tm.traceID() {
				t.Fatalf("traceID() %q, header %q", tm.traceID(), m[1])
			}
			if seen[m[1]] {
				t.Fatalf("trace id %s repeated", m[1])
			}
			seen[m[1]] = true
			if req.Close == c.keepAlive {
				t.Errorf("Connection: close = %v with keep-alive %v", req.Close, c.keepAlive)
			}
			for _, h := range c.headers {
				k, v, _ := strings.Cut(h, ": ")
				if k != "Traceparent" && req.Header.Get(k) != v && !(k == "Host" && req.Host == v) {
					t.Errorf("header %s = %q, want %q", k, req.Header.Get(k), v)
				}
			}
		}
	}
}

func TestReadResponse(t *testing.T) {
	cases := []struct {
		name      string
		in        string
		head      bool
		code      int
		keepAlive bool
		wantErr   string
		rest      string // what must be left for the next response
	}{
		{name: "content-length", in: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloNEXT", code: 200, keepAlive: true, rest: "NEXT"},
		{name: "chunked with trailer", in: "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\nA\r\n0123456789\r\n0\r\nX-T: 1\r\n\r\nNEXT", code: 201, keepAlive: true, rest: "NEXT"},
		{name: "head ignores length", in: "HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\nNEXT", head: true, code: 200, keepAlive: true, rest: "NEXT"},
		{name: "204", in: "HTTP/1.1 204 No Content\r\n\r\nNEXT", code: 204, keepAlive: true, rest: "NEXT"},
		{name: "100 continue first", in: "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nNEXT", code: 200, keepAlive: true, rest: "NEXT"},
		{name: "connection close", in: "HTTP/1.1 503 Service Unavailable\r\nconnection: Close\r\ncontent-length: 2\r\n\r\nno", code: 503, keepAlive: false},
		{name: "http/1.0 read to eof", in: "HTTP/1.0 200 OK\r\n\r\nbody until close", code: 200, keepAlive: false},
		{name: "http/1.0 keep-alive", in: "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\nxNEXT", code: 200, keepAlive: true, rest: "NEXT"},
		{name: "bare LF", in: "HTTP/1.1 404 Not Found\nContent-Length: 1\n\nxNEXT", code: 404, keepAlive: true, rest: "NEXT"},
		{name: "no reason phrase", in: "HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n", code: 200, keepAlive: true},
		{name: "not http", in: "SSH-2.0-OpenSSH\r\n", wantErr: "bad HTTP response: status line"},
		{name: "bad status", in: "HTTP/1.1 2x0 OK\r\n\r\n", wantErr: "status line"},
		{name: "status below 100", in: "HTTP/1.0 000 x\n\n", wantErr: "status code 000"},
		{name: "bad content-length", in: "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", wantErr: "Content-Length"},
		{name: "bad header", in: "HTTP/1.1 200 OK\r\nno colon\r\n\r\n", wantErr: "header line"},
		{name: "bad chunk", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", wantErr: "chunk size"},
		{name: "short body", in: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", wantErr: "unexpected EOF"},
		{name: "truncated headers", in: "HTTP/1.1 200 OK\r\nContent-Le", wantErr: "unexpected EOF"},
		{name: "closed before response", in: "", wantErr: "EOF"},
		{name: "huge header line", in: "HTTP/1.1 200 OK\r\nX: " + strings.Repeat("a", readBufSize) + "\r\n\r\n", wantErr: "longer than 16 KiB"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			br := bufio.NewReaderSize(strings.NewReader(c.in), readBufSize)
			var fb time.Time
			r, err := readResponse(br, c.head, &fb)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			rest, _ := io.ReadAll(br)
			if r.code != c.code || r.keepAlive != c.keepAlive || string(rest) != c.rest {
				t.Errorf("code %d keepAlive %v rest %q, want %d %v %q", r.code, r.keepAlive, rest, c.code, c.keepAlive, c.rest)
			}
			if want := int64(len(c.in) - len(c.rest)); r.bytes != want {
				t.Errorf("bytes %d, want %d", r.bytes, want)
			}
			if fb.IsZero() {
				t.Error("first-byte time not set")
			}
		})
	}
}

func TestClassify(t *testing.T) {
	cases := []struct {
		err  error
		want errKind
	}{
		{nil, errNone},
		{io.EOF, errEOF},
		{io.ErrUnexpectedEOF, errEOF},
		{protoError("x"), errProto},
		{&tlsError{errors.New("bad cert")}, errTLS},
		{errors.New("something"), errOther},
		{&net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: "x.invalid", IsNotFound: true}}, errDNS},
		{&net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "i/o timeout", Name: "x.invalid", IsTimeout: true}}, errDNS},
		{&net.OpError{Op: "dial", Net: "tcp", Err: errors.New("network unreachable")}, errDial},
	}
	for _, c := range cases {
		if got := classify(c.err); got != c.want {
			t.Errorf("classify(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}

func FuzzReadResponse(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
		"HTTP/1.0 200 OK\r\n\r\nx",
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffff\r\n",
	} {
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, in string, head bool) {
		br := bufio.NewReaderSize(strings.NewReader(in), readBufSize)
		r, err := readResponse(br, head, nil)
		if err == nil && (r.code < 100 || r.code > 999) {
			t.Fatalf("accepted status %d", r.code)
		}
		if r.bytes < 0 || r.bytes > int64(len(in)) {
			t.Fatalf("counted %d bytes of a %d-byte input", r.bytes, len(in))
		}
	})
}
