package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/common/version"

	"github.com/kubepulse/kubepulse/mixin"
	"github.com/kubepulse/kubepulse/mixin/config"
)

func generateCommand(app *kingpin.Application) runFunc {
	cmd := app.Command("generate", "Generate the monitoring mixin: Prometheus alerts and recording rules, PrometheusRule objects, Grafana dashboards, prometheus-adapter/KEDA/HPA manifests and promtool unit tests.")
	cfgFile := cmd.Flag("config", "Mixin config file (YAML). Every key has a default; see docs/mixin.md.").PlaceHolder("mixin.yaml").String()
	outDir := cmd.Flag("output-dir", "Directory to write (or, with --check, compare).").Required().PlaceHolder("DIR").String()
	check := cmd.Flag("check", "Write nothing; exit 1 and list the files in DIR that differ from what would be generated, are missing or extra.").Bool()
	test := cmd.Flag("test", "Also run the generated promtool unit tests in process (no promtool needed).").Bool()
	return func(_ context.Context, logger log.Logger) int {
		return runGenerate(logger, os.Stdout, *cfgFile, *outDir, *check, *test)
	}
}

func runGenerate(logger log.Logger, stdout io.Writer, cfgFile, outDir string, check, test bool) int {
	start := time.Now()
	cfg := config.Default()
	if cfgFile != "" {
		var err error
		if cfg, err = config.LoadFile(cfgFile); err != nil {
			// One line per problem, each naming file:line.
			fmt.Fprintf(os.Stderr, "kubepulse generate: invalid config:\n%v\n", err)
			return 1
		}
	}
	ver := version.Version
	if ver == "" {
		ver = "dev"
	}
	out, err := mixin.Generate(&cfg, mixin.Options{Version: ver})
	var cerr config.Errors
	if errors.As(err, &cerr) {
		// Found while resolving the alerts (an unknown key): still the
		// config's fault, with its file and line.
		fmt.Fprintf(os.Stderr, "kubepulse generate: invalid config:\n%v\n", err)
		return 1
	}
	if err != nil {
		level.Error(logger).Log("msg", "generation failed", "err", err)
		return 1
	}
	if ps := mixin.Check(out, mixin.KnownMetrics()); len(ps) > 0 {
		mixin.SortProblems(ps)
		for _, p := range ps {
			fmt.Fprintf(os.Stderr, "check failed: %s\n", p)
		}
		level.Error(logger).Log("msg", "built-in checks failed; nothing written", "problems", len(ps))
		return 1
	}
	rc := 0
	if check {
		diffs, err := mixin.Compare(out, outDir)
		if err != nil {
			level.Error(logger).Log("msg", "comparing output dir", "dir", outDir, "err", err)
			return 1
		}
		for _, d := range diffs {
			fmt.Fprintln(stdout, d)
		}
		if len(diffs) > 0 {
			fmt.Fprintf(os.Stderr, "kubepulse generate --check: %d file(s) in %s are not what would be generated; run kubepulse generate --output-dir %s\n", len(diffs), outDir, outDir)
			rc = 1
		}
	} else if err := mixin.Write(out, outDir); err != nil {
		level.Error(logger).Log("msg", "writing output", "dir", outDir, "err", err)
		return 1
	}
	if test {
		n, fails, err := mixin.RunGeneratedTests(out)
		if err != nil {
			level.Error(logger).Log("msg", "running unit tests", "err", err)
			return 1
		}
		for _, f := range fails {
			fmt.Fprintf(os.Stderr, "FAILED: %s\n", f)
		}
		if len(fails) > 0 {
			level.Error(logger).Log("msg", "unit tests failed", "files", n, "failures", len(fails))
			return 1
		}
		level.Info(logger).Log("msg", "unit tests passed", "files", n)
	}
	level.Info(logger).Log("msg", "generated", "files", len(out.Files), "dir", outDir, "check", check, "duration", time.Since(start))
	return rc
}
