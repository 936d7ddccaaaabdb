package collector

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/klauspost/compress/flate"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/kubepulse/kubepulse/internal/catalog"
)

var (
	scrapeDuration = catalog.ScrapeCollectorDurationSeconds
	scrapeSuccess  = catalog.ScrapeCollectorSuccess
	// Declared here so generate can check queries against it; the metric itself
	// comes from client_golang's version collector registered by the exporter.
)

// HandlerOpts configures the /metrics handler.
type HandlerOpts struct {
	// Gatherer provides metrics that live outside the collectors (process, Go
	// runtime, build info). May be nil.
	Gatherer prometheus.Gatherer
	// MaxRequests bounds concurrent scrapes; further ones get 503. 0 means no limit.
	MaxRequests int
	Logger      log.Logger
}

// Handler returns the /metrics handler for the set.
func (s *Set) Handler(o HandlerOpts) http.Handler {
	h := &handler{set: s, opts: o}
	if o.Logger == nil {
		h.opts.Logger = log.NewNopLogger()
	}
	if o.MaxRequests > 0 {
		h.sem = make(chan struct{}, o.MaxRequests)
	}
	return h
}

type handler struct {
	set  *Set
	opts HandlerOpts
	sem  chan struct{}
}

var bufPool = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 256<<10) }}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.sem != nil {
		select {
		case h.sem <- struct{}{}:
			defer func() { <-h.sem }()
		default:
			http.Error(w, fmt.Sprintf("limit of concurrent requests reached (%d), try again later", cap(h.sem)), http.StatusServiceUnavailable)
			return
		}
	}
	format := h.set.negotiate(r.Header)
	w.Header().Set("Content-Type", string(format))

	var out io.Writer = w
	if gzipAccepted(r.Header) {
		w.Header().Set("Content-Encoding", "gzip")
		// klauspost's deflate at level 1, over 1 MiB chunks on every core
		// (pgzip.go): at 150k pods compression is most of a gzip scrape.
		gz := newParallelGzip(w, flate.BestSpeed)
		defer func() {
			if err := gz.Close(); err != nil {
				level.Debug(h.opts.Logger).Log("msg", "error writing compressed metrics", "err", err)
			}
		}()
		out = gz
	}
	bw := bufPool.Get().(*bufio.Writer)
	bw.Reset(out)
	defer func() { bw.Reset(nil); bufPool.Put(bw) }()

	if err := h.set.WriteTo(bw, format, h.opts.Gatherer); err != nil {
		level.Error(h.opts.Logger).Log("msg", "error writing metrics", "err", err)
	}
	if err := bw.Flush(); err != nil {
		level.Debug(h.opts.Logger).Log("msg", "error flushing metrics", "err", err)
	}
}

// negotiate picks the exposition format. Pre-rendered bytes are text, and
// converting them to protobuf costs a full parse per scrape (tens of seconds
// at 150k pods), so a set with raw writers serves text whenever the scraper
// accepts it, even if it prefers protobuf. Native histograms (load-test
// latency) therefore need protobuf from an exporter without raw collectors;
// docs/exporter.md says so.
func (s *Set) negotiate(h http.Header) expfmt.Format {
	if s.hasRaw() && acceptsText(h.Get("Accept")) {
		return expfmt.NegotiateAccept(h, expfmt.FmtText)
	}
	return expfmt.NegotiateAccept(h, expfmt.FmtProtoDelim, expfmt.FmtText)
}

func (s *Set) hasRaw() bool {
	for _, n := range s.collectors {
		if _, ok := n.c.(RawWriter); ok {
			return true
		}
	}
	return false
}

func acceptsText(accept string) bool {
	if accept == "" {
		return true
	}
	for _, part := range strings.Split(accept, ",") {
		mt := strings.TrimSpace(strings.SplitN(part, ";", 2)[0])
		if mt == "text/plain" || mt == "text/*" || mt == "*/*" {
			return true
		}
	}
	return false
}

func gzipAccepted(h http.Header) bool {
	for _, part := range strings.Split(h.Get("Accept-Encoding"), ",") {
		if strings.TrimSpace(strings.SplitN(part, ";", 2)[0]) == "gzip" {
			return true
		}
	}
	return false
}

type result struct {
	name     string
	duration time.Duration
	err      error
	metrics  []prometheus.Metric
}

// WriteTo runs one scrape of every collector and writes it to w in format.
// Pre-rendered families go first, streamed straight from the collectors'
// stores; then the gathered families, which include every collector's
// duration and success for this scrape.
func (s *Set) WriteTo(w io.Writer, format expfmt.Format, extra prometheus.Gatherer) error {
	results := make([]result, len(s.collectors))
	var wg sync.WaitGroup
	for i, n := range s.collectors {
		results[i].name = n.name
		wg.Add(1)
		go func(i int, c Collector) {
			defer wg.Done()
			ch := make(chan prometheus.Metric, 64)
			done := make(chan struct{})
			go func() {
				for m := range ch {
					results[i].metrics = append(results[i].metrics, m)
				}
				close(done)
			}()
			start := time.Now()
			err := safeUpdate(c, ch)
			close(ch)
			<-done
			results[i].duration = time.Since(start)
			results[i].err = err
		}(i, n.c)
	}

	// Raw writers stream while the Update collectors run; their time and
	// errors are merged in after wg.Wait to avoid racing the goroutines.
	proto := format.FormatType() == expfmt.TypeProtoDelim
	rawDur := make([]time.Duration, len(s.collectors))
	rawErr := make([]error, len(s.collectors))
	for i, n := range s.collectors {
		raw, ok := n.c.(RawWriter)
		if !ok {
			continue
		}
		start := time.Now()
		if proto {
			rawErr[i] = writeRawAsProto(w, raw, format)
		} else {
			rawErr[i] = raw.WriteRaw(w)
		}
		rawDur[i] = time.Since(start)
	}
	wg.Wait()
	var firstErr error
	for i := range results {
		results[i].duration += rawDur[i]
		if rawErr[i] != nil {
			if results[i].err == nil {
				results[i].err = rawErr[i]
			}
			if firstErr == nil {
				firstErr = rawErr[i]
			}
		}
	}

	for _, r := range results {
		if r.err != nil {
			level.Error(s.logger).Log("msg", "collector failed", "collector", r.name, "duration_seconds", r.duration.Seconds(), "err", r.err)
		}
	}
	reg := prometheus.NewRegistry()
	if err := reg.Register(scrapeResults(results)); err != nil {
		return err
	}
	gs := prometheus.Gatherers{reg}
	if extra != nil {
		gs = append(gs, extra)
	}
	mfs, gerr := gs.Gather()
	enc := expfmt.NewEncoder(w, format)
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			return err
		}
	}
	if c, ok := enc.(expfmt.Closer); ok {
		if err := c.Close(); err != nil {
			return err
		}
	}
	if gerr != nil {
		return gerr
	}
	return firstErr
}

// safeUpdate turns a collector panic into a failed scrape of that collector,
// so one bad collector cannot take the exporter down.
func safeUpdate(c Collector, ch chan<- prometheus.Metric) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return c.Update(ch)
}

type scrapeResults []result

func (r scrapeResults) Describe(chan<- *prometheus.Desc) {} // unchecked: families vary per scrape

func (r scrapeResults) Collect(ch chan<- prometheus.Metric) {
	dd, sd := Desc(scrapeDuration), Desc(scrapeSuccess)
	for _, res := range r {
		for _, m := range res.metrics {
			ch <- m
		}
		ok := 1.0
		if res.err != nil {
			ok = 0
		}
		ch <- prometheus.MustNewConstMetric(dd, prometheus.GaugeValue, res.duration.Seconds(), res.name)
		ch <- prometheus.MustNewConstMetric(sd, prometheus.GaugeValue, ok, res.name)
	}
}

// writeRawAsProto converts pre-rendered text to delimited protobuf. It costs a
// parse per scrape, so the text format stays the fast path; protobuf is only
// negotiated by Prometheus servers that want native histograms.
func writeRawAsProto(w io.Writer, raw RawWriter, format expfmt.Format) error {
	var buf bytes.Buffer
	if err := raw.WriteRaw(&buf); err != nil {
		return err
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	mfs, err := p.TextToMetricFamilies(&buf)
	if err != nil {
		return fmt.Errorf("re-parsing pre-rendered metrics: %w", err)
	}
	enc := expfmt.NewEncoder(w, format)
	for _, mf := range sortedFamilies(mfs) {
		if err := enc.Encode(mf); err != nil {
			return err
		}
	}
	return nil
}

func sortedFamilies(m map[string]*dto.MetricFamily) []*dto.MetricFamily {
	out := make([]*dto.MetricFamily, 0, len(m))
	for _, mf := range m {
		out = append(out, mf)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].GetName() < out[j].GetName() })
	return out
}
