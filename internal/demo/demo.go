package demo

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	dto "github.com/prometheus/client_model/go"

	"github.com/kubepulse/kubepulse/collector"
	"github.com/kubepulse/kubepulse/collector/cluster"
	ltcollector "github.com/kubepulse/kubepulse/collector/loadtest"
	"github.com/kubepulse/kubepulse/collector/logs"
	"github.com/kubepulse/kubepulse/collector/usage"
	"github.com/kubepulse/kubepulse/collector/usage/kubelettest"
	"github.com/kubepulse/kubepulse/internal/logging"
	"github.com/kubepulse/kubepulse/loadtest/gen"
	"github.com/kubepulse/kubepulse/mixin"
	"github.com/kubepulse/kubepulse/mixin/config"
)

// Options configure a demo run.
type Options struct {
	Seed        int64
	History     time.Duration // simulated history fast-forwarded at start
	Step        time.Duration // scrape interval, simulated and live
	Instance    string        // the instance label of the self-scrape (the listen address)
	Version     string
	LoadRate    float64 // load-test requests per second
	Logger      log.Logger
	Recommender Recommender // nil: the placeholder
}

// Demo is a running demo: the simulation, the collectors it feeds, the
// embedded Prometheus and the web handlers.
type Demo struct {
	opts     Options
	logger   log.Logger
	tmp      string
	genDir   string
	genFiles []string // generated file paths, relative to genDir
	rec      Recommender

	mu       sync.Mutex // the simulation and its writers
	sim      *Sim
	simNow   time.Time
	kube     *kube
	src      *cluster.Source
	kubelets map[string]*kubelettest.Kubelet
	usage    *usage.Collector
	logs     *logs.Collector
	lt       *ltcollector.Collector
	logw     *logWriter
	jtl      *jtlWriter
	jtlPath  string
	svc      *http.Server
	svcURL   string
	genM     *gen.Metrics

	set     *collector.Set
	metrics http.Handler
	prom    *prom
	live    bool
	started time.Time
	ffTook  time.Duration
	tEval   time.Duration // rule evaluation during the fast-forward
}

// New builds everything and starts the collectors; nothing is simulated
// until FastForward.
func New(ctx context.Context, o Options) (_ *Demo, err error) {
	if o.History < 0 {
		return nil, fmt.Errorf("--demo.history=%s: must not be negative", o.History)
	}
	if o.Step <= 0 {
		o.Step = 15 * time.Second
	}
	if o.LoadRate <= 0 {
		o.LoadRate = 20
	}
	if o.Logger == nil {
		o.Logger = log.NewNopLogger()
	}
	d := &Demo{opts: o, logger: o.Logger, kubelets: map[string]*kubelettest.Kubelet{}, rec: o.Recommender}
	if d.rec == nil {
		d.rec = PendingRecommender{}
	}
	if d.tmp, err = os.MkdirTemp("", "kubepulse-demo-"); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			d.Close()
		}
	}()
	end := time.Now().Truncate(time.Second)
	d.simNow = end.Add(-o.History)
	d.sim = NewSim(o.Seed, d.simNow, end)

	if err := d.generate(); err != nil {
		return nil, err
	}
	if err := d.startCluster(ctx); err != nil {
		return nil, err
	}
	if err := d.startFiles(ctx); err != nil {
		return nil, err
	}
	base := prometheus.NewRegistry()
	d.genM = gen.NewMetrics()
	d.genM.Dropped.WithLabelValues(loadTestRun) // at 0 until a request is dropped
	base.MustRegister(versioncollector.NewCollector("kubepulse"), collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), d.genM.Dropped)
	d.set = collector.NewSet(d.logger, map[string]collector.Collector{
		"node": cluster.NewNodeCollector(d.src), "pod": cluster.NewPodCollector(d.src), "hpa": cluster.NewHPACollector(d.src),
		"usage": d.usage, "logs": d.logs, "loadtest": d.lt,
	})
	d.metrics = d.set.Handler(collector.HandlerOpts{Gatherer: base, Logger: d.logger})
	ruleFiles := []string{filepath.Join(d.genDir, mixin.FileRules), filepath.Join(d.genDir, mixin.FileAlerts)}
	if d.prom, err = newProm(filepath.Join(d.tmp, "tsdb"), logging.Slog(d.logger), o.Instance, ruleFiles); err != nil {
		return nil, err
	}
	return d, nil
}

// generate writes exactly what `kubepulse generate` writes with the default
// config, and keeps the list for /generated/.
func (d *Demo) generate() error {
	cfg := config.Default()
	ver := d.opts.Version
	if ver == "" {
		ver = "dev"
	}
	out, err := mixin.Generate(&cfg, mixin.Options{Version: ver})
	if err != nil {
		return fmt.Errorf("generate the mixin: %w", err)
	}
	d.genDir = filepath.Join(d.tmp, "generated")
	if err := mixin.Write(out, d.genDir); err != nil {
		return err
	}
	d.genFiles = out.Paths()
	return nil
}

// GeneratedDir is where the demo wrote the mixin it loaded.
func (d *Demo) GeneratedDir() string { return d.genDir }

func (d *Demo) startCluster(ctx context.Context) error {
	ports := map[string]int32{}
	host := ""
	for _, n := range d.sim.nodes {
		k := kubelettest.New("demo-token")
		d.kubelets[n.name] = k
		ports[n.name] = k.Port()
		host = k.Host()
	}
	var err error
	if d.kube, err = newKube(d.sim, host, ports); err != nil {
		return err
	}
	d.src = cluster.NewSource(cluster.Config{TotalShards: 1}, nil, d.kube.client, d.kube.meta, d.logger)
	// Collectors must exist before Start: they tell the source what to watch.
	_ = cluster.NewNodeCollector(d.src)
	_ = cluster.NewPodCollector(d.src)
	_ = cluster.NewHPACollector(d.src)

	caFile, err := d.kubelets[d.sim.nodes[0].name].CAFile(d.tmp)
	if err != nil {
		return err
	}
	tokenFile := filepath.Join(d.tmp, "kubelet-token")
	if err := os.WriteFile(tokenFile, []byte("demo-token"), 0o600); err != nil {
		return err
	}
	f := usage.Config{Source: usage.SourceKubelet, Interval: d.opts.Step, Kubelet: usage.KubeletConfig{
		Path: kubelettest.Path, Timeout: 5 * time.Second, Concurrency: 8, TokenFile: tokenFile, CAFile: caFile,
	}}
	if d.usage, err = usage.New(f, usage.ClusterDeps(d.src), log.With(d.logger, "collector", "usage")); err != nil {
		return err
	}
	if err := d.kube.sync(ctx, d.sim); err != nil {
		return err
	}
	if err := d.src.Start(ctx); err != nil {
		return err
	}
	return waitFor(ctx, 30*time.Second, "the cluster informers to sync", d.src.Synced)
}

func (d *Demo) startFiles(ctx context.Context) error {
	logRoot := filepath.Join(d.tmp, "pods")
	if err := os.MkdirAll(logRoot, 0o755); err != nil {
		return err
	}
	d.logw = newLogWriter(logRoot, d.opts.Seed)
	if err := d.logw.writeJob(d.sim); err != nil {
		return err
	}
	var err error
	if d.logs, err = logs.New(logs.Config{Path: logRoot, Poll: 10 * time.Millisecond}, log.With(d.logger, "collector", "logs")); err != nil {
		return err
	}
	// As the exporter's per-node agent (--node) does: the log counters get
	// workload labels from the pods the cluster source holds.
	d.src.RequireWorkloads()
	d.logs.SetWorkloads(func(ns, pod string) (string, string, bool) {
		ci, ok := d.src.Container(ns, pod, "")
		return ci.WorkloadKind, ci.Workload, ok
	}, nil)
	if err := d.logs.Start(ctx); err != nil {
		return err
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	d.svc = &http.Server{Handler: &service{rng: rand.New(rand.NewPCG(uint64(d.opts.Seed), 0x5e7))}, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = d.svc.Serve(ln) }()
	d.svcURL = "http://" + ln.Addr().String() + "/api/cart"

	dir := filepath.Join(d.tmp, "loadtest")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	d.jtlPath = filepath.Join(dir, "checkout.jtl")
	if d.jtl, err = newJTL(d.jtlPath, d.svcURL, d.opts.Seed); err != nil {
		return err
	}
	if d.lt, err = ltcollector.New(log.With(d.logger, "collector", "loadtest"), ltcollector.Config{Files: []string{d.jtlPath}, Rescan: time.Second, Poll: 5 * time.Millisecond}); err != nil {
		return err
	}
	return d.lt.Start(ctx)
}

// fineSpan is the end of the history simulated at the live cadence.
const fineSpan = 20 * time.Minute

// loadTestRun is the load test's run label (the JTL file's name).
const loadTestRun = "checkout"

// loadTestSpan is how much of the history the load test has been running.
const loadTestSpan = time.Hour

// FastForward simulates the history: at each step it advances the model,
// lets the collectors see it (waiting until they have), scrapes /metrics
// into the TSDB with the simulated timestamp and evaluates due rule groups.
func (d *Demo) FastForward(ctx context.Context) error {
	start := time.Now()
	// The history is a burst of short-lived garbage: collect less often
	// while it runs (the heap stays far below the memory budget).
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	end := d.sim.end
	steps := 0
	for t := d.simNow; ; {
		// Older history is scraped once a minute and its rules
		// evaluated every 4 minutes (still within the 5m lookback, so the
		// recorded series stay continuous); the last stretch runs at the
		// live cadence so rates and for: alerts are exact where they matter.
		stepD, coarse := d.opts.Step, time.Duration(0)
		if end.Sub(t) > fineSpan {
			stepD, coarse = max(d.opts.Step, time.Minute), 4*time.Minute
		}
		t = t.Add(stepD)
		if t.After(end) {
			break
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		d.prom.coarse = coarse
		if err := d.step(ctx, t, end.Sub(t) < loadTestSpan); err != nil {
			return fmt.Errorf("simulated %s: %w", t.Format(time.RFC3339), err)
		}
		steps++
	}
	d.prom.coarse = 0
	d.ffTook = time.Since(start)
	level.Info(d.logger).Log("msg", "history fast-forwarded", "history", d.opts.History, "steps", steps, "groups", len(d.prom.groups), "took", d.ffTook, "rule_eval", d.tEval)
	return nil
}

// step is one simulated scrape interval ending at t.
func (d *Demo) step(ctx context.Context, t time.Time, synthLoad bool) error {
	d.mu.Lock()
	dt := t.Sub(d.simNow)
	d.simNow = t
	d.sim.Step(t, dt)
	if err := d.kube.sync(ctx, d.sim); err != nil {
		d.mu.Unlock()
		return err
	}
	// Samples carry the simulated time: the usage collector rates CPU
	// between two reads by their timestamps, and a wall-clock stamp on a
	// fast-forwarded minute would make every container look pinned.
	byNode := kubeletContainers(d.sim)
	for _, n := range d.sim.nodes {
		d.kubelets[n.name].SetBody(kubelettest.Render(byNode[n.name], t))
	}
	if err := d.logw.write(d.sim, t, dt); err != nil {
		d.mu.Unlock()
		return err
	}
	wantLines := d.logw.lines
	wantRows := uint64(0)
	if synthLoad {
		if err := d.jtl.write(t, dt, d.opts.LoadRate); err != nil {
			d.mu.Unlock()
			return err
		}
		wantRows = d.jtl.rows
	}
	d.mu.Unlock()

	if !d.live {
		// The informers, tailers and kubelet reads run on their own; wait
		// until they have seen this step so the scrape reflects it.
		d.usage.RunOnce(ctx)
		if err := waitFor(ctx, 5*time.Second, "the log tailer", func() bool { return d.logLines() >= wantLines }); err != nil {
			return err
		}
		if synthLoad {
			if err := waitFor(ctx, 5*time.Second, "the load-test collector", func() bool { return d.ltRows() >= wantRows }); err != nil {
				return err
			}
		}
		d.waitPods()
	}
	if _, err := d.prom.scrape(ctx, d.metrics, t); err != nil {
		level.Warn(d.logger).Log("msg", "self-scrape", "err", err)
	}
	t1 := time.Now()
	d.prom.evalDue(ctx, t)
	d.tEval += time.Since(t1)
	return nil
}

// waitPods gives the pod watch a moment to deliver the step's updates.
func (d *Demo) waitPods() {
	want := len(d.sim.pods)
	_ = waitFor(context.Background(), 500*time.Millisecond, "pods", func() bool {
		n := 0
		for _, p := range d.sim.pods {
			if _, ok := d.src.PodNode(p.w.ns, p.name); ok {
				n++
			}
		}
		return n >= want
	})
}

func (d *Demo) logLines() uint64 {
	var n uint64
	for _, c := range d.logs.Tailer().Counts() {
		for _, v := range c.Lines {
			n += v
		}
	}
	return n
}

func (d *Demo) ltRows() uint64 {
	ch := make(chan prometheus.Metric, 64)
	go func() { d.lt.Metrics().Requests.Collect(ch); close(ch) }()
	var n float64
	for m := range ch {
		var pb dto.Metric
		if m.Write(&pb) == nil {
			n += pb.GetCounter().GetValue()
		}
	}
	return uint64(n)
}

// Live runs the demo in real time until ctx ends: a scrape every step, the
// generator's load against the in-process service, and the usage loop.
func (d *Demo) Live(ctx context.Context) error {
	d.live = true
	d.started = time.Now()
	if err := d.usage.Start(ctx); err != nil {
		return err
	}
	f, err := os.OpenFile(d.jtlPath, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	tgt, err := gen.NewTarget(http.MethodGet, d.svcURL, nil, nil, "GET cart")
	if err != nil {
		return err
	}
	const long = 365 * 24 * time.Hour
	r, err := gen.New(gen.Config{
		Targets: []*gen.Target{tgt}, Schedule: gen.NewSchedule(d.opts.LoadRate, []gen.Stage{{Duration: long, Target: d.opts.LoadRate}}, 0, 1),
		Duration: long, MaxInFlight: 4, Timeout: 5 * time.Second, KeepAlive: true, MaxDelay: time.Second, ShutdownGrace: time.Second,
		Run: loadTestRun, Metrics: d.genM, JTL: f, Logger: d.logger,
	})
	if err != nil {
		return err
	}
	done := make(chan struct{})
	go func() { defer close(done); r.Run(ctx) }()
	defer func() { <-done }()

	tick := time.NewTicker(d.opts.Step)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case now := <-tick.C:
			if err := d.step(ctx, now, false); err != nil && !errors.Is(err, context.Canceled) {
				level.Warn(d.logger).Log("msg", "live step", "err", err)
			}
		}
	}
}

// Close stops the helpers and removes the temporary directory.
func (d *Demo) Close() {
	if d.logs != nil {
		_ = d.logs.Stop()
	}
	if d.lt != nil {
		_ = d.lt.Stop()
	}
	if d.svc != nil {
		_ = d.svc.Close()
	}
	for _, k := range d.kubelets {
		k.Close()
	}
	if d.logw != nil {
		d.logw.close()
	}
	if d.jtl != nil {
		_ = d.jtl.f.Close()
	}
	if d.prom != nil {
		_ = d.prom.close()
	}
	if d.tmp != "" {
		_ = os.RemoveAll(d.tmp)
	}
}

// FastForwardTook is how long the history took to simulate.
func (d *Demo) FastForwardTook() time.Duration { return d.ffTook }

func waitFor(ctx context.Context, limit time.Duration, what string, ok func() bool) error {
	deadline := time.Now().Add(limit)
	for !ok() {
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %s waiting for %s", limit, what)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Millisecond):
		}
	}
	return nil
}
