// Package loadtest is the loadtest collector: it tails JMeter, Gatling and
// k6 result files live, from their beginning, and exposes them in the
// kubepulse_loadtest_* schema (loadtest/metrics.go). New files matching the
// --loadtest.file globs are picked up while it runs.
package loadtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/kubepulse/kubepulse/internal/tail"
	"github.com/kubepulse/kubepulse/loadtest"
	"github.com/kubepulse/kubepulse/loadtest/parse"
)

// Collector tails result files into a loadtest.Metrics.
type Collector struct {
	cfg     Config
	logger  log.Logger
	metrics *loadtest.Metrics

	mu      sync.Mutex
	files   map[string]bool
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	started bool
}

// New checks the configuration and builds a collector; nothing runs until Start.
func New(logger log.Logger, cfg Config) (*Collector, error) {
	if len(cfg.Files) == 0 {
		return nil, errors.New("no --loadtest.file given: name the result files (globs) to tail")
	}
	for _, p := range cfg.Files {
		if _, err := filepath.Match(p, ""); err != nil {
			return nil, fmt.Errorf("--loadtest.file %q: %w", p, err)
		}
	}
	if cfg.Rescan <= 0 {
		cfg.Rescan = 5 * time.Second
	}
	if cfg.Poll <= 0 {
		cfg.Poll = 250 * time.Millisecond
	}
	return &Collector{cfg: cfg, logger: logger, metrics: loadtest.NewMetrics(), files: map[string]bool{}}, nil
}

// Metrics exposes the schema, for tests and for registering elsewhere.
func (c *Collector) Metrics() *loadtest.Metrics { return c.metrics }

// Update implements collector.Collector.
func (c *Collector) Update(ch chan<- prometheus.Metric) error {
	c.metrics.Collect(ch)
	return nil
}

// Start implements collector.Starter: it expands the globs now and every
// Rescan, and tails each new file in its own goroutine.
func (c *Collector) Start(ctx context.Context) error {
	c.mu.Lock()
	if c.started {
		c.mu.Unlock()
		return errors.New("loadtest collector started twice")
	}
	c.started = true
	ctx, c.cancel = context.WithCancel(ctx)
	c.mu.Unlock()

	if n := c.scan(ctx); n == 0 {
		level.Info(c.logger).Log("msg", "no load-test result files yet; watching", "globs", strings.Join(c.cfg.Files, ","))
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		t := time.NewTicker(c.cfg.Rescan)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				c.scan(ctx)
			}
		}
	}()
	return nil
}

// Stop implements collector.Stopper: it ends the tails and waits for them.
// Parsed rows are already in the metrics; nothing else needs flushing.
func (c *Collector) Stop() error {
	c.mu.Lock()
	cancel := c.cancel
	c.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	c.wg.Wait()
	return nil
}

// scan starts a tail for every new file matching the globs; it returns how
// many files are followed in total.
func (c *Collector) scan(ctx context.Context) int {
	var found []string
	for _, p := range c.cfg.Files {
		m, _ := filepath.Glob(p) // patterns were checked in New
		found = append(found, m...)
	}
	sort.Strings(found)
	c.mu.Lock()
	defer c.mu.Unlock()
	if ctx.Err() != nil {
		return len(c.files)
	}
	for _, path := range found {
		abs, err := filepath.Abs(path)
		if err != nil {
			abs = path
		}
		if c.files[abs] {
			continue
		}
		c.files[abs] = true
		level.Info(c.logger).Log("msg", "tailing load-test results", "file", abs)
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			c.follow(ctx, abs)
		}()
	}
	return len(c.files)
}

// follow tails one file until ctx ends. Each rotation or truncation starts
// a new parse, with format detection, of what the file now holds.
func (c *Collector) follow(ctx context.Context, path string) {
	f, err := tail.Follow(ctx, path, tail.FollowOptions{Poll: c.cfg.Poll})
	if err != nil {
		level.Error(c.logger).Log("msg", "cannot tail load-test results", "file", path, "err", err)
		return
	}
	defer f.Close()
	seg := &segmentReader{f: f}
	obs := c.metrics.NewObserver()
	defRun := RunFromPath(path)
	for {
		sink := &sink{c: c, obs: obs, file: path, run: defRun}
		if c.cfg.RunLabel != "" {
			sink.run = c.cfg.RunLabel
		}
		opts := parse.Options{
			File: path, Run: c.cfg.RunLabel, DefaultRun: defRun,
			Transactions: c.cfg.Transactions, TransactionLabel: c.cfg.TransactionLabel, Location: c.cfg.Location,
		}
		format, err := parse.Parse(seg, opts, sink)
		switch {
		case parse.IsUnsupported(err):
			obs.ParseError(sink.run, parse.ReasonUnsupported)
			level.Error(c.logger).Log("msg", "load-test result file rejected; it is still watched in case it is replaced", "file", path, "err", err)
		case err != nil && ctx.Err() != nil && errors.Is(err, io.ErrUnexpectedEOF):
			return // stopping while a gzip member is half written: expected, not an error
		case err != nil && seg.eof && errors.Is(err, io.ErrUnexpectedEOF):
			// Replaced while a gzip member was half written: what it held
			// was never complete; the new content is read as usual.
			level.Warn(c.logger).Log("msg", "load-test result file replaced in the middle of a compressed block; its incomplete end is skipped", "file", path, "err", err)
		case err != nil:
			level.Error(c.logger).Log("msg", "stopped reading load-test results", "file", path, "format", format, "err", err)
			return
		}
		if sink.errors > 1 {
			level.Warn(c.logger).Log("msg", "bad rows skipped", "file", path, "count", sink.errors)
		}
		// Whatever the parser left (after a rejection or an XML syntax
		// error) is skipped up to the next rotation or truncation.
		if _, err := io.Copy(io.Discard, seg); err != nil {
			level.Error(c.logger).Log("msg", "stopped reading load-test results", "file", path, "err", err)
			return
		}
		if !seg.nextSegment() {
			return
		}
		level.Info(c.logger).Log("msg", "load-test result file was replaced; reading it from the start", "file", path)
	}
}

// segmentReader ends the stream (io.EOF) where the follower switches to a
// new file after a rotation or truncation, so that each file content is
// parsed from its own header. Bytes of the new content read in the same
// call are kept for the next segment.
type segmentReader struct {
	f     *tail.Follower
	gen   int64
	stash []byte
	eof   bool
}

func (s *segmentReader) generation() int64 { return s.f.Rotations() + s.f.Truncations() }

func (s *segmentReader) Read(p []byte) (int, error) {
	if s.eof {
		return 0, io.EOF
	}
	if len(s.stash) > 0 {
		n := copy(p, s.stash)
		s.stash = s.stash[n:]
		return n, nil
	}
	n, err := s.f.Read(p)
	if g := s.generation(); g != s.gen {
		s.gen = g
		s.stash = append(s.stash[:0], p[:n]...)
		s.eof = true
		return 0, io.EOF
	}
	return n, err
}

// nextSegment reports whether a new file content follows the segment just
// read (otherwise the follower ended).
func (s *segmentReader) nextSegment() bool {
	if !s.eof {
		return false
	}
	s.eof = false
	return true
}

// sink feeds one file's parse into the metrics.
type sink struct {
	c      *Collector
	obs    *loadtest.Observer
	file   string
	run    string // run of the latest sample, for errors
	errors int
}

func (s *sink) Sample(smp *loadtest.Sample) {
	s.run = smp.Run
	s.obs.Observe(smp)
}

func (s *sink) Users(run string, n float64, t time.Time) {
	s.obs.Users(run, n)
	if !t.IsZero() {
		s.obs.Seen(run, t)
	}
}

func (s *sink) Bytes(run, label string, received, sent int64, t time.Time) {
	s.obs.Bytes(run, label, received, sent)
}

// Error counts a bad row and logs the first of each file: one line names the
// file, the line and the fix; the counter carries the rest.
func (s *sink) Error(e *parse.Error) {
	s.errors++
	s.obs.ParseError(s.run, e.Reason)
	if s.errors == 1 {
		level.Warn(s.c.logger).Log("msg", "bad row in load-test results skipped; further ones in this file are only counted in kubepulse_loadtest_parse_errors_total",
			"file", e.File, "line", e.Line, "reason", e.Reason, "err", e.Msg, "fix", e.Fix)
	}
}

// RunFromPath derives a run label from a result file name: the base name
// without compression and format extensions ("results.jtl.gz" -> "results").
func RunFromPath(path string) string {
	base := filepath.Base(path)
	for {
		ext := strings.ToLower(filepath.Ext(base))
		switch ext {
		case ".gz", ".jtl", ".csv", ".xml", ".json", ".ndjson", ".jsonl", ".log":
			base = base[:len(base)-len(ext)]
			continue
		}
		break
	}
	if base == "" {
		return filepath.Base(path)
	}
	return base
}
