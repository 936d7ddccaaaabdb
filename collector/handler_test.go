package collector

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/kubepulse/kubepulse/internal/catalog"
)

var (
	testGaugeDef = &catalog.Family{Collector: "test", Name: "kubepulse_test_gauge", Help: "A test gauge.", Type: catalog.Gauge, Labels: []string{"k"}}
	testRawDef   = &catalog.Family{Collector: "test", Name: "kubepulse_test_raw", Help: "A pre-rendered test family.", Type: catalog.Gauge, Labels: []string{"obj"}}
)

type constCollector struct {
	value float64
	err   error
	panic bool
}

func (c constCollector) Update(ch chan<- prometheus.Metric) error {
	if c.panic {
		panic("boom")
	}
	ch <- prometheus.MustNewConstMetric(Desc(testGaugeDef), prometheus.GaugeValue, c.value, "v")
	return c.err
}

type rawCollector struct{ objs []string }

func (rawCollector) Update(chan<- prometheus.Metric) error { return nil }

func (r rawCollector) WriteRaw(w io.Writer) error {
	if _, err := io.WriteString(w, testRawDef.Header()); err != nil {
		return err
	}
	for i, o := range r.objs {
		if _, err := io.WriteString(w, testRawDef.Name+`{obj="`+o+`"} `+string(rune('1'+i))+"\n"); err != nil {
			return err
		}
	}
	return nil
}

func scrape(t *testing.T, h http.Handler, accept string) (*http.Response, map[string]*dto.MetricFamily) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	resp := rec.Result()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return resp, nil
	}
	return resp, decode(t, resp.Header.Get("Content-Type"), body)
}

func decode(t *testing.T, ctype string, body []byte) map[string]*dto.MetricFamily {
	t.Helper()
	out := map[string]*dto.MetricFamily{}
	dec := expfmt.NewDecoder(bytes.NewReader(body), expfmt.Format(ctype))
	for {
		mf := &dto.MetricFamily{}
		if err := dec.Decode(mf); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			t.Fatalf("decoding %q: %v\n%s", ctype, err, body)
		}
		if _, dup := out[mf.GetName()]; dup {
			t.Fatalf("family %s appears twice", mf.GetName())
		}
		out[mf.GetName()] = mf
	}
	return out
}

func valueOf(t *testing.T, mfs map[string]*dto.MetricFamily, name, label, value string) float64 {
	t.Helper()
	mf, ok := mfs[name]
	if !ok {
		t.Fatalf("family %s missing", name)
	}
	for _, m := range mf.GetMetric() {
		for _, lp := range m.GetLabel() {
			if lp.GetName() == label && lp.GetValue() == value {
				return m.GetGauge().GetValue()
			}
		}
	}
	t.Fatalf("%s{%s=%q} missing", name, label, value)
	return 0
}

func TestHandlerReportsEachCollector(t *testing.T) {
	tests := []struct {
		name        string
		c           Collector
		wantSuccess float64
		wantGauge   bool
	}{
		{"ok", constCollector{value: 3}, 1, true},
		{"error keeps partial output", constCollector{value: 4, err: errors.New("api down")}, 0, true},
		{"panic is contained", constCollector{panic: true}, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set := NewSet(log.NewNopLogger(), map[string]Collector{"a": tt.c, "raw": rawCollector{objs: []string{"x", "y"}}})
			for _, accept := range []string{"", string(expfmt.FmtProtoDelim)} {
				_, mfs := scrape(t, set.Handler(HandlerOpts{}), accept)
				if got := valueOf(t, mfs, scrapeSuccess.Name, "collector", "a"); got != tt.wantSuccess {
					t.Errorf("accept %q: success{a} = %v, want %v", accept, got, tt.wantSuccess)
				}
				if got := valueOf(t, mfs, scrapeSuccess.Name, "collector", "raw"); got != 1 {
					t.Errorf("accept %q: success{raw} = %v, want 1: one failing collector must not fail the others", accept, got)
				}
				valueOf(t, mfs, scrapeDuration.Name, "collector", "a")
				if _, ok := mfs[testGaugeDef.Name]; ok != tt.wantGauge {
					t.Errorf("accept %q: gauge present = %v, want %v", accept, ok, tt.wantGauge)
				}
				if got := valueOf(t, mfs, testRawDef.Name, "obj", "y"); got != 2 {
					t.Errorf("accept %q: raw{obj=y} = %v, want 2", accept, got)
				}
			}
		})
	}
}

func TestNegotiationPrefersTextForRawCollectors(t *testing.T) {
	// What Prometheus sends when native histograms are enabled.
	promAccept := `application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.6,text/plain;version=0.0.4;q=0.3`
	protoOnly := string(expfmt.FmtProtoDelim)
	tests := []struct {
		name   string
		cs     map[string]Collector
		accept string
		want   expfmt.FormatType
	}{
		{"raw, prometheus accept", map[string]Collector{"raw": rawCollector{}}, promAccept, expfmt.TypeTextPlain},
		{"raw, protobuf only", map[string]Collector{"raw": rawCollector{}}, protoOnly, expfmt.TypeProtoDelim},
		{"no raw, prometheus accept", map[string]Collector{"a": constCollector{}}, promAccept, expfmt.TypeProtoDelim},
		{"no raw, no accept", map[string]Collector{"a": constCollector{}}, "", expfmt.TypeTextPlain},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, _ := scrape(t, NewSet(log.NewNopLogger(), tt.cs).Handler(HandlerOpts{}), tt.accept)
			if got := expfmt.Format(resp.Header.Get("Content-Type")).FormatType(); got != tt.want {
				t.Fatalf("Content-Type %q, want format type %v", resp.Header.Get("Content-Type"), tt.want)
			}
		})
	}
}

func TestHandlerIncludesExtraGatherer(t *testing.T) {
	reg := prometheus.NewRegistry()
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "kubepulse_test_extra", Help: "x"})
	g.Set(7)
	reg.MustRegister(g)
	set := NewSet(log.NewNopLogger(), map[string]Collector{"raw": rawCollector{objs: []string{"x"}}})
	_, mfs := scrape(t, set.Handler(HandlerOpts{Gatherer: reg}), "")
	if got := mfs["kubepulse_test_extra"].GetMetric()[0].GetGauge().GetValue(); got != 7 {
		t.Fatalf("extra gauge = %v, want 7", got)
	}
}

func TestHandlerGzip(t *testing.T) {
	set := NewSet(log.NewNopLogger(), map[string]Collector{"raw": rawCollector{objs: []string{"x"}}})
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	req.Header.Set("Accept-Encoding", "deflate, gzip;q=1.0")
	rec := httptest.NewRecorder()
	set.Handler(HandlerOpts{}).ServeHTTP(rec, req)
	if rec.Header().Get("Content-Encoding") != "gzip" {
		t.Fatalf("Content-Encoding = %q, want gzip", rec.Header().Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(rec.Body)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(body), `kubepulse_test_raw{obj="x"} 1`) {
		t.Fatalf("gzip body lacks raw sample:\n%s", body)
	}
}

// blockingCollector holds a scrape open until released, to fill the limit.
type blockingCollector struct {
	entered chan struct{}
	release chan struct{}
}

func (b blockingCollector) Update(chan<- prometheus.Metric) error {
	b.entered <- struct{}{}
	<-b.release
	return nil
}

func TestHandlerMaxRequests(t *testing.T) {
	b := blockingCollector{entered: make(chan struct{}), release: make(chan struct{})}
	set := NewSet(log.NewNopLogger(), map[string]Collector{"block": b})
	h := set.Handler(HandlerOpts{MaxRequests: 1})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
		if rec.Code != http.StatusOK {
			t.Errorf("first scrape: status %d", rec.Code)
		}
	}()
	<-b.entered
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("second concurrent scrape: status %d, want 503", rec.Code)
	}
	close(b.release)
	wg.Wait()
}

func TestRawProtoConversionKeepsValues(t *testing.T) {
	var buf bytes.Buffer
	if err := writeRawAsProto(&buf, rawCollector{objs: []string{"a", "b", "c"}}, expfmt.FmtProtoDelim); err != nil {
		t.Fatal(err)
	}
	mfs := decode(t, string(expfmt.FmtProtoDelim), buf.Bytes())
	if n := len(mfs[testRawDef.Name].GetMetric()); n != 3 {
		t.Fatalf("got %d samples, want 3", n)
	}
	if mfs[testRawDef.Name].GetType() != dto.MetricType_GAUGE {
		t.Fatalf("type = %v, want gauge", mfs[testRawDef.Name].GetType())
	}
}

func TestRawProtoConversionRejectsBrokenText(t *testing.T) {
	var buf bytes.Buffer
	err := writeRawAsProto(&buf, brokenRaw{}, expfmt.FmtProtoDelim)
	if err == nil {
		t.Fatal("broken pre-rendered text was accepted")
	}
}

type brokenRaw struct{}

func (brokenRaw) WriteRaw(w io.Writer) error {
	_, err := io.WriteString(w, "kubepulse_broken{a=\"b\" 1\n")
	return err
}
