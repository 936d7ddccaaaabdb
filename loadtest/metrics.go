// Package loadtest holds the one metric schema that every load-test source
// feeds: result files ingested by the exporter (collector/loadtest, parsers in
// loadtest/parse) and kubepulse's own generator (loadtest/gen). Dashboards,
// alerts and the tuner read these names, so they are defined once, here.
package loadtest

import (
	"strings"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kubepulse/kubepulse/internal/catalog"
)

// Sample is one finished request, whatever tool produced it.
type Sample struct {
	Run   string
	Label string // sampler, request or target name
	Code  string // response code as the tool reports it; "" when none
	// Success is the tool's verdict (JMeter success, Gatling OK/KO, k6
	// expected_response), which may differ from the code.
	Success       bool
	Elapsed       time.Duration
	BytesReceived int64
	BytesSent     int64
	Time          time.Time // when the sample ended, or started when the tool says only that
	TraceID       string    // W3C trace id; attached as an exemplar when set
}

const collectorName = "loadtest"

// Metric definitions, shared by the ingestion collector and the generator.
var (
	RequestsDef      = catalog.LoadtestRequestsTotal
	DurationDef      = catalog.LoadtestRequestDurationSeconds
	BytesReceivedDef = catalog.LoadtestBytesReceivedTotal
	BytesSentDef     = catalog.LoadtestBytesSentTotal
	ActiveUsersDef   = catalog.LoadtestActiveUsers
	LastSampleDef    = catalog.LoadtestLastSampleTimestampSeconds
	ParseErrorsDef   = catalog.LoadtestParseErrorsTotal
)

// DurationBuckets are the classic buckets, kept next to native ones so that
// Prometheus servers without native histograms still get quantiles.
var DurationBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}

// Metrics is the schema as client_golang vectors. It implements
// prometheus.Collector.
type Metrics struct {
	Requests      *prometheus.CounterVec
	Duration      *prometheus.HistogramVec
	BytesReceived *prometheus.CounterVec
	BytesSent     *prometheus.CounterVec
	ActiveUsers   *prometheus.GaugeVec
	LastSample    *prometheus.GaugeVec
	ParseErrors   *prometheus.CounterVec
}

// NewMetrics builds an empty schema.
func NewMetrics() *Metrics {
	return &Metrics{
		Requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: RequestsDef.Name, Help: RequestsDef.Help}, RequestsDef.Labels),
		Duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: DurationDef.Name, Help: DurationDef.Help,
			Buckets:                         DurationBuckets,
			NativeHistogramBucketFactor:     1.1,
			NativeHistogramMaxBucketNumber:  160,
			NativeHistogramMinResetDuration: time.Hour,
		}, DurationDef.Labels),
		BytesReceived: prometheus.NewCounterVec(prometheus.CounterOpts{Name: BytesReceivedDef.Name, Help: BytesReceivedDef.Help}, BytesReceivedDef.Labels),
		BytesSent:     prometheus.NewCounterVec(prometheus.CounterOpts{Name: BytesSentDef.Name, Help: BytesSentDef.Help}, BytesSentDef.Labels),
		ActiveUsers:   prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: ActiveUsersDef.Name, Help: ActiveUsersDef.Help}, ActiveUsersDef.Labels),
		LastSample:    prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: LastSampleDef.Name, Help: LastSampleDef.Help}, LastSampleDef.Labels),
		ParseErrors:   prometheus.NewCounterVec(prometheus.CounterOpts{Name: ParseErrorsDef.Name, Help: ParseErrorsDef.Help}, ParseErrorsDef.Labels),
	}
}

func (m *Metrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.Requests, m.Duration, m.BytesReceived, m.BytesSent, m.ActiveUsers, m.LastSample, m.ParseErrors}
}

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, c := range m.collectors() {
		c.Describe(ch)
	}
}

// Collect implements prometheus.Collector.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	for _, c := range m.collectors() {
		c.Collect(ch)
	}
}

// Result returns the result label for a verdict.
func Result(success bool) string {
	if success {
		return "success"
	}
	return "failure"
}

// Observe records one sample. Hot paths that observe millions of samples
// should cache the vector children instead.
func (m *Metrics) Observe(s Sample) {
	s.Run, s.Label, s.Code = labelValue(s.Run), labelValue(s.Label), labelValue(s.Code)
	m.Requests.WithLabelValues(s.Run, s.Label, s.Code, Result(s.Success)).Inc()
	h := m.Duration.WithLabelValues(s.Run, s.Label)
	if s.TraceID != "" {
		h.(prometheus.ExemplarObserver).ObserveWithExemplar(s.Elapsed.Seconds(), prometheus.Labels{"trace_id": s.TraceID})
	} else {
		h.Observe(s.Elapsed.Seconds())
	}
	if s.BytesReceived > 0 {
		m.BytesReceived.WithLabelValues(s.Run, s.Label).Add(float64(s.BytesReceived))
	}
	if s.BytesSent > 0 {
		m.BytesSent.WithLabelValues(s.Run, s.Label).Add(float64(s.BytesSent))
	}
	if !s.Time.IsZero() {
		m.LastSample.WithLabelValues(s.Run).Set(unixSeconds(s.Time))
	}
}

// Observer records samples like Metrics.Observe but keeps the vector
// children it has looked up, so a sample costs one map lookup instead of four
// label hashes. It is not safe for concurrent use: give each goroutine (each
// tailed file) its own.
type Observer struct {
	m      *Metrics
	series map[seriesKey]*series
	runs   map[string]*runSeries
}

type seriesKey struct {
	run, label, code string
	success          bool
}

type series struct {
	run, label string // as label values
	requests   prometheus.Counter
	duration   prometheus.Observer
	recv, sent prometheus.Counter // created on first use: not every tool reports bytes
}

type runSeries struct {
	label       string
	users, last prometheus.Gauge // created on first use
	newest      float64
}

// maxCachedSeries bounds the cache for files with unbounded label values
// (e.g. a URL per request); past it, lookups go to the vectors directly.
const maxCachedSeries = 50000

// NewObserver returns an Observer writing to m.
func (m *Metrics) NewObserver() *Observer {
	return &Observer{m: m, series: map[seriesKey]*series{}, runs: map[string]*runSeries{}}
}

func (o *Observer) run(run string) *runSeries {
	r, ok := o.runs[run]
	if !ok {
		r = &runSeries{label: labelValue(run)}
		o.runs[run] = r
	}
	return r
}

func (o *Observer) lookup(run, label, code string, success bool) *series {
	k := seriesKey{run, label, code, success}
	if s, ok := o.series[k]; ok {
		return s
	}
	run, label, code = labelValue(run), labelValue(label), labelValue(code)
	s := &series{
		requests: o.m.Requests.WithLabelValues(run, label, code, Result(success)),
		duration: o.m.Duration.WithLabelValues(run, label),
		run:      run,
		label:    label,
	}
	if len(o.series) < maxCachedSeries {
		o.series[k] = s
	}
	return s
}

// Observe records one sample. The last-sample gauge only moves forward:
// tools write rows out of time order (one writer per thread).
func (o *Observer) Observe(s *Sample) {
	se := o.lookup(s.Run, s.Label, s.Code, s.Success)
	se.requests.Inc()
	if s.TraceID != "" {
		se.duration.(prometheus.ExemplarObserver).ObserveWithExemplar(s.Elapsed.Seconds(), prometheus.Labels{"trace_id": s.TraceID})
	} else {
		se.duration.Observe(s.Elapsed.Seconds())
	}
	if s.BytesReceived > 0 {
		if se.recv == nil {
			se.recv = o.m.BytesReceived.WithLabelValues(se.run, se.label)
		}
		se.recv.Add(float64(s.BytesReceived))
	}
	if s.BytesSent > 0 {
		if se.sent == nil {
			se.sent = o.m.BytesSent.WithLabelValues(se.run, se.label)
		}
		se.sent.Add(float64(s.BytesSent))
	}
	if !s.Time.IsZero() {
		o.Seen(s.Run, s.Time)
	}
}

// Seen moves the run's last-sample timestamp forward to t.
func (o *Observer) Seen(run string, t time.Time) {
	r := o.run(run)
	if v := unixSeconds(t); v > r.newest {
		r.newest = v
		if r.last == nil {
			r.last = o.m.LastSample.WithLabelValues(r.label)
		}
		r.last.Set(v)
	}
}

// Users sets the run's active users.
func (o *Observer) Users(run string, n float64) {
	r := o.run(run)
	if r.users == nil {
		r.users = o.m.ActiveUsers.WithLabelValues(r.label)
	}
	r.users.Set(n)
}

// Bytes adds traffic that the tool reports apart from requests (k6 counts
// data_sent/data_received per iteration).
func (o *Observer) Bytes(run, label string, received, sent int64) {
	run, label = labelValue(run), labelValue(label)
	if received > 0 {
		o.m.BytesReceived.WithLabelValues(run, label).Add(float64(received))
	}
	if sent > 0 {
		o.m.BytesSent.WithLabelValues(run, label).Add(float64(sent))
	}
}

// ParseError counts one bad row of the run.
func (o *Observer) ParseError(run, reason string) {
	o.m.ParseErrors.WithLabelValues(labelValue(run), labelValue(reason)).Inc()
}

// labelValue makes s a valid label value: client_golang panics on invalid
// UTF-8, and result files are not always UTF-8.
func labelValue(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// unixSeconds converts without the rounding of UnixNano()/1e9, so that a
// millisecond time prints as such (1597707792.322, not ...7923219998).
func unixSeconds(t time.Time) float64 {
	return float64(t.Unix()) + float64(t.Nanosecond())/1e9
}
