// Package gen is kubepulse's open-model HTTP load generator: requests are
// sent at intended times computed from an arrival-rate profile, latency is
// measured from the intended time (no coordinated omission), and requests no
// worker could start on time are counted as dropped, as k6 does.
package gen

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/kubepulse/kubepulse/internal/catalog"
	"github.com/kubepulse/kubepulse/loadtest"
)

// DroppedDef counts requests of the profile that no worker could start
// within --max-delay of their intended time.
var DroppedDef = catalog.LoadtestDroppedRequestsTotal

// Config is one run.
type Config struct {
	Targets []*Target
	// Schedule is the open-model profile; nil means closed loop for Duration.
	Schedule    *Schedule
	Duration    time.Duration
	MaxInFlight int
	Timeout     time.Duration
	KeepAlive   bool
	TLS         *tls.Config // for https targets; nil means system roots
	// MaxDelay is how late a request may start before it counts as dropped.
	MaxDelay time.Duration
	// ShutdownGrace is how long in-flight requests may finish after the
	// context is cancelled before their connections are closed.
	ShutdownGrace time.Duration
	Run           string
	// Resolver looks up target hosts; nil means the system's.
	Resolver *net.Resolver
	Metrics  *Metrics  // nil: no Prometheus metrics
	JTL      io.Writer // nil: no results file
	Logger   log.Logger
}

// Metrics is the live /metrics state: the shared load-test schema plus the
// generator's dropped counter.
type Metrics struct {
	*loadtest.Metrics
	Dropped *prometheus.CounterVec
}

// NewMetrics builds the metrics a generator exposes.
func NewMetrics() *Metrics {
	return &Metrics{
		Metrics: loadtest.NewMetrics(),
		Dropped: prometheus.NewCounterVec(prometheus.CounterOpts{Name: DroppedDef.Name, Help: DroppedDef.Help}, DroppedDef.Labels),
	}
}

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	m.Metrics.Describe(ch)
	m.Dropped.Describe(ch)
}

// Collect implements prometheus.Collector.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	m.Metrics.Collect(ch)
	m.Dropped.Collect(ch)
}

const numShards = 8

// shard holds counters for a group of workers, so that workers on different
// cores do not fight over one cache line.
type shard struct {
	hist         Hist
	codes        [600]atomic.Int64
	errs         [numErrKinds]atomic.Int64
	ok, fail     atomic.Int64
	bytesIn      atomic.Int64
	bytesOut     atomic.Int64
	lastEnd      atomic.Int64 // unix ns
	lastExemplar atomic.Int64 // unix ns
	inFlight     atomic.Int64
}

// Runner executes a Config. Create with New, then call Run once.
type Runner struct {
	cfg        Config
	start      time.Time
	startNanos atomic.Int64 // start for readers that run beside Run (progress)
	end        atomic.Int64 // unix ns of the last completion

	mu   sync.Mutex // the scheduling token: its holder waits for the next intended time
	next int64
	idle atomic.Int64 // workers waiting for the token
	// scheduled mirrors next for readers: the token's holder keeps mu
	// while it sleeps until the next intended time.
	scheduled atomic.Int64

	shards      [numShards]shard
	dropped     atomic.Int64
	interrupted atomic.Int64
	stopping    atomic.Bool
	pools       map[string]*connPool
	templates   []*template

	jtlMu  sync.Mutex
	jtlErr error

	// firstErr keeps one message of each error kind for the summary.
	firstErr [numErrKinds]atomic.Pointer[string]
	// labels breaks the summary down by label when there are several.
	labels    []*labelStats
	cancelled atomic.Bool // ctx ended the run before the profile did
}

// New checks cfg and prepares connection pools and request templates.
func New(cfg Config) (*Runner, error) {
	if len(cfg.Targets) == 0 {
		return nil, errors.New("no target: give a URL or --targets FILE")
	}
	if cfg.MaxInFlight < 1 {
		return nil, fmt.Errorf("--max-in-flight %d must be at least 1", cfg.MaxInFlight)
	}
	if cfg.Schedule == nil && cfg.Duration <= 0 {
		return nil, errors.New("closed loop (--rate 0) needs a positive --duration")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.MaxDelay <= 0 {
		cfg.MaxDelay = 10 * time.Millisecond
	}
	if cfg.ShutdownGrace <= 0 {
		cfg.ShutdownGrace = 2 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = log.NewNopLogger()
	}
	r := &Runner{cfg: cfg, pools: map[string]*connPool{}}
	labels, labelOf := newLabelStats(cfg.Targets)
	r.labels = labels
	if cfg.Metrics != nil {
		cfg.Metrics.Dropped.WithLabelValues(cfg.Run) // exposed as 0 from the start
	}
	for ti, t := range cfg.Targets {
		p := r.pools[t.poolKey]
		if p == nil {
			var tc *tls.Config
			if t.URL.Scheme == "https" {
				tc = &tls.Config{}
				if cfg.TLS != nil {
					tc = cfg.TLS.Clone()
				}
				if tc.ServerName == "" {
					tc.ServerName = t.URL.Hostname()
				}
				tc.NextProtos = []string{"http/1.1"}
			}
			p = newConnPool(hostPort(t.URL), tc, cfg.Timeout)
			p.dialer.Resolver = cfg.Resolver
			r.pools[t.poolKey] = p
		}
		tm := renderTemplate(t, cfg.KeepAlive, p)
		if labelOf != nil {
			tm.label = labelOf[ti]
		}
		r.templates = append(r.templates, tm)
	}
	return r, nil
}

// Run sends the load until the profile is done or ctx is cancelled, then
// waits for in-flight requests and returns the summary.
func (r *Runner) Run(ctx context.Context) *Summary {
	r.start = time.Now()
	r.startNanos.Store(r.start.UnixNano())
	r.end.Store(r.start.UnixNano())
	done := make(chan struct{})
	go func() {
		select {
		case <-done:
		case <-ctx.Done():
			r.cancelled.Store(true)
			r.stopping.Store(true)
			t := time.NewTimer(r.cfg.ShutdownGrace)
			select {
			case <-done:
			case <-t.C:
				level.Warn(r.cfg.Logger).Log("msg", "closing connections of requests still in flight after the shutdown grace", "grace", r.cfg.ShutdownGrace)
				r.closePools()
			}
			t.Stop()
		}
	}()
	var wg sync.WaitGroup
	for i := 0; i < r.cfg.MaxInFlight; i++ {
		w := r.newWorker(i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.loop(ctx)
			w.flushJTL(true)
		}()
	}
	wg.Wait()
	close(done)
	r.closePools()
	return r.Summary()
}

func (r *Runner) closePools() {
	for _, p := range r.pools {
		p.closeAll()
	}
}

// JTLError returns the first error writing the results file.
func (r *Runner) JTLError() error {
	r.jtlMu.Lock()
	defer r.jtlMu.Unlock()
	return r.jtlErr
}

type promChildren struct {
	duration prometheus.Observer
	bytesIn  prometheus.Counter
	bytesOut prometheus.Counter
	requests map[int]prometheus.Counter // by code; errors as 1000+kind
}

type worker struct {
	r       *Runner
	id      int
	sh      *shard
	rng     *rand.PCG
	tmpls   []*template
	cumW    []int
	totalW  int
	timer   *time.Timer
	jtl     []byte
	prom    []promChildren
	free    time.Time // when the worker last became free
	thread  string
	scratch []byte
}

func (r *Runner) newWorker(id int) *worker {
	w := &worker{r: r, id: id, sh: &r.shards[id%numShards], rng: rand.NewPCG(rand.Uint64(), rand.Uint64())}
	for _, t := range r.templates {
		w.tmpls = append(w.tmpls, t.clone())
		w.totalW += t.target.Weight
		w.cumW = append(w.cumW, w.totalW)
	}
	w.thread = "kubepulse 1-" + strconv.Itoa(id+1)
	if r.cfg.Metrics != nil {
		m := r.cfg.Metrics
		for _, t := range r.templates {
			w.prom = append(w.prom, promChildren{
				duration: m.Duration.WithLabelValues(r.cfg.Run, t.target.Label),
				bytesIn:  m.BytesReceived.WithLabelValues(r.cfg.Run, t.target.Label),
				bytesOut: m.BytesSent.WithLabelValues(r.cfg.Run, t.target.Label),
				requests: map[int]prometheus.Counter{},
			})
		}
	}
	return w
}

func (w *worker) loop(ctx context.Context) {
	w.free = time.Now()
	if w.r.cfg.Schedule == nil {
		deadline := w.r.start.Add(w.r.cfg.Duration)
		for ctx.Err() == nil && w.free.Before(deadline) {
			w.do(ctx, w.free)
		}
		return
	}
	w.timer = time.NewTimer(time.Hour)
	w.timer.Stop()
	for {
		intended, ok := w.claim(ctx)
		if !ok {
			return
		}
		w.do(ctx, intended)
	}
}

// claim takes the scheduling token, counts as dropped the requests that
// were due more than MaxDelay before this worker became free, waits for the
// next intended time and hands the token on.
//
// A request is dropped only when no other worker is waiting for the token:
// the mutex lets a just-freed worker overtake queued ones, and when workers
// are queued the lateness comes from scheduling (a GC pause, a busy CPU),
// not from a lack of workers, so the request is sent late and its latency,
// measured from the intended time, shows it.
func (w *worker) claim(ctx context.Context) (time.Time, bool) {
	r := w.r
	s := r.cfg.Schedule
	r.idle.Add(1)
	r.mu.Lock()
	others := r.idle.Add(-1)
	defer r.mu.Unlock()
	if ctx.Err() != nil {
		return time.Time{}, false
	}
	i := r.next
	at, ok := s.At(i)
	if !ok {
		return time.Time{}, false
	}
	if late := w.free.Sub(r.start) - r.cfg.MaxDelay; at < late && others == 0 {
		j := s.FirstAtOrAfter(late)
		if total := s.Total(); j > total {
			j = total
		}
		r.dropped.Add(j - i)
		if m := r.cfg.Metrics; m != nil {
			m.Dropped.WithLabelValues(r.cfg.Run).Add(float64(j - i))
		}
		i = j
		r.next = i
		r.scheduled.Store(i)
		if at, ok = s.At(i); !ok {
			return time.Time{}, false
		}
	}
	r.next = i + 1
	r.scheduled.Store(i + 1)
	intended := r.start.Add(at)
	if d := time.Until(intended); d > 0 {
		w.timer.Reset(d)
		select {
		case <-w.timer.C:
		case <-ctx.Done():
			w.timer.Stop()
			r.next = i // not sent, not dropped
			r.scheduled.Store(i)
			return time.Time{}, false
		}
	}
	return intended, true
}

func (w *worker) pick() int {
	if len(w.tmpls) == 1 {
		return 0
	}
	x := int(w.rng.Uint64() % uint64(w.totalW))
	return sort.SearchInts(w.cumW, x+1)
}

// do sends one request due at intended and records it.
func (w *worker) do(ctx context.Context, intended time.Time) {
	r := w.r
	ti := w.pick()
	tm := w.tmpls[ti]
	tm.setTrace(w.rng.Uint64(), w.rng.Uint64(), w.rng.Uint64())
	w.sh.inFlight.Add(1)
	var (
		resp      response
		err       error
		connect   time.Duration
		firstByte time.Time
		fb        *time.Time
	)
	if r.cfg.JTL != nil {
		fb = &firstByte
	}
	for attempt := 0; ; attempt++ {
		c := tm.pool.get()
		reused := c != nil
		if c == nil {
			ds := time.Now()
			c, err = tm.pool.dial(ctx)
			connect = time.Since(ds)
			if err != nil {
				break
			}
		}
		resp, err = w.exchange(c, tm, fb)
		if err == nil && resp.keepAlive && r.cfg.KeepAlive {
			tm.pool.put(c)
			break
		}
		c.close()
		// A kept-alive connection the server closed meanwhile fails before
		// any response byte: retry once on a new connection, as net/http does.
		if err != nil && reused && resp.bytes == 0 && attempt == 0 && !r.stopping.Load() {
			k := classify(err)
			if k == errEOF || k == errReset {
				continue
			}
		}
		break
	}
	end := time.Now()
	w.sh.inFlight.Add(-1)
	w.free = end
	if err != nil && r.stopping.Load() {
		r.interrupted.Add(1)
		return
	}
	w.record(ti, tm, intended, end, connect, firstByte, resp, err)
}

// deadlineSlack is the fraction of --timeout by which a connection's
// deadline may be older than the request: re-arming the deadline (a runtime
// timer update) on every request costs more than the rest of the request's
// bookkeeping, so it is re-armed only when less than 15/16 of the timeout
// is left. A request thus times out after between 15/16 and all of --timeout.
const deadlineSlack = 16

func (w *worker) exchange(c *conn, tm *template, fb *time.Time) (response, error) {
	now := time.Now().UnixNano()
	timeout := int64(w.r.cfg.Timeout)
	if c.deadline-now < timeout-timeout/deadlineSlack {
		c.deadline = now + timeout
		if err := c.nc.SetDeadline(time.Unix(0, c.deadline)); err != nil {
			return response{}, err
		}
	}
	if _, err := c.nc.Write(tm.buf); err != nil {
		return response{}, err
	}
	if tm.body != nil {
		if _, err := c.nc.Write(tm.body); err != nil {
			return response{}, err
		}
	}
	return readResponse(c.br, tm.head, fb)
}

func (w *worker) record(ti int, tm *template, intended, end time.Time, connect time.Duration, firstByte time.Time, resp response, err error) {
	sh := w.sh
	lat := end.Sub(intended)
	kind := classify(err)
	success := kind == errNone && resp.code < 400
	sh.hist.Record(lat)
	if kind != errNone {
		sh.errs[kind].Add(1)
		if w.r.firstErr[kind].Load() == nil {
			msg := err.Error()
			w.r.firstErr[kind].CompareAndSwap(nil, &msg)
		}
	} else if resp.code > 0 && resp.code < len(sh.codes) {
		sh.codes[resp.code].Add(1)
	}
	if success {
		sh.ok.Add(1)
	} else {
		sh.fail.Add(1)
	}
	sh.bytesIn.Add(resp.bytes)
	sh.bytesOut.Add(tm.sent)
	sh.lastEnd.Store(end.UnixNano())
	if w.r.labels != nil {
		w.r.labels[tm.label].record(lat, resp.code, kind, success)
	}
	if w.prom != nil {
		w.observe(ti, tm, lat, end, resp, kind, success)
	}
	if w.r.cfg.JTL != nil {
		w.appendJTL(tm, intended, lat, connect, firstByte, resp, kind, err, success)
	}
}

// exemplarEvery bounds exemplars per shard; slow requests beyond the
// shard's max so far always get one.
const exemplarEvery = 20 * time.Millisecond

func (w *worker) observe(ti int, tm *template, lat time.Duration, end time.Time, resp response, kind errKind, success bool) {
	pc := &w.prom[ti]
	key := resp.code
	if kind != errNone {
		key = 1000 + int(kind)
	}
	c := pc.requests[key]
	if c == nil {
		c = w.r.cfg.Metrics.Requests.WithLabelValues(w.r.cfg.Run, tm.target.Label, codeLabel(resp.code, kind), loadtest.Result(success))
		pc.requests[key] = c
	}
	c.Inc()
	secs := lat.Seconds()
	now := end.UnixNano()
	last := w.sh.lastExemplar.Load()
	if (now-last >= int64(exemplarEvery) || uint64(lat) >= w.sh.hist.max.Load()) && w.sh.lastExemplar.CompareAndSwap(last, now) {
		pc.duration.(prometheus.ExemplarObserver).ObserveWithExemplar(secs, prometheus.Labels{"trace_id": tm.traceID()})
	} else {
		pc.duration.Observe(secs)
	}
	if resp.bytes > 0 {
		pc.bytesIn.Add(float64(resp.bytes))
	}
	pc.bytesOut.Add(float64(tm.sent))
}

// codeLabel is the response code as written to the results file: the HTTP
// status, or JMeter's "Non HTTP response code: …" for a transport error.
func codeLabel(code int, kind errKind) string {
	if kind != errNone {
		return "Non HTTP response code: " + kind.String()
	}
	return strconv.Itoa(code)
}

// UpdateGauges refreshes the gauges that are read at scrape time.
func (r *Runner) UpdateGauges() {
	m := r.cfg.Metrics
	if m == nil {
		return
	}
	m.ActiveUsers.WithLabelValues(r.cfg.Run).Set(float64(r.InFlight()))
	var last int64
	for i := range r.shards {
		if v := r.shards[i].lastEnd.Load(); v > last {
			last = v
		}
	}
	if last > 0 {
		m.LastSample.WithLabelValues(r.cfg.Run).Set(float64(last) / 1e9)
	}
}

// InFlight returns the number of requests in flight.
func (r *Runner) InFlight() int64 {
	var n int64
	for i := range r.shards {
		n += r.shards[i].inFlight.Load()
	}
	return n
}
