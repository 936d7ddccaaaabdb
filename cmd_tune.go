package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/go-kit/log"
	"github.com/prometheus/common/model"

	"github.com/kubepulse/kubepulse/tuning"
)

// tuneStdout receives tables, JSON and summaries, tuneStderr errors and
// progress; tests replace them.
var (
	tuneStdout io.Writer = os.Stdout
	tuneStderr io.Writer = os.Stderr
)

// tuneInput are the flags shared by `tune resources` and `tune backtest`.
type tuneInput struct {
	input     string
	promURL   string
	source    string
	history   time.Duration
	chunk     time.Duration
	end       time.Time
	namespace []string
	progress  string
}

func (in *tuneInput) flags(cmd *kingpin.CmdClause) {
	cmd.Flag("input", "OpenMetrics file as `promtool tsdb dump-openmetrics` writes it (may be gzip-compressed).").PlaceHolder("FILE").StringVar(&in.input)
	cmd.Flag("prometheus.url", "Prometheus-compatible query API (Prometheus, Thanos, Mimir, VictoriaMetrics) to read the history from.").PlaceHolder("URL").StringVar(&in.promURL)
	cmd.Flag("source", "Series to read: kubepulse (the exporter's) or cadvisor (cAdvisor + kube-state-metrics).").Default("kubepulse").EnumVar(&in.source, "kubepulse", "cadvisor")
	cmd.Flag("history", "How much history to use, ending at the newest sample.").Default("7d").SetValue(&durationValue{&in.history})
	cmd.Flag("query.chunk", "Time span of one Prometheus query (with --prometheus.url); smaller chunks mean smaller responses.").Default("6h").SetValue(&durationValue{&in.chunk})
	cmd.Flag("query.end", "End of the history (RFC 3339 or Unix seconds; default: now with --prometheus.url, the newest sample with --input).").SetValue(&timeValue{&in.end})
	cmd.Flag("namespace", "Only these namespaces (repeatable; default all).").StringsVar(&in.namespace)
	cmd.Flag("progress", "Progress bar while querying Prometheus: auto (on a terminal only), tty or none.").Default("auto").EnumVar(&in.progress, "auto", "tty", "none")
}

// load reads the history from the one input given.
func (in *tuneInput) load(ctx context.Context, stderr io.Writer) (*tuning.History, error) {
	src, err := in.check()
	if err != nil {
		return nil, err
	}
	var h *tuning.History
	if in.input != "" {
		h, err = loadInputFile(in.input, src)
	} else {
		b := tuning.NewBuilder(src)
		if err = queryPrometheus(ctx, in, src, b, stderr); err == nil {
			h, err = b.History()
		}
		if err != nil {
			err = fmt.Errorf("--prometheus.url %s: %w", in.promURL, err)
		}
	}
	if err != nil {
		return nil, err
	}
	end := h.End
	if !in.end.IsZero() {
		end = in.end.UnixMilli()
	}
	h = h.Trim(end-in.history.Milliseconds(), in.namespace)
	if len(h.Containers) == 0 {
		return nil, fmt.Errorf("no containers in the last %s of the history for namespaces %v", in.history, in.namespace)
	}
	return h, nil
}

func (in *tuneInput) check() (tuning.Source, error) {
	src := tuning.SourceKubepulse
	if in.source == "cadvisor" {
		src = tuning.SourceCadvisor
	}
	switch {
	case in.input != "" && in.promURL != "":
		return src, errors.New("give either --input or --prometheus.url, not both")
	case in.input == "" && in.promURL == "":
		return src, errors.New("no history: give --input FILE (from `promtool tsdb dump-openmetrics`) or --prometheus.url URL")
	}
	return src, nil
}

// recommend is load + tuning.Recommend, except from Prometheus without a
// need for the samples (no report): then usage streams into per-pod
// accumulators as it arrives and memory stays proportional to pods, not to
// samples. Both paths give the same recommendations (tested).
func (in *tuneInput) recommend(ctx context.Context, o tuning.Options, needHistory bool, stderr io.Writer) ([]tuning.Recommendation, *tuning.History, error) {
	src, err := in.check()
	if err != nil {
		return nil, nil, err
	}
	if in.input != "" || needHistory {
		h, err := in.load(ctx, stderr)
		if err != nil {
			return nil, nil, err
		}
		return tuning.Recommend(h, o), h, nil
	}
	end := in.end
	if end.IsZero() {
		end = time.Now()
		in.end = end
	}
	b := tuning.NewAggregator(src, o, end.Add(-in.history).UnixMilli(), end.UnixMilli())
	if err := queryPrometheus(ctx, in, src, b, stderr); err != nil {
		return nil, nil, fmt.Errorf("--prometheus.url %s: %w", in.promURL, err)
	}
	recs, err := b.Recommend()
	if err != nil {
		return nil, nil, fmt.Errorf("--prometheus.url %s: %w", in.promURL, err)
	}
	return recs, nil, nil
}

func loadInputFile(name string, src tuning.Source) (*tuning.History, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	if bytes.HasPrefix(data, []byte{0x1f, 0x8b}) {
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if data, err = io.ReadAll(zr); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	return tuning.ParseOpenMetrics(name, data, src)
}

// durationValue accepts Prometheus durations (7d, 1w, 90m) for flags.
type durationValue struct{ d *time.Duration }

func (v *durationValue) Set(s string) error {
	d, err := model.ParseDuration(s)
	if err != nil {
		return err
	}
	*v.d = time.Duration(d)
	return nil
}

func (v *durationValue) String() string { return model.Duration(*v.d).String() }

func tuneCommand(app *kingpin.Application) runFunc {
	tune := app.Command("tune", "Recommend requests, limits and HPA settings from usage history and load-test capacity, and backtest them.")
	res := &tuneResourcesFlags{opts: tuning.DefaultOptions()}
	resCmd := tune.Command("resources", "Recommend CPU and memory requests and limits per workload container from usage history.")
	res.in.flags(resCmd)
	res.flags(resCmd)
	bt := &tuneBacktestFlags{opts: tuning.DefaultOptions()}
	btCmd := tune.Command("backtest", "Replay the history: recommend on rolling training windows, measure on the next window, against current requests, KRR simple and VPA.")
	bt.in.flags(btCmd)
	bt.flags(btCmd)
	cp := &tuneCapacityFlags{}
	cpCmd := tune.Command("capacity", "Recommend HPA target utilization and replica bounds from a load-test results file.")
	cp.flags(cpCmd)
	var run func(context.Context, log.Logger) int
	resCmd.Action(func(*kingpin.ParseContext) error { run = res.run; return nil })
	btCmd.Action(func(*kingpin.ParseContext) error { run = bt.run; return nil })
	cpCmd.Action(func(*kingpin.ParseContext) error { run = cp.run; return nil })
	return func(ctx context.Context, logger log.Logger) int { return run(ctx, logger) }
}

// writeTemp writes data to a new temporary file in dir named after name and
// returns its path; the caller renames it into place or removes it.
func writeTemp(dir, name string, data []byte) (string, error) {
	f, err := os.CreateTemp(dir, "."+name+".tmp*")
	if err != nil {
		return "", err
	}
	_, werr := f.Write(data)
	// CreateTemp makes the file private; a report or patch is not.
	if err := errors.Join(werr, f.Chmod(0o644), f.Close()); err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

// writeFileAtomic writes data to a temporary file next to name and renames
// it into place, so a failure never leaves a half-written file.
func writeFileAtomic(name string, data []byte) error {
	return writeFilesAtomic(filepath.Dir(name), map[string][]byte{filepath.Base(name): data})
}

// writePatches writes every patch into dir, all or none.
func writePatches(dir string, patches map[string][]byte) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return writeFilesAtomic(dir, patches)
}

// writeFilesAtomic writes every file to a temporary one in dir first and
// renames them into place only when all were written.
func writeFilesAtomic(dir string, files map[string][]byte) error {
	tmps := map[string]string{}
	cleanup := func() {
		for _, t := range tmps {
			os.Remove(t)
		}
	}
	for name, data := range files {
		tmp, err := writeTemp(dir, name, data)
		if err != nil {
			cleanup()
			return err
		}
		tmps[name] = tmp
	}
	for name, tmp := range tmps {
		if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
			cleanup()
			return err
		}
	}
	return nil
}

// timeValue reads RFC 3339 or Unix seconds.
type timeValue struct{ t *time.Time }

func (v *timeValue) Set(s string) error {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		*v.t = t
		return nil
	}
	var sec float64
	if _, err := fmt.Sscan(s, &sec); err != nil {
		return fmt.Errorf("%q: want RFC 3339 (2026-11-09T00:00:00Z) or Unix seconds", s)
	}
	*v.t = time.UnixMilli(int64(sec * 1000))
	return nil
}

func (v *timeValue) String() string {
	if v.t.IsZero() {
		return ""
	}
	return v.t.UTC().Format(time.RFC3339)
}
