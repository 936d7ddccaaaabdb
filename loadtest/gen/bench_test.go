package gen

import (
	"bytes"
	"context"
	"io"
	"net"
	"testing"
	"time"
)

// cannedServer answers every request on a connection with a fixed response,
// allocating nothing per request, so that a benchmark's allocs/op are the
// generator's own.
func cannedServer(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { l.Close() })
	resp := []byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, World!")
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn) {
				defer c.Close()
				buf := make([]byte, 64<<10)
				out := make([]byte, 0, 64<<10)
				tail := 0 // bytes of a request end split across reads
				for {
					n, err := c.Read(buf[tail:])
					if err != nil {
						return
					}
					data := buf[:tail+n]
					k := bytes.Count(data, []byte("\r\n\r\n"))
					last := bytes.LastIndex(data, []byte("\r\n\r\n"))
					rest := data[last+4:]
					if last < 0 {
						rest = data
					}
					if len(rest) > 3 {
						rest = rest[len(rest)-3:]
					}
					tail = copy(buf, rest)
					out = out[:0]
					for i := 0; i < k; i++ {
						out = append(out, resp...)
					}
					if _, err := c.Write(out); err != nil {
						return
					}
				}
			}(c)
		}
	}()
	return "http://" + l.Addr().String() + "/"
}

func benchmarkRequests(b *testing.B, withMetrics, withJTL bool) {
	url := cannedServer(b)
	tg, err := NewTarget("GET", url, nil, nil, "")
	if err != nil {
		b.Fatal(err)
	}
	cfg := Config{Targets: []*Target{tg}, Duration: time.Hour, MaxInFlight: 1, KeepAlive: true, Run: "bench"}
	if withMetrics {
		cfg.Metrics = NewMetrics()
	}
	if withJTL {
		cfg.JTL = io.Discard
	}
	r, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	r.start = time.Now()
	w := r.newWorker(0)
	ctx := context.Background()
	w.do(ctx, time.Now()) // dial outside the measurement
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		w.do(ctx, time.Now())
	}
	b.StopTimer()
	if st := r.Stats(); st.Failed != 0 {
		b.Fatalf("%d requests failed: %v", st.Failed, st.Errors)
	}
	r.closePools()
}

// BenchmarkRequest is one request-response on a kept-alive loopback
// connection: the generator's per-request cost, allocations included.
func BenchmarkRequest(b *testing.B)            { benchmarkRequests(b, false, false) }
func BenchmarkRequestWithMetrics(b *testing.B) { benchmarkRequests(b, true, false) }
func BenchmarkRequestWithJTL(b *testing.B)     { benchmarkRequests(b, false, true) }

func BenchmarkHistRecord(b *testing.B) {
	var h Hist
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		h.Record(time.Duration(i&0xfffff) * time.Microsecond)
	}
}
