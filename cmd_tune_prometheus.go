package main

import (
	"context"
	"fmt"
	"io"
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

// loadPrometheus reads raw samples (a range selector at an instant, not
// query_range, which would resample) through the query API, one query per
// namespace and time chunk, so no response holds more than one namespace's
// chunk. The result is the same history a dump of the same data gives.
func loadPrometheus(ctx context.Context, in *tuneInput, src tuning.Source, stderr io.Writer) (*tuning.History, error) {
	client, err := api.NewClient(api.Config{Address: in.promURL})
	if err != nil {
		return nil, fmt.Errorf("--prometheus.url %s: %w", in.promURL, err)
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
			return nil, fmt.Errorf("--prometheus.url %s: listing namespaces: %w", in.promURL, err)
		}
		for _, v := range vals {
			namespaces = append(namespaces, string(v))
		}
		if len(namespaces) == 0 {
			return nil, fmt.Errorf("--prometheus.url %s: no %s or %s series between %s and %s (empty range; check --source, --history and --query.end)",
				in.promURL, src.CPU, src.Memory, start.UTC().Format(time.RFC3339), end.UTC().Format(time.RFC3339))
		}
	}
	names := regexp.QuoteMeta(strings.Join(src.Metrics(), "\x00"))
	names = strings.ReplaceAll(names, "\x00", "|")
	type job struct {
		ns string
		at time.Time
		d  time.Duration
	}
	var jobs []job
	for _, ns := range namespaces {
		for t := start; t.Before(end); t = t.Add(chunk) {
			d := min(chunk, end.Sub(t))
			jobs = append(jobs, job{ns, t.Add(d), d})
		}
	}
	b := tuning.NewBuilder(src)
	var mu sync.Mutex
	bar := newProgress(stderr, in.progress, len(jobs))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(queryParallelism)
	for _, j := range jobs {
		g.Go(func() error {
			q := fmt.Sprintf(`{__name__=~%q,namespace=%q}[%dms]`, names, j.ns, j.d.Milliseconds())
			val, _, _, err := papi.Query(gctx, q, j.at)
			if err != nil {
				return fmt.Errorf("--prometheus.url %s: %s: %w", in.promURL, q, err)
			}
			m, ok := val.(model.Matrix)
			if !ok {
				return fmt.Errorf("--prometheus.url %s: %s: want a range vector, got %s", in.promURL, q, val.Type())
			}
			mu.Lock()
			defer mu.Unlock()
			for _, s := range m {
				ls := metricLabels(s.Metric)
				for _, p := range s.Values {
					b.Add(ls, int64(p.Timestamp), float64(p.Value))
				}
			}
			bar.inc()
			return nil
		})
	}
	err = g.Wait()
	bar.done()
	if err != nil {
		return nil, err
	}
	h, err := b.History()
	if err != nil {
		return nil, fmt.Errorf("--prometheus.url %s: %w", in.promURL, err)
	}
	return h, nil
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
