// Command rulesbench loads a synthetic cluster into an in-process Prometheus
// TSDB and reports how long each recording-rule group of a rule file takes to
// evaluate (median of several evaluations). hack/bench/rules.sh runs it on the
// output of `kubepulse generate`.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/prometheus/tsdb"

	"github.com/kubepulse/kubepulse/test/rulesbench"
)

func main() {
	var (
		rulesFile = flag.String("rules", "", "rule file to evaluate (the generated prometheus_rules.yaml)")
		alerts    = flag.String("alerts", "", "alert rule file to evaluate after the rules (the generated prometheus_alerts.yaml); optional")
		scaleName = flag.String("scale", "full", "cluster size: full (5,000 nodes, 150,000 pods), medium (1,000 nodes, 30,000 pods) or small (100 nodes, 3,000 pods)")
		history   = flag.Duration("history", 30*time.Minute, "history of raw samples before the first evaluation")
		interval  = flag.Duration("interval", 30*time.Second, "scrape and evaluation interval")
		warmup    = flag.Int("warmup", 3, "unmeasured evaluations of every group first (gives recorded series some history)")
		runs      = flag.Int("runs", 5, "measured evaluations of every group; the median is reported")
		target    = flag.Duration("target", 2*time.Second, "per-group target; groups above it are listed")
		out       = flag.String("out", "", "also write the markdown table to this file")
		batch     = flag.Int("batch", 250000, "series per written block (bounds memory while loading)")
		cpuProf   = flag.String("cpuprofile", "", "write a CPU profile of the rule evaluations (not the loading) to this file")
		storageM  = flag.String("storage", "blocks", "where the raw samples live: blocks (persisted, compacted; bounded memory, for the full scale) or head (in memory like a live Prometheus's recent data; needs memory for every series, for calibration at small scale)")
	)
	flag.Parse()
	if *rulesFile == "" {
		fmt.Fprintln(os.Stderr, "rulesbench: -rules is required (run `kubepulse generate --output-dir DIR` and pass DIR/prometheus_rules.yaml)")
		os.Exit(2)
	}
	var scale rulesbench.Scale
	switch *scaleName {
	case "full":
		scale = rulesbench.FullScale
	case "medium":
		scale = rulesbench.MediumScale
	case "small":
		scale = rulesbench.SmallScale
	default:
		fmt.Fprintf(os.Stderr, "rulesbench: -scale %q: want full, medium or small\n", *scaleName)
		os.Exit(2)
	}
	files := []string{*rulesFile}
	if *alerts != "" {
		files = append(files, *alerts)
	}
	if err := run(files, *cpuProf, scale, *scaleName, *storageM, *history, *interval, *warmup, *runs, *batch, *target, *out); err != nil {
		fmt.Fprintln(os.Stderr, "rulesbench:", err)
		os.Exit(1)
	}
}

func run(files []string, cpuProf string, scale rulesbench.Scale, scaleName, storageMode string, history, interval time.Duration, warmup, runs, batch int, target time.Duration, outPath string) error {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "rulesbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	// Raw samples cover the history and the evaluation window after it.
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	steps := int(history/interval) + warmup + runs + 1
	fmt.Fprintf(os.Stderr, "rulesbench: loading %s cluster (%d nodes, %d pods, %d containers/pod), %d samples per series...\n",
		scaleName, scale.Nodes, scale.Pods, scale.ContainersPerPod, steps)
	var (
		st rulesbench.LoadStats
		db *tsdb.DB
	)
	switch storageMode {
	case "blocks":
		st, err = rulesbench.WriteBlocks(ctx, dir, scale, start, steps, interval, batch)
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "rulesbench: wrote %d series, %d samples in %d blocks in %v; compacting...\n",
			st.Series, st.Samples, st.Blocks, st.Took.Round(time.Millisecond))
		cstart := time.Now()
		db, err = rulesbench.OpenTSDB(ctx, dir, start.Add(time.Duration(steps-1)*interval))
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "rulesbench: compacted into %d block(s) in %v\n", len(db.Blocks()), time.Since(cstart).Round(time.Millisecond))
	case "head":
		db, err = rulesbench.OpenEmptyTSDB(dir)
		if err != nil {
			return err
		}
		st, err = rulesbench.LoadHead(ctx, db, scale, start, steps, interval)
		if err != nil {
			db.Close()
			return err
		}
		fmt.Fprintf(os.Stderr, "rulesbench: appended %d series, %d samples to the head in %v\n", st.Series, st.Samples, st.Took.Round(time.Millisecond))
	default:
		return fmt.Errorf("-storage %q: want blocks or head", storageMode)
	}
	defer db.Close()
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	fmt.Fprintf(os.Stderr, "rulesbench: heap in use %.0f MiB after GC\n", float64(ms.HeapInuse)/(1<<20))

	engine := rulesbench.NewEngine()
	groups, err := rulesbench.LoadGroups(ctx, db, engine, files...)
	if err != nil {
		return err
	}
	first := start.Add(history)
	if cpuProf != "" {
		f, err := os.Create(cpuProf)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	rulesbench.Progress = func(it int, group string, took time.Duration) {
		fmt.Fprintf(os.Stderr, "rulesbench: evaluation %d/%d of %s took %v\n", it+1, warmup+runs, group, took.Round(time.Millisecond))
	}
	res, err := rulesbench.Evaluate(ctx, db, engine, groups, first, interval, warmup, runs)
	if err != nil {
		return err
	}

	var b strings.Builder
	fmt.Fprintf(&b, "Cluster: %s — %d nodes, %d pods × %d containers, %d workloads, %d HPAs: %d series, %d samples (%v of %v samples before the first evaluation), storage: %s.\n\n",
		scaleName, scale.Nodes, scale.Pods, scale.ContainersPerPod, scale.Workloads, scale.HPAs, st.Series, st.Samples, history, interval, storageMode)
	fmt.Fprintf(&b, "| group | rules | output series | median eval (wall) | min | max | median CPU | empty rules |\n|---|---:|---:|---:|---:|---:|---:|---|\n")
	var slow, broken []string
	var sumWall, sumCPU time.Duration
	for _, r := range res {
		sumWall += r.Median
		sumCPU += r.MedianCPU
		lo, hi := minMax(r.Durations)
		out := strconv.Itoa(r.OutSeries)
		if r.Alerting {
			out = fmt.Sprintf("%d alerts", r.Active)
		}
		fmt.Fprintf(&b, "| %s | %d | %s | %s | %s | %s | %s | %s |\n", r.Name, r.Rules, out,
			fmtDur(r.Median), fmtDur(lo), fmtDur(hi), fmtDur(r.MedianCPU), strings.Join(r.EmptyRules, ", "))
		if r.Median > target {
			slow = append(slow, fmt.Sprintf("%s (%s)", r.Name, fmtDur(r.Median)))
		}
		for rule, e := range r.Errors {
			broken = append(broken, fmt.Sprintf("%s/%s: %s", r.Name, rule, e))
		}
	}
	// What one evaluation round costs: every group once.
	fmt.Fprintf(&b, "| **sum of medians** (%d groups) | | | %s | | | %s | |\n", len(res), fmtDur(sumWall), fmtDur(sumCPU))
	fmt.Fprintf(&b, "\nGroups above the %v target: ", target)
	if len(slow) == 0 {
		b.WriteString("none.\n")
	} else {
		b.WriteString(strings.Join(slow, ", ") + ".\n")
	}
	for _, e := range broken {
		fmt.Fprintf(&b, "\nRule error: %s\n", e)
	}
	var w io.Writer = os.Stdout
	fmt.Fprint(w, b.String())
	if outPath != "" {
		if err := os.WriteFile(outPath, []byte(b.String()), 0o644); err != nil {
			return err
		}
	}
	if len(broken) > 0 {
		return fmt.Errorf("%d rules failed to evaluate", len(broken))
	}
	return nil
}

func minMax(d []time.Duration) (time.Duration, time.Duration) {
	if len(d) == 0 {
		return 0, 0
	}
	lo, hi := d[0], d[0]
	for _, x := range d[1:] {
		lo, hi = min(lo, x), max(hi, x)
	}
	return lo, hi
}

func fmtDur(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.2f s", d.Seconds())
	case d >= time.Millisecond:
		return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%d µs", d.Microseconds())
}
