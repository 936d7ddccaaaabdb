package loadtest

import (
	"bytes"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
)

func render(t *testing.T, m *Metrics) string {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(m)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	for _, mf := range mfs {
		if _, err := expfmt.MetricFamilyToText(&b, mf); err != nil {
			t.Fatal(err)
		}
	}
	return b.String()
}

// The cached Observer must expose exactly what Metrics.Observe does.
func TestObserverMatchesObserve(t *testing.T) {
	t0 := time.Unix(1700000000, 0)
	samples := []Sample{
		{Run: "r", Label: "a", Code: "200", Success: true, Elapsed: 10 * time.Millisecond, BytesReceived: 100, BytesSent: 5, Time: t0},
		{Run: "r", Label: "a", Code: "500", Success: false, Elapsed: 3 * time.Second, BytesReceived: 1, Time: t0.Add(time.Second)},
		{Run: "r", Label: "b", Code: "", Success: true, Elapsed: 0},
		{Run: "r", Label: "a", Code: "200", Success: true, Elapsed: 20 * time.Millisecond, BytesSent: 7, Time: t0.Add(2 * time.Second)},
		{Run: "x\xff", Label: "bad\xfe", Code: "\x80", Success: true, Elapsed: time.Millisecond, BytesReceived: 1},
	}
	plain, cached := NewMetrics(), NewMetrics()
	o := cached.NewObserver()
	for _, s := range samples {
		plain.Observe(s)
		o.Observe(&s)
	}
	a, b := render(t, plain), render(t, cached)
	if a != b {
		t.Fatalf("Observe and Observer differ:\n%s\n---\n%s", a, b)
	}
	for _, want := range []string{
		`kubepulse_loadtest_requests_total{code="200",label="a",result="success",run="r"} 2`,
		`kubepulse_loadtest_bytes_received_total{label="a",run="r"} 101`,
		`kubepulse_loadtest_bytes_sent_total{label="a",run="r"} 12`,
		`kubepulse_loadtest_request_duration_seconds_count{label="a",run="r"} 3`,
		`kubepulse_loadtest_last_sample_timestamp_seconds{run="r"} 1.700000002e+09`,
		"run=\"x\uFFFD\"",
	} {
		if !bytes.Contains([]byte(b), []byte(want)) {
			t.Errorf("missing %s in\n%s", want, b)
		}
	}
}

func TestObserverLastSampleOnlyForward(t *testing.T) {
	m := NewMetrics()
	o := m.NewObserver()
	for _, sec := range []int64{100, 300, 200} {
		o.Seen("r", time.Unix(sec, 0))
	}
	o.Users("r", 7)
	o.Bytes("r", "", 10, 20)
	o.ParseError("r", "bad_number")
	out := render(t, m)
	for _, want := range []string{
		`kubepulse_loadtest_last_sample_timestamp_seconds{run="r"} 300`,
		`kubepulse_loadtest_active_users{run="r"} 7`,
		`kubepulse_loadtest_bytes_received_total{label="",run="r"} 10`,
		`kubepulse_loadtest_bytes_sent_total{label="",run="r"} 20`,
		`kubepulse_loadtest_parse_errors_total{reason="bad_number",run="r"} 1`,
	} {
		if !bytes.Contains([]byte(out), []byte(want)) {
			t.Errorf("missing %s in\n%s", want, out)
		}
	}
}
