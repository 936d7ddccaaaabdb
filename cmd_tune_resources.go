package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/go-kit/log"
	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/yaml"

	"github.com/kubepulse/kubepulse/tuning"
)

type tuneResourcesFlags struct {
	in       tuneInput
	opts     tuning.Options
	cpuLimit string
	memLimit string
	output   string
	patches  string
	report   string
}

// optionFlags declares the recommender's knobs; defaults and reasons are
// in tuning.DefaultOptions and docs/tuning.md.
func optionFlags(cmd *kingpin.CmdClause, o *tuning.Options, cpuLimit, memLimit *string) {
	cmd.Flag("half-life", "Half-life of the decaying usage histograms.").Default(promDur(o.HalfLife)).SetValue(&durationValue{&o.HalfLife})
	cmd.Flag("cpu.percentile", "Percentile (0-100) of decayed CPU usage the request covers.").Default(pct(o.CPUPercentile)).SetValue(&percentValue{&o.CPUPercentile})
	cmd.Flag("cpu.margin", "Margin (percent) added to the CPU percentile.").Default(pct(o.CPUMargin)).SetValue(&percentValue{&o.CPUMargin})
	cmd.Flag("memory.interval", "Interval of which each pod's peak working set is one sample.").Default(promDur(o.MemoryInterval)).SetValue(&durationValue{&o.MemoryInterval})
	cmd.Flag("memory.percentile", "Percentile (0-100) of the memory peaks the request covers.").Default(pct(o.MemoryPercentile)).SetValue(&percentValue{&o.MemoryPercentile})
	cmd.Flag("memory.margin", "Margin (percent) added to the memory percentile.").Default(pct(o.MemoryMargin)).SetValue(&percentValue{&o.MemoryMargin})
	cmd.Flag("memory.horizon", "How far ahead a steadily growing working set (a leak) is projected.").Default(promDur(o.MemoryHorizon)).SetValue(&durationValue{&o.MemoryHorizon})
	cmd.Flag("memory.oom-bump", "Factor on the memory held at an OOM kill (at least +100MiB).").Default(fmt.Sprint(o.OOMBumpRatio)).Float64Var(&o.OOMBumpRatio)
	cmd.Flag("cpu.min", "Smallest CPU request recommended (a Kubernetes quantity).").Default(tuning.FormatQuantity(tuning.CPU, o.MinCPU)).SetValue(&quantityValue{&o.MinCPU})
	cmd.Flag("memory.min", "Smallest memory request recommended (a Kubernetes quantity).").Default(tuning.FormatQuantity(tuning.Memory, o.MinMemory)).SetValue(&quantityValue{&o.MinMemory})
	cmd.Flag("cpu.limit", "CPU limit policy: none, request or ratio=X (X times the request).").Default("none").StringVar(cpuLimit)
	cmd.Flag("memory.limit", "Memory limit policy: request, ratio=X or none.").Default("request").StringVar(memLimit)
	cmd.Flag("min-history", "Less history than this gives \"insufficient data\" instead of a guess.").Default(promDur(o.MinHistory)).SetValue(&durationValue{&o.MinHistory})
	cmd.Flag("min-samples", "Fewer samples than this (all pods together) gives \"insufficient data\".").Default(fmt.Sprint(o.MinSamples)).IntVar(&o.MinSamples)
}

func promDur(d time.Duration) string { v := durationValue{&d}; return v.String() }
func pct(f float64) string           { return fmt.Sprint(math.Round(f*1e6) / 1e4) }

// quantityValue reads a Kubernetes quantity (10m, 32Mi) into base units.
type quantityValue struct{ f *float64 }

func (v *quantityValue) Set(s string) error {
	q, err := resource.ParseQuantity(s)
	if err != nil || q.Sign() < 0 {
		return fmt.Errorf("%q: want a Kubernetes quantity such as 10m or 32Mi", s)
	}
	*v.f = q.AsApproximateFloat64()
	return nil
}

func (v *quantityValue) String() string { return fmt.Sprint(*v.f) }

// percentValue reads a percentage into a fraction.
type percentValue struct{ f *float64 }

func (v *percentValue) Set(s string) error {
	var x float64
	if _, err := fmt.Sscan(strings.TrimSuffix(s, "%"), &x); err != nil || x < 0 || x > 1000 {
		return fmt.Errorf("%q: want a percentage such as 95", s)
	}
	*v.f = x / 100
	return nil
}

func (v *percentValue) String() string { return pct(*v.f) }

func (f *tuneResourcesFlags) flags(cmd *kingpin.CmdClause) {
	optionFlags(cmd, &f.opts, &f.cpuLimit, &f.memLimit)
	cmd.Flag("output", "Output format: table, json or yaml.").Short('o').Default("table").EnumVar(&f.output, "table", "json", "yaml")
	cmd.Flag("patches", "Write one strategic-merge patch per Deployment, StatefulSet, DaemonSet or CronJob into this directory.").PlaceHolder("DIR").StringVar(&f.patches)
	cmd.Flag("report", "Write a self-contained HTML report with a usage chart per workload.").PlaceHolder("FILE.html").StringVar(&f.report)
}

func parseLimits(o *tuning.Options, cpu, mem string) error {
	var err error
	if o.CPULimit, err = tuning.ParseLimitPolicy(cpu); err != nil {
		return fmt.Errorf("--cpu.limit: %w", err)
	}
	if o.MemoryLimit, err = tuning.ParseLimitPolicy(mem); err != nil {
		return fmt.Errorf("--memory.limit: %w", err)
	}
	if o.CPUPercentile <= 0 || o.CPUPercentile > 1 || o.MemoryPercentile <= 0 || o.MemoryPercentile > 1 {
		return fmt.Errorf("--cpu.percentile and --memory.percentile must be in (0, 100]")
	}
	return nil
}

func (f *tuneResourcesFlags) run(ctx context.Context, _ log.Logger) int {
	fail := func(err error) int {
		fmt.Fprintf(tuneStderr, "kubepulse tune resources: %v\n", err)
		return 2
	}
	if err := parseLimits(&f.opts, f.cpuLimit, f.memLimit); err != nil {
		return fail(err)
	}
	recs, h, err := f.in.recommend(ctx, f.opts, f.report != "", tuneStderr)
	if err != nil {
		return fail(err)
	}
	sum := tuning.Summarize(recs)
	// Everything is rendered before anything is written, so an error
	// leaves no partial output behind.
	var out []byte
	switch f.output {
	case "json":
		out, err = json.MarshalIndent(recs, "", "  ")
		out = append(out, '\n')
	case "yaml":
		out, err = yaml.Marshal(recs)
	default:
		var b strings.Builder
		writeTable(&b, recs)
		fmt.Fprintln(&b, sum.String())
		out = []byte(b.String())
	}
	if err != nil {
		return fail(err)
	}
	var patches map[string][]byte
	if f.patches != "" {
		patches = tuning.Patches(recs)
	}
	var report []byte
	if f.report != "" {
		if report, err = tuning.Report(h, recs, f.opts); err != nil {
			return fail(err)
		}
	}
	if f.patches != "" {
		if err := writePatches(f.patches, patches); err != nil {
			return fail(err)
		}
	}
	if f.report != "" {
		if err := writeFileAtomic(f.report, report); err != nil {
			return fail(err)
		}
	}
	tuneStdout.Write(out)
	if f.output != "table" {
		fmt.Fprintln(tuneStderr, sum.String())
	}
	return 0
}

func writeTable(w io.Writer, recs []tuning.Recommendation) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAMESPACE\tWORKLOAD\tCONTAINER\tRESOURCE\tPODS\tREQUEST\tLIMIT\tSLACK SAVED\tRISK\tREASON")
	for _, r := range recs {
		saved := "-"
		if s, ok := r.Saved(); ok {
			saved = tuning.FormatQuantity(r.Resource, s)
			if r.Resource == tuning.CPU {
				saved = fmt.Sprintf("%.2f cores", s)
			} else {
				saved = fmt.Sprintf("%.2f GiB", s/(1<<30))
			}
		}
		fmt.Fprintf(tw, "%s\t%s/%s\t%s\t%s\t%.1f\t%s → %s\t%s → %s\t%s\t%s\t%s\n", r.Namespace, r.WorkloadKind, r.Workload, r.Container, r.Resource, r.Pods,
			q(r.Resource, r.CurrentRequest), q(r.Resource, r.RecommendedRequest), q(r.Resource, r.CurrentLimit), q(r.Resource, r.RecommendedLimit),
			saved, dash(r.Risk), r.Reason)
	}
	tw.Flush()
}

func q(res string, v *float64) string {
	if v == nil {
		return "-"
	}
	return tuning.FormatQuantity(res, *v)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
