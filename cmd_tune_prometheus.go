package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"golang.org/x/sync/errgroup"

	"github.com/kubepulse/kubepulse/tuning"
)

// queryParallelism bounds concurrent queries: enough to hide latency,
// few enough not to load the server.
const queryParallelism = 4

// queryPrometheus feeds b with raw samples (a range selector at an
// instant, not query_range, which would resample) through the query API,
// one query per namespace and time chunk, so no response holds more than
// one namespace's chunk. Namespaces run in parallel; the chunks of one
// namespace run in time order, as an aggregating Builder needs.
func queryPrometheus(ctx context.Context, in *tuneInput, src tuning.Source, b *tuning.Builder, stderr io.Writer) error {
	client, err := api.NewClient(api.Config{Address: in.promURL})
	if err != nil {
		return err
	}
	papi := v1.NewAPI(client)
	end := time.Now()
	if !in.end.IsZero() {
		end = in.end
	}
	start := end.Add(-in.history)
	chunk := in.chunk
	if chunk <= 0 || chunk > in.history {
		chunk = in.history
	}
	namespaces := in.namespace
	if len(namespaces) == 0 {
		vals, _, _, err := papi.LabelValues(ctx, "namespace", []string{src.CPU, src.Memory}, start, end)
		if err != nil {
			return fmt.Errorf("listing namespaces: %w", err)
		}
		for _, v := range vals {
			namespaces = append(namespaces, string(v))
		}
		if len(namespaces) == 0 {
			return fmt.Errorf("no %s or %s series between %s and %s (empty range; check --source, --history and --query.end)",
				src.CPU, src.Memory, start.UTC().Format(time.RFC3339), end.UTC().Format(time.RFC3339))
		}
	}
	names := regexp.QuoteMeta(strings.Join(src.Metrics(), "\x00"))
	names = strings.ReplaceAll(names, "\x00", "|")
	chunks := int(math.Ceil(float64(end.Sub(start)) / float64(chunk)))
	var mu sync.Mutex
	bar := newProgress(stderr, in.progress, len(namespaces)*chunks)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(queryParallelism)
	for _, ns := range namespaces {
		g.Go(func() error {
			for t := start; t.Before(end); t = t.Add(chunk) {
				d := min(chunk, end.Sub(t))
				q := fmt.Sprintf(`{__name__=~%q,namespace=%q}[%dms]`, names, ns, d.Milliseconds())
				val, _, _, err := papi.Query(gctx, q, t.Add(d))
				if err != nil {
					return fmt.Errorf("%s: %w", q, err)
				}
				m, ok := val.(model.Matrix)
				if !ok {
					return fmt.Errorf("%s: want a range vector, got %s", q, val.Type())
				}
				mu.Lock()
				for _, s := range m {
					ss := make([]tuning.Sample, len(s.Values))
					for i, p := range s.Values {
						ss[i] = tuning.Sample{T: int64(p.Timestamp), V: float64(p.Value)}
					}
					b.AddSeries(metricLabels(s.Metric), ss)
				}
				bar.inc()
				mu.Unlock()
			}
			return nil
		})
	}
	err = g.Wait()
	bar.done()
	return err
}

func metricLabels(m model.Metric) labels.Labels {
	lb := labels.NewScratchBuilder(len(m))
	for k, v := range m {
		lb.Add(string(k), string(v))
	}
	lb.Sort()
	return lb.Labels()
}

// progress is a one-line bar redrawn in place, shown on a terminal only:
// in a log file it would be noise.
type progress struct {
	w         io.Writer
	on        bool
	n, total  int
	lastDrawn time.Time
}

func newProgress(w io.Writer, mode string, total int) *progress {
	on := mode == "tty" || (mode == "auto" && tuneIsTerminal(w))
	return &progress{w: w, on: on, total: total}
}

func (p *progress) inc() {
	p.n++
	if !p.on || (time.Since(p.lastDrawn) < 100*time.Millisecond && p.n < p.total) {
		return
	}
	p.lastDrawn = time.Now()
	const width = 30
	fill := width * p.n / max(p.total, 1)
	fmt.Fprintf(p.w, "\rquerying Prometheus [%s%s] %d/%d", strings.Repeat("#", fill), strings.Repeat(" ", width-fill), p.n, p.total)
}

func (p *progress) done() {
	if p.on {
		fmt.Fprintln(p.w)
	}
}

func tuneIsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
