// Command gen writes the synthetic usage traces of testdata/traces (see
// tuning/tracegen): go run ./testdata/traces/gen -seed 1 -out week.om
package main

import (
	"compress/gzip"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/kubepulse/kubepulse/tuning/tracegen"
)

func main() {
	var c tracegen.Config
	var start, out string
	flag.Uint64Var(&c.Seed, "seed", 1, "random seed; the same seed writes the same trace")
	flag.StringVar(&start, "start", "2026-11-02T00:00:00Z", "start of the trace (RFC 3339)")
	flag.DurationVar(&c.Duration, "duration", 7*24*time.Hour, "length of the trace")
	flag.DurationVar(&c.Step, "step", 5*time.Minute, "interval between samples")
	flag.StringVar(&c.Source, "source", "kubepulse", "series names: kubepulse or cadvisor")
	flag.BoolVar(&c.WorkloadLabels, "workload-labels", false, "put workload_kind/workload on the usage series")
	flag.IntVar(&c.Replicas, "replicas", 1, "multiply the pods of replicated workloads")
	flag.IntVar(&c.Namespaces, "namespaces", 1, "repeat the workloads in this many namespaces")
	flag.StringVar(&out, "out", "-", "output file (- for stdout; .gz is gzip-compressed)")
	flag.Parse()
	if err := run(c, start, out); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(2)
	}
}

func run(c tracegen.Config, start, out string) error {
	t, err := time.Parse(time.RFC3339, start)
	if err != nil {
		return fmt.Errorf("-start: %w", err)
	}
	c.Start = t
	var w io.Writer = os.Stdout
	if out != "-" {
		f, err := os.Create(out)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
		if strings.HasSuffix(out, ".gz") {
			zw := gzip.NewWriter(f)
			defer zw.Close()
			w = zw
		}
	}
	return tracegen.Write(w, c)
}
