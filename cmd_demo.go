package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"
	"github.com/prometheus/exporter-toolkit/web/kingpinflag"

	"github.com/kubepulse/kubepulse/internal/demo"
	"github.com/kubepulse/kubepulse/internal/logging"
)

type demoFlags struct {
	web      *web.FlagConfig
	seed     int64
	history  time.Duration
	duration time.Duration
	step     time.Duration
	rate     float64
}

func demoCommand(app *kingpin.Application) runFunc {
	cmd := app.Command("demo", "Run a self-contained demo: a simulated cluster through the real collectors, an embedded Prometheus with the generated rules and its query API, and a page at /.")
	f := &demoFlags{web: kingpinflag.AddFlags(cmd, ":9850")}
	cmd.Flag("demo.seed", "Seed of the simulation; the same seed gives the same cluster and history.").Default("1").Int64Var(&f.seed)
	cmd.Flag("demo.history", "Simulated history fast-forwarded at start, so rates and alerts with a for: already have data.").Default("6h").DurationVar(&f.history)
	cmd.Flag("demo.duration", "Exit after this long once serving (0: run until interrupted). For scripts and tests.").Default("0s").DurationVar(&f.duration)
	cmd.Flag("demo.scrape-interval", "Interval of the embedded Prometheus' self-scrape, simulated and live.").Default("15s").DurationVar(&f.step)
	cmd.Flag("demo.loadtest-rate", "Requests per second of the demo's load test.").Default("20").Float64Var(&f.rate)
	return func(ctx context.Context, logger log.Logger) int {
		return runDemo(ctx, logger, os.Stdout, f)
	}
}

func runDemo(ctx context.Context, logger log.Logger, stdout io.Writer, f *demoFlags) int {
	start := time.Now()
	switch {
	case f.history < 0:
		return usageError("--demo.history=%s: must not be negative", f.history)
	case f.duration < 0:
		return usageError("--demo.duration=%s: must not be negative (0 runs until interrupted)", f.duration)
	case f.step <= 0:
		return usageError("--demo.scrape-interval=%s: must be positive", f.step)
	case !(f.rate > 0):
		return usageError("--demo.loadtest-rate=%v: must be positive (requests per second)", f.rate)
	}
	addrs := *f.web.WebListenAddresses
	if len(addrs) == 0 {
		addrs = []string{":9850"}
	}
	if len(addrs) > 1 {
		return usageError("--web.listen-address given %d times: the demo serves one address", len(addrs))
	}
	// Listen first: a busy port fails in a second, not after the fast-forward.
	ln, err := net.Listen("tcp", addrs[0])
	if err != nil {
		return logging.Fatal(logger, "cannot listen", err)
	}
	url := "http://" + displayAddr(ln.Addr())
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	d, err := demo.New(ctx, demo.Options{Seed: f.seed, History: f.history, Step: f.step, Instance: displayAddr(ln.Addr()),
		Version: version.Version, LoadRate: f.rate, Logger: logger, Recommender: demo.NewTuneRecommender(f.history)})
	if err != nil {
		_ = ln.Close()
		return logging.Fatal(logger, "cannot start the demo", err)
	}
	defer d.Close()
	if err := d.FastForward(ctx); err != nil {
		_ = ln.Close()
		if errors.Is(err, context.Canceled) {
			level.Info(logger).Log("msg", "interrupted during the fast-forward")
			return 0
		}
		return logging.Fatal(logger, "fast-forward failed", err)
	}

	srv := &http.Server{Handler: d.Handler(), ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- web.Serve(ln, srv, f.web, logging.Slog(logger)) }()
	fmt.Fprint(stdout, demo.Banner(url, displayAddr(ln.Addr()), d.GeneratedDir(), time.Since(start)))

	live := make(chan error, 1)
	go func() { live <- d.Live(ctx) }()
	var timeout <-chan time.Time
	if f.duration > 0 {
		timeout = time.After(f.duration)
	}
	code := 0
	select {
	case err := <-errc:
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			code = logging.Fatal(logger, "web server failed", err)
		}
	case <-timeout:
		level.Info(logger).Log("msg", "--demo.duration elapsed, exiting", "duration", f.duration)
	case <-ctx.Done():
		level.Info(logger).Log("msg", "shutting down")
	}
	cancel()
	sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
	_ = srv.Shutdown(sctx)
	scancel()
	if err := <-live; err != nil {
		level.Error(logger).Log("msg", "live loop", "err", err)
	}
	return code
}

// displayAddr turns ":9850" or "[::]:9850" into a URL host a browser opens.
func displayAddr(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}

// demoStderr is where flag errors go; tests replace it.
var demoStderr io.Writer = os.Stderr

func usageError(format string, args ...any) int {
	fmt.Fprintf(demoStderr, "kubepulse demo: "+format+"\n", args...)
	return 2
}
