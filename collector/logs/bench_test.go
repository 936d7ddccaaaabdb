package logs

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-kit/log"
)

// BenchmarkConsume measures parsing and matching of an in-memory chunk of
// CRI records (no I/O) and shows that lines do not allocate.
func BenchmarkConsume(b *testing.B) {
	for _, tc := range []struct {
		name  string
		rules string
		dense bool // 88-byte lines, 22% matching (else ~140 bytes, 1%)
	}{
		{"two-rules", testRules(b), false},
		{"default-rules", "", false},
		{"dense/two-rules", testRules(b), true},
		{"dense/default-rules", "", true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			tl, err := NewTailer(Config{Path: b.TempDir(), RulesFile: tc.rules}, log.NewNopLogger())
			if err != nil {
				b.Fatal(err)
			}
			var sb strings.Builder
			ts := time.Date(2025, 3, 21, 14, 0, 0, 0, time.UTC)
			for i := 0; sb.Len() < 256<<10-200; i++ {
				msg := fmt.Sprintf("level=info GET /api/v1/orders user=alice status=200 latency_ms=%d cache=hit region=eu-west-1", i%97)
				switch i % 100 {
				case 0:
					msg = "level=error ERROR upstream refused connection " + msg
				case 1:
					msg = "level=warn upstream Timed Out after 30s " + msg
				}
				if tc.dense {
					lvl := "info"
					if i%9 < 2 {
						lvl = "ERROR"
					}
					switch i % 3 {
					case 0:
						msg = fmt.Sprintf(`{"level":"%s","msg":"GET /xxxxx","id":%05d}`, lvl, i%100000)
					case 1:
						msg = fmt.Sprintf(`level=%s msg="GET /xxxxxxx" id=%05d`, lvl, i%100000)
					default:
						msg = fmt.Sprintf(`%s GET /xxxxxxxxxxxxxxxxxxxxx id=%05d`, lvl, i%100000)
					}
				}
				fmt.Fprintf(&sb, "%s stdout F %s\n", ts.Add(time.Duration(i)*time.Microsecond).Format(time.RFC3339Nano), msg)
			}
			chunk := []byte(sb.String())
			c := &container{matches: make([]atomic.Uint64, len(tl.rules.rules))}
			s := &series{c: c}
			w := newWorker(0, tl.rules.numLits)
			b.SetBytes(int64(len(chunk)))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				f := &file{current: true}
				if n := tl.consume(w, s, f, chunk, false, false); n != len(chunk) {
					b.Fatalf("consumed %d of %d", n, len(chunk))
				}
			}
		})
	}
}
