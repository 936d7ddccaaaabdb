package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/go-kit/log"

	"github.com/kubepulse/kubepulse/tuning"
)

type tuneBacktestFlags struct {
	in                 tuneInput
	opts               tuning.Options
	cpuLimit, memLimit string
	bt                 tuning.BacktestOptions
	perContainer       bool
	markdown           bool
}

func (f *tuneBacktestFlags) flags(cmd *kingpin.CmdClause) {
	optionFlags(cmd, &f.opts, &f.cpuLimit, &f.memLimit)
	cmd.Flag("train", "Length of each training window.").Default("3d").SetValue(&durationValue{&f.bt.Train})
	cmd.Flag("test", "Length of each test window, right after its training window.").Default("1d").SetValue(&durationValue{&f.bt.Test})
	cmd.Flag("step", "How far the windows roll forward each time.").Default("1d").SetValue(&durationValue{&f.bt.Step})
	cmd.Flag("per-container", "Also print a row per container and strategy.").BoolVar(&f.perContainer)
	cmd.Flag("markdown", "Print Markdown tables instead of aligned text.").BoolVar(&f.markdown)
}

func (f *tuneBacktestFlags) run(ctx context.Context, _ log.Logger) int {
	fail := func(err error) int {
		fmt.Fprintf(tuneStderr, "kubepulse tune backtest: %v\n", err)
		return 2
	}
	if err := parseLimits(&f.opts, f.cpuLimit, f.memLimit); err != nil {
		return fail(err)
	}
	if f.bt.Train <= 0 || f.bt.Test <= 0 || f.bt.Step <= 0 {
		return fail(fmt.Errorf("--train, --test and --step must be positive"))
	}
	h, err := f.in.load(ctx, tuneStderr)
	if err != nil {
		return fail(err)
	}
	if span := time.Duration(h.End-h.Start) * time.Millisecond; span < f.bt.Train+f.bt.Test {
		return fail(fmt.Errorf("the history spans %s, less than one --train (%s) plus --test (%s) window", span.Round(time.Minute), f.bt.Train, f.bt.Test))
	}
	res := tuning.Backtest(h, f.bt, []tuning.Strategy{
		tuning.KubepulseStrategy(f.opts), tuning.CurrentStrategy(), tuning.KRRSimpleStrategy(), tuning.VPAStrategy(),
	})
	writeBacktest(tuneStdout, res, f.perContainer, f.markdown)
	return 0
}

func writeBacktest(w io.Writer, res tuning.BacktestResult, perContainer, md bool) {
	head := []string{"CONTAINER", "STRATEGY", "CPU SLACK (core-h)", "CPU SHORTFALL", "MEM SLACK (GiB-h)", "MEM SHORTFALL", "MEM > LIMIT", "CHANGES"}
	var tw *tabwriter.Writer
	row := func(cells ...string) {
		if md {
			fmt.Fprint(w, "|")
			for _, c := range cells {
				fmt.Fprintf(w, " %s |", c)
			}
			fmt.Fprintln(w)
			return
		}
		for i, c := range cells {
			if i > 0 {
				fmt.Fprint(tw, "\t")
			}
			fmt.Fprint(tw, c)
		}
		fmt.Fprintln(tw)
	}
	if !md {
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	}
	row(head...)
	if md {
		fmt.Fprintln(w, "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
	}
	cur := res.Total["current"]
	score := func(id, name string, s, base *tuning.Score) {
		cs, ms := fmt.Sprintf("%.1f", s.CPUSlack), fmt.Sprintf("%.1f", s.MemorySlack)
		if base != nil && name != "current" && base.CPUSlack > 0 && base.MemorySlack > 0 {
			cs += fmt.Sprintf(" (%+.0f%%)", 100*(s.CPUSlack-base.CPUSlack)/base.CPUSlack)
			ms += fmt.Sprintf(" (%+.0f%%)", 100*(s.MemorySlack-base.MemorySlack)/base.MemorySlack)
		}
		row(id, name, cs, fmt.Sprintf("%.2f%%", 100*s.CPUShortfall), ms, fmt.Sprintf("%.2f%%", 100*s.MemoryShortfall),
			fmt.Sprint(s.OverLimit), fmt.Sprint(s.Changes))
	}
	if perContainer {
		for _, c := range res.Containers {
			for _, name := range res.Strategies {
				score(c.ID, name, c.Scores[name], c.Scores["current"])
			}
		}
	}
	for _, name := range res.Strategies {
		score("total", name, res.Total[name], cur)
	}
	if tw != nil {
		tw.Flush()
	}
	fmt.Fprintf(w, "%d containers, %d rolling windows; slack change in parentheses is against the current requests.\n", len(res.Containers), res.Folds)
}
