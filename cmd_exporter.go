package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/pprof"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"
	"github.com/prometheus/exporter-toolkit/web/kingpinflag"

	"github.com/kubepulse/kubepulse/collector"
	_ "github.com/kubepulse/kubepulse/collector/all" // registers every collector
	"github.com/kubepulse/kubepulse/internal/logging"
	"github.com/kubepulse/kubepulse/internal/memlimit"
)

// exporterCommand declares `kubepulse exporter`: the web flags from
// exporter-toolkit, and every collector's toggle and flags.
func exporterCommand(app *kingpin.Application) runFunc {
	cmd := app.Command("exporter", "Run the Prometheus exporter.")
	webFlags := kingpinflag.AddFlags(cmd, ":9850")
	metricsPath := cmd.Flag("web.telemetry-path", "Path under which to expose metrics.").Default("/metrics").String()
	maxRequests := cmd.Flag("web.max-requests", "Maximum number of parallel scrape requests. Use 0 to disable.").Default("40").Int()
	enablePprof := cmd.Flag("web.enable-pprof", "Serve Go profiling data under /debug/pprof/ (and link it from the landing page).").Default("false").Bool()
	autoMem := cmd.Flag("auto-gomemlimit", "Set the Go runtime's soft memory limit (GOMEMLIMIT) to --auto-gomemlimit.ratio of the container's cgroup memory limit, as Prometheus does; an explicit GOMEMLIMIT wins.").Default("true").Bool()
	autoMemRatio := cmd.Flag("auto-gomemlimit.ratio", "The share of the cgroup memory limit --auto-gomemlimit sets, in (0, 1].").Default("0.9").Float64()
	collector.AddFlags(cmd)

	return func(ctx context.Context, logger log.Logger) int {
		if r := *autoMemRatio; r <= 0 || r > 1 {
			return logging.Fatal(logger, "invalid flag", fmt.Errorf("--auto-gomemlimit.ratio must be in (0, 1], got %g", r))
		}
		if *autoMem {
			setMemoryLimit(logger, *autoMemRatio)
		}
		return runExporter(ctx, logger, webFlags, *metricsPath, *maxRequests, *enablePprof)
	}
}

func runExporter(ctx context.Context, logger log.Logger, webFlags *web.FlagConfig, metricsPath string, maxRequests int, enablePprof bool) int {
	level.Info(logger).Log("msg", "starting kubepulse exporter", "version", version.Info())
	// client-go reports watch failures (403s, 410s) only through klog; route
	// klog into the same go-kit log so an RBAC gap is visible there.
	logging.RouteKlog(logger)
	set, err := collector.Build(logger, nil)
	if err != nil {
		return logging.Fatal(logger, "cannot build collectors", err)
	}
	level.Info(logger).Log("msg", "enabled collectors", "collectors", strings.Join(set.Enabled(), ","))

	base := prometheus.NewRegistry()
	base.MustRegister(
		versioncollector.NewCollector("kubepulse"),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if err := set.Start(ctx); err != nil {
		return logging.Fatal(logger, "cannot start collectors", err)
	}
	go releaseAfterSync(ctx, logger, set.Ready)

	mux := http.NewServeMux()
	mux.Handle(metricsPath, set.Handler(collector.HandlerOpts{Gatherer: base, MaxRequests: maxRequests, Logger: logger}))
	mux.HandleFunc("/-/healthy", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte("Healthy\n"))
	})
	mux.HandleFunc("/-/ready", func(w http.ResponseWriter, _ *http.Request) {
		if ok, waiting := set.Ready(); !ok {
			http.Error(w, "Not ready: waiting for "+strings.Join(waiting, ", "), http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("Ready\n"))
	})
	if enablePprof {
		// Off by default: profiles expose internals and a CPU profile costs
		// CPU, so they are opt-in as in Prometheus' own servers.
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	if metricsPath != "/" {
		landing, err := web.NewLandingPage(web.LandingConfig{
			Name:        "kubepulse",
			Description: "Are our workloads sized, scaled and alerting right?",
			Version:     version.Info(),
			Profiling:   strconv.FormatBool(enablePprof), // its links 404 without the handlers
			Links: []web.LandingLinks{
				{Address: metricsPath, Text: "Metrics"},
				{Address: "/-/healthy", Text: "Health"},
				{Address: "/-/ready", Text: "Readiness"},
			},
		})
		if err != nil {
			return logging.Fatal(logger, "cannot build landing page", err)
		}
		mux.Handle("/", landing)
	}

	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- web.ListenAndServe(srv, webFlags, logging.Slog(logger)) }()

	code := 0
	select {
	case err := <-errc:
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			code = logging.Fatal(logger, "web server failed", err)
		}
	case <-ctx.Done():
		level.Info(logger).Log("msg", "shutting down")
		sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = srv.Shutdown(sctx)
		scancel()
	}
	cancel()
	if err := set.Stop(); err != nil {
		level.Error(logger).Log("msg", "error stopping collectors", "err", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// setMemoryLimit applies --auto-gomemlimit. Outside a memory-limited cgroup
// there is nothing to derive the limit from, which is logged, not fatal.
func setMemoryLimit(logger log.Logger, ratio float64) {
	limit, src, err := memlimit.Apply(memlimit.DefaultFiles, ratio)
	switch {
	case errors.Is(err, memlimit.ErrNoLimit):
		level.Debug(logger).Log("msg", "no cgroup memory limit; GOMEMLIMIT left unset")
	case err != nil:
		level.Warn(logger).Log("msg", "cannot derive GOMEMLIMIT from the cgroup; left unset", "file", src, "err", err)
	case src == "GOMEMLIMIT":
		level.Info(logger).Log("msg", "GOMEMLIMIT is set in the environment; --auto-gomemlimit leaves it")
	default:
		level.Info(logger).Log("msg", "GOMEMLIMIT set from the cgroup memory limit", "limit_bytes", limit, "ratio", ratio, "file", src)
	}
}

// releaseAfterSync returns the initial list's memory to the OS once every
// collector has synced: the list and its decoding are the process's peak,
// and the runtime would otherwise hand the freed pages back only slowly,
// leaving RSS near that peak for minutes.
func releaseAfterSync(ctx context.Context, logger log.Logger, ready func() (bool, []string)) {
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if ok, _ := ready(); ok {
			debug.FreeOSMemory()
			level.Debug(logger).Log("msg", "initial sync done; freed memory returned to the OS")
			return
		}
	}
}
