package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/go-kit/log"

	"github.com/kubepulse/kubepulse/loadtest/parse"
	"github.com/kubepulse/kubepulse/tuning"
)

type tuneCapacityFlags struct {
	in       tuneInput
	results  string
	workload string
	kind     string
	window   time.Duration
	opts     tuning.CapacityOptions
	out      string
	target   string
	stages   string
}

func (f *tuneCapacityFlags) flags(cmd *kingpin.CmdClause) {
	cmd.Flag("results", "Load-test results: JMeter CSV/XML, Gatling simulation.log, k6 JSON/CSV, or a `kubepulse loadtest --out` JTL.").PlaceHolder("FILE").StringVar(&f.results)
	cmd.Flag("target", "Instead of --results, run `kubepulse loadtest` against this URL with --stages now and use its results.").PlaceHolder("URL").StringVar(&f.target)
	cmd.Flag("stages", "Stage plan of the live run (DURATION:RATE,..., as `kubepulse loadtest --stages`), e.g. 2m:100,2m:200,2m:400.").StringVar(&f.stages)
	cmd.Flag("workload", "The workload under test, NAMESPACE/NAME.").Required().StringVar(&f.workload)
	cmd.Flag("workload-kind", "Kind of the workload (the HPA's scaleTargetRef).").Default("Deployment").EnumVar(&f.kind, "Deployment", "StatefulSet")
	cmd.Flag("input", "Pod CPU during the test: OpenMetrics file (`promtool tsdb dump-openmetrics`).").PlaceHolder("FILE").StringVar(&f.in.input)
	cmd.Flag("prometheus.url", "Pod CPU during the test: Prometheus-compatible query API.").PlaceHolder("URL").StringVar(&f.in.promURL)
	cmd.Flag("source", "Series to read: kubepulse or cadvisor.").Default("kubepulse").EnumVar(&f.in.source, "kubepulse", "cadvisor")
	cmd.Flag("slo.latency", "p99 latency the service must keep.").Default("500ms").DurationVar(&f.opts.SLOLatency)
	cmd.Flag("slo.error-ratio", "Share of failed requests the service may have.").Default("0.01").Float64Var(&f.opts.SLOErrorRatio)
	cmd.Flag("peak-rps", "Highest request rate to plan for (sets maxReplicas).").Required().Float64Var(&f.opts.PeakRPS)
	cmd.Flag("trough-rps", "Lowest request rate to plan for (sets minReplicas).").Default("0").Float64Var(&f.opts.TroughRPS)
	cmd.Flag("cpu.request", "CPU request per pod in cores (default: the workload's current request from the history).").Float64Var(&f.opts.CPURequest)
	cmd.Flag("window", "Length of one measurement window; a step of a step load should span several.").Default("1m").DurationVar(&f.window)
	cmd.Flag("min-requests", "Requests a window needs for its p99 to count.").Default("100").IntVar(&f.opts.MinRequests)
	cmd.Flag("reaction", "Headroom between the HPA target and the knee, for the HPA's reaction time (fraction).").Default("0.2").Float64Var(&f.opts.Reaction)
	cmd.Flag("out", "Write the HPA manifest to this file instead of stdout.").PlaceHolder("FILE").StringVar(&f.out)
}

func (f *tuneCapacityFlags) run(ctx context.Context, _ log.Logger) int {
	fail := func(err error) int {
		fmt.Fprintf(tuneStderr, "kubepulse tune capacity: %v\n", err)
		return 2
	}
	ns, name, ok := strings.Cut(f.workload, "/")
	if !ok || ns == "" || name == "" {
		return fail(fmt.Errorf("--workload %q: want NAMESPACE/NAME", f.workload))
	}
	if f.window <= 0 || f.opts.Reaction < 0 || f.opts.Reaction >= 1 {
		return fail(errors.New("--window must be positive and --reaction in [0, 1)"))
	}
	switch {
	case (f.results == "") == (f.target == ""):
		return fail(errors.New("give either --results FILE or --target URL (with --stages)"))
	case f.target != "" && f.stages == "":
		return fail(errors.New("--target needs --stages, the load plan to step through"))
	case f.target != "":
		// A live step run: the generator writes its JTL, which is then read
		// like any results file.
		dir, err := os.MkdirTemp("", "kubepulse-capacity")
		if err != nil {
			return fail(err)
		}
		defer os.RemoveAll(dir)
		f.results = filepath.Join(dir, "results.jtl")
		// Its summary goes to stderr: stdout is the manifest.
		saved := loadtestStdout
		loadtestStdout = tuneStderr
		code := run(ctx, []string{"loadtest", f.target, "--stages", f.stages, "--progress", "none", "--out", f.results}, tuneStderr)
		loadtestStdout = saved
		if code != 0 {
			return fail(fmt.Errorf("the load test against %s failed (exit %d)", f.target, code))
		}
	}
	fh, err := os.Open(f.results)
	if err != nil {
		return fail(err)
	}
	defer fh.Close()
	var lc tuning.LoadCollector
	if _, err := parse.Parse(fh, parse.Options{File: f.results, Location: time.UTC}, &lc); err != nil {
		return fail(err)
	}
	for _, e := range lc.Errors {
		fmt.Fprintf(tuneStderr, "skipped: %s\n", e)
	}
	lo, hi := lc.Span()
	if lo.IsZero() {
		return fail(fmt.Errorf("%s: no requests in the results file", f.results))
	}
	// The CPU history is read for the test's time range only.
	f.in.end = hi.Add(f.window)
	f.in.history = hi.Sub(lo) + 2*f.window
	f.in.chunk = f.in.history
	f.in.namespace = []string{ns}
	f.in.progress = "auto"
	h, err := f.in.load(ctx, tuneStderr)
	if err != nil {
		return fail(err)
	}
	var cs []*tuning.Container
	var req float64
	for _, c := range h.Containers {
		if c.Workload == name {
			cs = append(cs, c)
			req += c.Requests[tuning.CPU]
		}
	}
	if len(cs) == 0 {
		return fail(fmt.Errorf("no CPU history for workload %s in namespace %s", name, ns))
	}
	if f.opts.CPURequest == 0 {
		f.opts.CPURequest = req
	}
	res, err := tuning.Capacity(lc.Windows(f.window, cs), f.opts)
	if err != nil {
		return fail(err)
	}
	manifest := tuning.HPAManifest(ns, f.kind, name, res)
	if f.out != "" {
		if err := writeFileAtomic(f.out, manifest); err != nil {
			return fail(err)
		}
		fmt.Fprint(tuneStdout, strings.Join(res.Reasoning, "\n")+"\n")
		return 0
	}
	tuneStdout.Write(manifest)
	return 0
}
