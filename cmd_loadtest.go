package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/exporter-toolkit/web"

	"github.com/kubepulse/kubepulse/internal/logging"
	"github.com/kubepulse/kubepulse/loadtest/gen"
)

// loadtestStdout receives progress and the summary; tests replace it.
var loadtestStdout io.Writer = os.Stdout

type loadtestFlags struct {
	url           string
	method        string
	headers       []string
	body          string
	targets       string
	label         string
	rate          float64
	duration      time.Duration
	stages        string
	startRate     float64
	maxInFlight   int
	maxDelay      time.Duration
	timeout       time.Duration
	insecure      bool
	caFile        string
	noKeepAlive   bool
	listen        string
	webConfig     string
	summaryJSON   string
	out           string
	shard         string
	run           string
	progress      string
	progressEvery time.Duration
	cpuProfile    string
	thresholds    []string
	rateSet       bool
	durationSet   bool
	stdout        io.Writer
}

// Exit codes of `kubepulse loadtest`, documented in docs/loadtest-generator.md.
// 2 is a command line that does not parse (main). When several apply, the
// first in this order wins: 1, interrupted, no success, thresholds.
const (
	exitSetup       = 1   // a bad flag value or target, or an output file that cannot be written
	exitNoSuccess   = 98  // not one request succeeded: all failed, or none completed
	exitThresholds  = 99  // a --threshold failed (k6's code)
	exitInterrupted = 105 // SIGINT/SIGTERM stopped the run before its end (k6's code)
)

// loadtestCommand declares `kubepulse loadtest`, the open-model generator in
// loadtest/gen. Its flags are documented in docs/loadtest-generator.md.
func loadtestCommand(app *kingpin.Application) runFunc {
	f := &loadtestFlags{stdout: loadtestStdout}
	cmd := app.Command("loadtest", "Send HTTP load at a planned arrival rate (open model) and report latency from intended send times.")
	cmd.Arg("url", "Target URL (http:// or https://). Required unless --targets is given.").StringVar(&f.url)
	cmd.Flag("method", "HTTP method for the URL.").Default("GET").StringVar(&f.method)
	cmd.Flag("header", `Request header "Name: value" (repeatable).`).Short('H').StringsVar(&f.headers)
	cmd.Flag("body", "Request body, or @FILE to read it from a file.").StringVar(&f.body)
	cmd.Flag("targets", "File of weighted requests, one JSON object per line (see docs/loadtest-generator.md); replaces URL.").StringVar(&f.targets)
	cmd.Flag("label", "Sampler label of the URL in metrics and results (default: METHOD PATH).").StringVar(&f.label)
	cmd.Flag("rate", "Requests per second for --duration; 0 means closed loop, as fast as --max-in-flight connections allow.").Default("10").IsSetByUser(&f.rateSet).Float64Var(&f.rate)
	cmd.Flag("duration", "Length of a constant-rate or closed-loop run.").Default("30s").IsSetByUser(&f.durationSet).DurationVar(&f.duration)
	cmd.Flag("stages", "Arrival-rate profile DURATION:RATE,…, ramping linearly to each RATE (e.g. 30s:100,2m:500,30s:0); replaces --rate and --duration.").StringVar(&f.stages)
	cmd.Flag("start-rate", "Rate at which the first stage's ramp starts.").Default("0").Float64Var(&f.startRate)
	cmd.Flag("max-in-flight", "Maximum concurrent requests (and connections per host).").Default("256").IntVar(&f.maxInFlight)
	cmd.Flag("max-delay", "A request that no worker is free to send within this delay of its intended time is dropped.").Default("10ms").DurationVar(&f.maxDelay)
	cmd.Flag("timeout", "Per-request timeout, including connecting.").Default("30s").DurationVar(&f.timeout)
	cmd.Flag("insecure", "Do not verify the server's TLS certificate.").BoolVar(&f.insecure)
	cmd.Flag("ca-file", "PEM file of CA certificates to verify the server with.").StringVar(&f.caFile)
	cmd.Flag("no-keepalive", "Open a new connection for every request.").BoolVar(&f.noKeepAlive)
	cmd.Flag("web.listen-address", "Serve live metrics on /metrics at this address (off when not given).").StringVar(&f.listen)
	cmd.Flag("web.config.file", "exporter-toolkit web config (TLS, basic auth) for --web.listen-address.").StringVar(&f.webConfig)
	cmd.Flag("summary-json", "Write the summary as JSON to this file.").StringVar(&f.summaryJSON)
	cmd.Flag("out", "Write every request to this JMeter CSV results file (JTL).").StringVar(&f.out)
	cmd.Flag("shard", "Run shard i of n (0-based, i/n); takes every n-th request of the profile.").Default("0/1").StringVar(&f.shard)
	cmd.Flag("run", "Run label on metrics and in the summary (default: loadtest-HOST-YYYYMMDDTHHMM).").StringVar(&f.run)
	cmd.Flag("progress", "Progress output: auto (redrawn line on a terminal, plain lines otherwise), tty, plain or none.").Default("auto").EnumVar(&f.progress, "auto", "tty", "plain", "none")
	cmd.Flag("progress.interval", "Interval between progress updates (default 1s on a terminal, 5s otherwise).").DurationVar(&f.progressEvery)
	cmd.Flag("threshold", "Pass/fail criterion checked at the end, k6 style (repeatable): p50|p90|p95|p99|min|max|avg, errors, dropped or rps, then <, <=, > or >=, then a value, e.g. 'p99<500ms', 'errors<1%', 'rps>=100', 'p95{label=create}<300ms'. A failed one exits 99.").StringsVar(&f.thresholds)
	cmd.Flag("cpuprofile", "Write a CPU profile of the run to this file (for tuning the generator).").Hidden().StringVar(&f.cpuProfile)
	return func(ctx context.Context, logger log.Logger) int { return runLoadtest(ctx, logger, f) }
}

func parseShard(s string) (int, int, error) {
	a, b, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || n < 1 || i < 0 || i >= n {
		return 0, 0, fmt.Errorf("--shard %q: want i/n with 0 <= i < n, for example 0/4 (in an Indexed Job: $(JOB_COMPLETION_INDEX)/4)", s)
	}
	return i, n, nil
}

func loadtestTargets(f *loadtestFlags) ([]*gen.Target, error) {
	if f.targets != "" {
		if f.url != "" {
			return nil, errors.New("give either a URL or --targets, not both")
		}
		fh, err := os.Open(f.targets)
		if err != nil {
			return nil, err
		}
		defer fh.Close()
		return gen.ParseTargets(f.targets, fh)
	}
	if f.url == "" {
		return nil, errors.New("no target: give the URL to load, or --targets FILE (there is no default target)")
	}
	var body []byte
	if f.body != "" {
		b, err := gen.ReadBody(f.body)
		if err != nil {
			return nil, err
		}
		body = b
	}
	t, err := gen.NewTarget(f.method, f.url, f.headers, body, f.label)
	if err != nil {
		return nil, err
	}
	return []*gen.Target{t}, nil
}

func loadtestTLS(f *loadtestFlags) (*tls.Config, error) {
	c := &tls.Config{InsecureSkipVerify: f.insecure} //nolint:gosec // opt-in by --insecure
	if f.caFile != "" {
		pem, err := os.ReadFile(f.caFile)
		if err != nil {
			return nil, fmt.Errorf("--ca-file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--ca-file %s: no PEM certificate found", f.caFile)
		}
		c.RootCAs = pool
	}
	return c, nil
}

func isTerminal(w io.Writer) bool {
	fh, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := fh.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// loadtestThresholds parses --threshold values and checks that a label
// they name belongs to a target.
func loadtestThresholds(f *loadtestFlags, targets []*gen.Target) ([]*gen.Threshold, error) {
	labels := map[string]bool{}
	var names []string
	for _, t := range targets {
		if !labels[t.Label] {
			names = append(names, strconv.Quote(t.Label))
		}
		labels[t.Label] = true
	}
	var out []*gen.Threshold
	for _, v := range f.thresholds {
		t, err := gen.ParseThreshold(v)
		if err != nil {
			return nil, fmt.Errorf("--%w", err) // "--threshold \"…\": …"
		}
		if l := t.Label(); l != "" && !labels[l] {
			return nil, fmt.Errorf("--threshold %q: no target has label %q; the labels are %s", v, l, strings.Join(names, ", "))
		}
		out = append(out, t)
	}
	return out, nil
}

// loadtestRate checks --rate and --duration against --stages.
func loadtestRate(f *loadtestFlags) error {
	if f.stages != "" {
		if f.rateSet || f.durationSet {
			return errors.New("--stages replaces --rate and --duration; give either --stages or --rate/--duration")
		}
		if f.startRate < 0 || math.IsNaN(f.startRate) || math.IsInf(f.startRate, 0) {
			return fmt.Errorf("--start-rate %v: the rate is requests per second and must be >= 0", f.startRate)
		}
		return nil
	}
	if f.rate < 0 || math.IsNaN(f.rate) || math.IsInf(f.rate, 0) {
		return fmt.Errorf("--rate %v: the rate is requests per second and must be >= 0 (0 runs a closed loop)", f.rate)
	}
	if f.duration <= 0 {
		return fmt.Errorf("--duration %v: the duration must be positive, like 30s", f.duration)
	}
	return nil
}

func runLoadtest(ctx context.Context, logger log.Logger, f *loadtestFlags) int {
	targets, err := loadtestTargets(f)
	if err != nil {
		return logging.Fatal(logger, "bad target", err)
	}
	if err := loadtestRate(f); err != nil {
		return logging.Fatal(logger, "bad flag", err)
	}
	thresholds, err := loadtestThresholds(f, targets)
	if err != nil {
		return logging.Fatal(logger, "bad flag", err)
	}
	shard, shards, err := parseShard(f.shard)
	if err != nil {
		return logging.Fatal(logger, "bad flag", err)
	}
	tlsCfg, err := loadtestTLS(f)
	if err != nil {
		return logging.Fatal(logger, "bad TLS options", err)
	}
	cfg := gen.Config{
		Targets: targets, MaxInFlight: f.maxInFlight, Timeout: f.timeout, KeepAlive: !f.noKeepAlive,
		TLS: tlsCfg, MaxDelay: f.maxDelay, Run: f.run, Logger: logger, Duration: f.duration,
	}
	switch {
	case f.stages != "":
		stages, err := gen.ParseStages(f.stages)
		if err != nil {
			return logging.Fatal(logger, "bad --stages", err)
		}
		cfg.Schedule = gen.NewSchedule(f.startRate, stages, shard, shards)
	case f.rate > 0:
		cfg.Schedule = gen.NewSchedule(f.rate, []gen.Stage{{Duration: f.duration, Target: f.rate}}, shard, shards)
	}
	if cfg.Schedule != nil && cfg.Schedule.Total() == 0 {
		return logging.Fatal(logger, "bad flag", fmt.Errorf("the profile plans no request for shard %s: raise --rate or --duration (or the --stages rates)", f.shard))
	}
	if cfg.Run == "" {
		cfg.Run = "loadtest-" + targets[0].URL.Hostname() + "-" + time.Now().UTC().Format("20060102T1504")
	}
	if f.listen != "" {
		cfg.Metrics = gen.NewMetrics()
	}
	var jtl *bufio.Writer
	var jtlFile *os.File
	if f.out != "" {
		jtlFile, err = os.Create(f.out)
		if err != nil {
			return logging.Fatal(logger, "cannot create --out file", err)
		}
		defer jtlFile.Close()
		jtl = bufio.NewWriterSize(jtlFile, 256<<10)
		if _, err := jtl.WriteString(gen.JTLHeader); err != nil {
			return logging.Fatal(logger, "cannot write --out file", err)
		}
		cfg.JTL = jtl
	}
	r, err := gen.New(cfg)
	if err != nil {
		return logging.Fatal(logger, "cannot start load test", err)
	}

	var srv *http.Server
	if f.listen != "" {
		reg := prometheus.NewRegistry()
		reg.MustRegister(cfg.Metrics)
		gatherer := prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
			r.UpdateGauges()
			return reg.Gather()
		})
		mux := http.NewServeMux()
		mux.Handle("/metrics", promhttp.HandlerFor(gatherer, promhttp.HandlerOpts{EnableOpenMetrics: true}))
		srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		addrs := []string{f.listen}
		systemd := false
		wf := &web.FlagConfig{WebListenAddresses: &addrs, WebSystemdSocket: &systemd, WebConfigFile: &f.webConfig}
		go func() {
			if err := web.ListenAndServe(srv, wf, logging.Slog(logger)); err != nil && !errors.Is(err, http.ErrServerClosed) {
				level.Error(logger).Log("msg", "metrics server failed", "err", err)
			}
		}()
	}

	mode, planned := "closed loop", f.duration
	if cfg.Schedule != nil {
		mode, planned = "open model", cfg.Schedule.Duration()
	}
	level.Info(logger).Log("msg", "starting load test", "run", cfg.Run, "mode", mode, "duration", planned, "max_in_flight", f.maxInFlight, "shard", f.shard)
	if f.cpuProfile != "" {
		pf, err := os.Create(f.cpuProfile)
		if err != nil {
			return logging.Fatal(logger, "cannot create --cpuprofile file", err)
		}
		defer pf.Close()
		if err := pprof.StartCPUProfile(pf); err != nil {
			return logging.Fatal(logger, "cannot start CPU profile", err)
		}
	}
	pctx, pcancel := context.WithCancel(context.Background())
	pdone := make(chan struct{})
	tty := f.progress == "tty" || (f.progress == "auto" && isTerminal(f.stdout))
	if f.progress != "none" {
		every := f.progressEvery
		if every <= 0 {
			every = 5 * time.Second
			if tty {
				every = time.Second
			}
		}
		go func() { r.Progress(pctx, f.stdout, tty, every, planned); close(pdone) }()
	} else {
		close(pdone)
	}
	sum := r.Run(ctx)
	if f.cpuProfile != "" {
		pprof.StopCPUProfile()
	}
	pcancel()
	<-pdone
	if ctx.Err() != nil {
		level.Info(logger).Log("msg", "interrupted; summary of the requests sent so far follows")
	}

	code := loadtestOutcome(logger, sum, thresholds)
	sum.WriteText(f.stdout)
	if jtl != nil {
		err := r.JTLError()
		if err == nil {
			err = jtl.Flush()
		}
		if err == nil {
			err = jtlFile.Close()
		}
		if err != nil {
			level.Error(logger).Log("msg", "cannot write --out file", "file", f.out, "err", err)
			code = exitSetup
		}
	}
	if f.summaryJSON != "" {
		if err := sum.WriteJSONFile(f.summaryJSON); err != nil {
			level.Error(logger).Log("msg", "cannot write --summary-json", "file", f.summaryJSON, "err", err)
			code = exitSetup
		}
	}
	if srv != nil {
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = srv.Shutdown(sctx)
		cancel()
	}
	return code
}

// loadtestOutcome checks the thresholds (recording them in the summary) and
// returns the exit code the run earned, logging why it is not 0.
func loadtestOutcome(logger log.Logger, sum *gen.Summary, thresholds []*gen.Threshold) int {
	passed := sum.CheckThresholds(thresholds)
	switch {
	case sum.Interrupted:
		level.Warn(logger).Log("msg", "run interrupted before its end; exit code 105", "completed", sum.Completed)
		return exitInterrupted
	case sum.Succeeded == 0:
		level.Error(logger).Log("msg", "no request succeeded; exit code 98", "completed", sum.Completed, "failed", sum.Failed, "dropped", sum.Dropped)
		return exitNoSuccess
	case !passed:
		var failed []string
		for _, r := range sum.Thresholds {
			if !r.OK {
				failed = append(failed, r.Threshold)
			}
		}
		level.Error(logger).Log("msg", "thresholds failed; exit code 99", "failed", strings.Join(failed, " "))
		return exitThresholds
	}
	return 0
}
