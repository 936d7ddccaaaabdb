package usage

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/kubepulse/kubepulse/collector/usage/kubelettest"
)

// scrape renders the collector and parses it back with expfmt, returning
// "name{k=v,...}" -> value with labels sorted.
func scrape(t *testing.T, c *Collector) map[string]float64 {
	t.Helper()
	var buf bytes.Buffer
	if err := c.WriteRaw(&buf); err != nil {
		t.Fatal(err)
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	mfs, err := p.TextToMetricFamilies(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatalf("exposition rejected: %v\n%s", err, buf.String())
	}
	out := map[string]float64{}
	for name, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var ls []string
			for _, lp := range m.GetLabel() {
				ls = append(ls, lp.GetName()+"="+lp.GetValue())
			}
			sort.Strings(ls)
			v := m.GetGauge().GetValue()
			if mf.GetType().String() == "COUNTER" {
				v = m.GetCounter().GetValue()
			}
			out[name+"{"+strings.Join(ls, ",")+"}"] = v
		}
	}
	return out
}

func series(name, ns, pod, container, node string) string {
	return name + "{container=" + container + ",namespace=" + ns + ",node=" + node + ",pod=" + pod + "}"
}

func cpuKey(ns, pod, c, node string) string {
	return series("kubepulse_container_cpu_usage_seconds_total", ns, pod, c, node)
}
func memKey(ns, pod, c, node string) string {
	return series("kubepulse_container_memory_working_set_bytes", ns, pod, c, node)
}
func nodeKey(name, node string) string { return name + "{node=" + node + "}" }

// cluster is a set of fake kubelets, one per node, and the node list the
// collector sees (changeable between rounds).
type cluster struct {
	mu      sync.Mutex
	fakes   map[string]*kubelettest.Kubelet
	present map[string]bool
	caFile  string
	tokFile string
}

func newCluster(t *testing.T, token string, nodes ...string) *cluster {
	t.Helper()
	dir := t.TempDir()
	c := &cluster{fakes: map[string]*kubelettest.Kubelet{}, present: map[string]bool{}, tokFile: filepath.Join(dir, "token")}
	for _, n := range nodes {
		k := kubelettest.New(token)
		t.Cleanup(k.Close)
		c.fakes[n] = k
		c.present[n] = true
	}
	var err error
	if c.caFile, err = c.fakes[nodes[0]].CAFile(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(c.tokFile, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return c
}

func (c *cluster) nodes() []Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []Node
	for name, k := range c.fakes {
		if c.present[name] {
			out = append(out, Node{Name: name, Address: k.Host(), Port: k.Port()})
		}
	}
	return out
}

func (c *cluster) remove(node string) {
	c.mu.Lock()
	c.present[node] = false
	c.mu.Unlock()
}

func (c *cluster) flags() Config {
	return Config{Source: SourceKubelet, Interval: time.Minute, Kubelet: KubeletConfig{
		Path: kubelettest.Path, Timeout: 2 * time.Second, Concurrency: 4, TokenFile: c.tokFile, CAFile: c.caFile,
	}}
}

func TestKubeletSource(t *testing.T) {
	const token = "s3cr3t"
	app := kubelettest.Container{Namespace: "shop", Pod: "web-0", Name: "app", CPUSeconds: 12.5, MemoryBytes: 64 << 20}
	sidecar := kubelettest.Container{Namespace: "shop", Pod: "web-0", Name: "proxy", CPUSeconds: 0.25, MemoryBytes: 1e6}
	dns := kubelettest.Container{Namespace: "kube-system", Pod: "coredns-1", Name: "coredns", CPUSeconds: 99, MemoryBytes: 2e7}

	tests := []struct {
		name  string
		nodes []string
		setup func(t *testing.T, c *cluster, f *Config, d *Deps)
		// between runs two rounds with this in between, when set
		between func(t *testing.T, c *cluster)
		want    map[string]float64 // must be present with these values
		absent  []string           // must not be present
		check   func(t *testing.T, c *cluster, col *Collector)
	}{
		{
			name:  "values and labels from two nodes over verified TLS with a token",
			nodes: []string{"node-a", "node-b"},
			setup: func(t *testing.T, c *cluster, f *Config, d *Deps) {
				c.fakes["node-a"].SetContainers(app, sidecar)
				c.fakes["node-b"].SetContainers(dns)
			},
			want: map[string]float64{
				cpuKey("shop", "web-0", "app", "node-a"):                   12.5,
				cpuKey("shop", "web-0", "proxy", "node-a"):                 0.25,
				memKey("shop", "web-0", "app", "node-a"):                   64 << 20,
				cpuKey("kube-system", "coredns-1", "coredns", "node-b"):    99,
				memKey("kube-system", "coredns-1", "coredns", "node-b"):    2e7,
				nodeKey("kubepulse_kubelet_scrape_errors_total", "node-a"): 0,
				nodeKey("kubepulse_kubelet_scrape_errors_total", "node-b"): 0,
				nodeKey("kubepulse_usage_bad_samples_total", "node-a"):     0,
			},
			check: func(t *testing.T, c *cluster, col *Collector) {
				m := scrape(t, col)
				if ts := m[nodeKey("kubepulse_kubelet_last_scrape_success_timestamp_seconds", "node-a")]; ts < float64(time.Now().Add(-time.Hour).Unix()) {
					t.Errorf("last success timestamp %v is not recent", ts)
				}
				if err := col.Update(nil); err != nil {
					t.Errorf("Update: %v", err)
				}
			},
		},
		{
			name:  "a node that times out counts an error and does not block the others",
			nodes: []string{"node-a", "slow"},
			setup: func(t *testing.T, c *cluster, f *Config, d *Deps) {
				f.Kubelet.Timeout = 300 * time.Millisecond
				f.Kubelet.Concurrency = 1 // the slow node must not hold the only worker past its timeout
				c.fakes["node-a"].SetContainers(app)
				c.fakes["slow"].SetContainers(dns)
				c.fakes["slow"].SetDelay(time.Minute)
			},
			want: map[string]float64{
				cpuKey("shop", "web-0", "app", "node-a"):                   12.5,
				nodeKey("kubepulse_kubelet_scrape_errors_total", "slow"):   1,
				nodeKey("kubepulse_kubelet_scrape_errors_total", "node-a"): 0,
			},
			absent: []string{cpuKey("kube-system", "coredns-1", "coredns", "slow"), nodeKey("kubepulse_kubelet_last_scrape_success_timestamp_seconds", "slow")},
		},
		{
			name:  "wrong token gets 401 and counts an error",
			nodes: []string{"node-a"},
			setup: func(t *testing.T, c *cluster, f *Config, d *Deps) {
				c.fakes["node-a"].SetContainers(app)
				c.fakes["node-a"].SetToken("another")
			},
			want:   map[string]float64{nodeKey("kubepulse_kubelet_scrape_errors_total", "node-a"): 1},
			absent: []string{cpuKey("shop", "web-0", "app", "node-a")},
			check: func(t *testing.T, c *cluster, col *Collector) {
				if n := c.fakes["node-a"].Unauthorized(); n != 1 {
					t.Errorf("fake refused %d requests, want 1", n)
				}
				if err := col.Update(nil); err == nil || !strings.Contains(err.Error(), "all 1 kubelets failed") {
					t.Errorf("Update = %v, want the round failure", err)
				}
			},
		},
		{
			name:  "rotated token file is re-read",
			nodes: []string{"node-a"},
			setup: func(t *testing.T, c *cluster, f *Config, d *Deps) { c.fakes["node-a"].SetContainers(app) },
			between: func(t *testing.T, c *cluster) {
				c.fakes["node-a"].SetToken("rotated")
				if err := os.WriteFile(c.tokFile, []byte("rotated"), 0o600); err != nil {
					t.Fatal(err)
				}
			},
			want: map[string]float64{cpuKey("shop", "web-0", "app", "node-a"): 12.5, nodeKey("kubepulse_kubelet_scrape_errors_total", "node-a"): 0},
		},
		{
			name:  "unreadable token file falls back to the kubeconfig token",
			nodes: []string{"node-a"},
			setup: func(t *testing.T, c *cluster, f *Config, d *Deps) {
				c.fakes["node-a"].SetContainers(app)
				f.Kubelet.TokenFile = filepath.Join(t.TempDir(), "missing")
				f.Kubelet.FallbackToken = token
			},
			want: map[string]float64{cpuKey("shop", "web-0", "app", "node-a"): 12.5},
		},
		{
			name:  "garbage body is an error for the node",
			nodes: []string{"node-a", "node-b"},
			setup: func(t *testing.T, c *cluster, f *Config, d *Deps) {
				c.fakes["node-a"].SetBody([]byte("<html><body>502 Bad Gateway</body></html>\n"))
				c.fakes["node-b"].SetContainers(dns)
			},
			want: map[string]float64{
				nodeKey("kubepulse_kubelet_scrape_errors_total", "node-a"): 1,
				nodeKey("kubepulse_usage_bad_samples_total", "node-a"):     1,
				cpuKey("kube-system", "coredns-1", "coredns", "node-b"):    99,
			},
		},
		{
			name:  "malformed lines are counted and skipped, good lines kept",
			nodes: []string{"node-a"},
			setup: func(t *testing.T, c *cluster, f *Config, d *Deps) {
				body := string(kubelettest.Render([]kubelettest.Container{app}, time.Now()))
				body = strings.Replace(body, "node_cpu_usage_seconds_total ", "node_cpu_usage_seconds_total{ ", 1)
				body += "container_memory_working_set_bytes{container=\"x\",namespace=\"shop\",pod=\"web-0\"} lots\n"
				c.fakes["node-a"].SetBody([]byte(body))
			},
			want: map[string]float64{
				cpuKey("shop", "web-0", "app", "node-a"):                   12.5,
				nodeKey("kubepulse_usage_bad_samples_total", "node-a"):     1,
				nodeKey("kubepulse_kubelet_scrape_errors_total", "node-a"): 0,
			},
			absent: []string{memKey("shop", "web-0", "x", "node-a")},
		},
		{
			name:  "HTTP 500 counts an error",
			nodes: []string{"node-a"},
			setup: func(t *testing.T, c *cluster, f *Config, d *Deps) {
				c.fakes["node-a"].SetContainers(app)
				c.fakes["node-a"].SetStatus(http.StatusInternalServerError)
			},
			want:   map[string]float64{nodeKey("kubepulse_kubelet_scrape_errors_total", "node-a"): 1},
			absent: []string{cpuKey("shop", "web-0", "app", "node-a")},
		},
		{
			name:  "unverifiable certificate without a CA is an error",
			nodes: []string{"node-a"},
			setup: func(t *testing.T, c *cluster, f *Config, d *Deps) {
				c.fakes["node-a"].SetContainers(app)
				f.Kubelet.CAFile = ""
			},
			want:   map[string]float64{nodeKey("kubepulse_kubelet_scrape_errors_total", "node-a"): 1},
			absent: []string{cpuKey("shop", "web-0", "app", "node-a")},
		},
		{
			name:  "insecure-skip-verify accepts a self-signed kubelet",
			nodes: []string{"node-a"},
			setup: func(t *testing.T, c *cluster, f *Config, d *Deps) {
				c.fakes["node-a"].SetContainers(app)
				f.Kubelet.CAFile = ""
				f.Kubelet.InsecureSkipVerify = true
			},
			want: map[string]float64{cpuKey("shop", "web-0", "app", "node-a"): 12.5},
		},
		{
			name:  "removed node: its series and counters go away",
			nodes: []string{"node-a", "node-b"},
			setup: func(t *testing.T, c *cluster, f *Config, d *Deps) {
				c.fakes["node-a"].SetContainers(app)
				c.fakes["node-b"].SetContainers(dns)
			},
			between: func(t *testing.T, c *cluster) { c.remove("node-b") },
			want:    map[string]float64{cpuKey("shop", "web-0", "app", "node-a"): 12.5},
			absent: []string{
				cpuKey("kube-system", "coredns-1", "coredns", "node-b"),
				memKey("kube-system", "coredns-1", "coredns", "node-b"),
				nodeKey("kubepulse_kubelet_scrape_errors_total", "node-b"),
			},
		},
		{
			name:  "removed pod: its series go away",
			nodes: []string{"node-a"},
			setup: func(t *testing.T, c *cluster, f *Config, d *Deps) {
				c.fakes["node-a"].SetContainers(app, dns)
			},
			between: func(t *testing.T, c *cluster) { c.fakes["node-a"].SetContainers(app) },
			want:    map[string]float64{cpuKey("shop", "web-0", "app", "node-a"): 12.5},
			absent:  []string{cpuKey("kube-system", "coredns-1", "coredns", "node-a"), memKey("kube-system", "coredns-1", "coredns", "node-a")},
		},
		{
			name:  "failing node keeps its last usage within the staleness limit",
			nodes: []string{"node-a"},
			setup: func(t *testing.T, c *cluster, f *Config, d *Deps) { c.fakes["node-a"].SetContainers(app) },
			between: func(t *testing.T, c *cluster) {
				c.fakes["node-a"].SetStatus(http.StatusServiceUnavailable)
			},
			want: map[string]float64{cpuKey("shop", "web-0", "app", "node-a"): 12.5, nodeKey("kubepulse_kubelet_scrape_errors_total", "node-a"): 1},
		},
		{
			name:  "failing node loses its usage past the staleness limit",
			nodes: []string{"node-a"},
			setup: func(t *testing.T, c *cluster, f *Config, d *Deps) {
				c.fakes["node-a"].SetContainers(app)
				f.Interval = time.Nanosecond // stale after 3ns: already stale at the second round
			},
			between: func(t *testing.T, c *cluster) {
				c.fakes["node-a"].SetStatus(http.StatusServiceUnavailable)
			},
			want:   map[string]float64{nodeKey("kubepulse_kubelet_scrape_errors_total", "node-a"): 1},
			absent: []string{cpuKey("shop", "web-0", "app", "node-a")},
		},
		{
			name:  "DaemonSet mode reads only the local kubelet",
			nodes: []string{"node-a", "node-b"},
			setup: func(t *testing.T, c *cluster, f *Config, d *Deps) {
				c.fakes["node-a"].SetContainers(app)
				c.fakes["node-b"].SetContainers(dns)
				d.NodeName = "node-b"
			},
			want:   map[string]float64{cpuKey("kube-system", "coredns-1", "coredns", "node-b"): 99},
			absent: []string{cpuKey("shop", "web-0", "app", "node-a"), nodeKey("kubepulse_kubelet_scrape_errors_total", "node-a")},
			check: func(t *testing.T, c *cluster, col *Collector) {
				if n := c.fakes["node-a"].Requests(); n != 0 {
					t.Errorf("node-a's kubelet got %d requests in DaemonSet mode for node-b", n)
				}
			},
		},
		{
			name:  "kubelet timestamps passed through on request",
			nodes: []string{"node-a"},
			setup: func(t *testing.T, c *cluster, f *Config, d *Deps) {
				c.fakes["node-a"].SetBody([]byte(`container_cpu_usage_seconds_total{container="c",namespace="n",pod="p"} 3 1700000000123` + "\n"))
				f.Kubelet.Timestamps = true
			},
			want: map[string]float64{cpuKey("n", "p", "c", "node-a"): 3},
			check: func(t *testing.T, c *cluster, col *Collector) {
				var buf bytes.Buffer
				_ = col.WriteRaw(&buf)
				if !strings.Contains(buf.String(), `node="node-a"} 3 1700000000123`+"\n") {
					t.Errorf("timestamp not passed through:\n%s", buf.String())
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCluster(t, token, tt.nodes...)
			f := c.flags()
			d := Deps{Nodes: c.nodes}
			if tt.setup != nil {
				tt.setup(t, c, &f, &d)
			}
			col, err := New(f, d, log.NewNopLogger())
			if err != nil {
				t.Fatal(err)
			}
			if col.Ready() {
				t.Fatal("ready before the first round")
			}
			col.RunOnce(context.Background())
			if tt.between != nil {
				tt.between(t, c)
				col.RunOnce(context.Background())
			}
			if !col.Ready() {
				t.Fatal("not ready after a round")
			}
			m := scrape(t, col)
			for k, v := range tt.want {
				if g, ok := m[k]; !ok || g != v {
					t.Errorf("%s = %v (present %v), want %v", k, g, ok, v)
				}
			}
			for _, k := range tt.absent {
				if _, ok := m[k]; ok {
					t.Errorf("%s present, want it gone", k)
				}
			}
			if t.Failed() {
				t.Logf("scraped: %v", m)
			}
			if tt.check != nil {
				tt.check(t, c, col)
			}
		})
	}
}

func TestNewRejectsBadFlags(t *testing.T) {
	nodes := func() []Node { return nil }
	tests := []struct {
		name string
		f    Config
		want string
	}{
		{"zero interval", Config{Source: SourceKubelet, Interval: 0}, "--usage.interval"},
		{"zero concurrency", Config{Source: SourceKubelet, Interval: time.Second, Kubelet: KubeletConfig{Timeout: time.Second}}, "--usage.kubelet-concurrency"},
		{"zero timeout", Config{Source: SourceKubelet, Interval: time.Second, Kubelet: KubeletConfig{Concurrency: 1}}, "--usage.kubelet-timeout"},
		{"missing CA file", Config{Source: SourceKubelet, Interval: time.Second, Kubelet: KubeletConfig{Concurrency: 1, Timeout: time.Second, CAFile: "/nonexistent/ca.crt"}}, "--usage.kubelet-ca-file"},
		{"unknown source", Config{Source: "prometheus", Interval: time.Second}, "--usage.source"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.f, Deps{Nodes: nodes}, log.NewNopLogger())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one naming %s", err, tt.want)
			}
		})
	}
}

// TestLoopRunsInBackground checks that Start runs rounds without a scrape
// and that the source none serves nothing.
func TestLoopRunsInBackground(t *testing.T) {
	c := newCluster(t, "tok", "node-a")
	c.fakes["node-a"].SetContainers(kubelettest.Container{Namespace: "n", Pod: "p", Name: "c", CPUSeconds: 1, MemoryBytes: 2})
	f := c.flags()
	f.Interval = 10 * time.Millisecond
	col, err := New(f, Deps{Nodes: c.nodes}, log.NewNopLogger())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := col.Start(ctx); err != nil {
		t.Fatal(err)
	}
	// Several rounds and stored data, with no scrape and no RunOnce call.
	// (Checked before cancel: the round that cancel interrupts fails, and
	// with a 10ms interval the data is stale by then and dropped.)
	for c.fakes["node-a"].Requests() < 3 || col.Store().Series() == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	if _, ok := scrape(t, col)[cpuKey("n", "p", "c", "node-a")]; !ok {
		t.Error("background rounds stored nothing")
	}
	cancel()
	<-col.done // the loop ends with its context

	none, err := New(Config{Source: SourceNone, Interval: time.Second}, Deps{}, log.NewNopLogger())
	if err != nil {
		t.Fatal(err)
	}
	if !none.Ready() {
		t.Error("source none must be ready at once")
	}
	var buf bytes.Buffer
	if err := none.WriteRaw(&buf); err != nil || buf.Len() != 0 {
		t.Errorf("source none wrote %q, %v", buf.String(), err)
	}
}

// TestWaitsForNodeSync checks that no kubelet is read before the node list
// has synced, and that an empty store writes no empty families.
func TestWaitsForNodeSync(t *testing.T) {
	tests := []struct {
		name      string
		synced    bool
		wantRun   bool
		wantReady bool
	}{
		{"not synced: no round, not ready", false, false, false},
		{"synced: round runs, ready", true, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCluster(t, "tok", "node-a")
			c.fakes["node-a"].SetContainers(kubelettest.Container{Namespace: "n", Pod: "p", Name: "c", CPUSeconds: 1, MemoryBytes: 2})
			col, err := New(c.flags(), Deps{Nodes: c.nodes, Synced: func() bool { return tt.synced }}, log.NewNopLogger())
			if err != nil {
				t.Fatal(err)
			}
			if ran := col.RunOnce(context.Background()); ran != tt.wantRun {
				t.Errorf("RunOnce = %v, want %v", ran, tt.wantRun)
			}
			if col.Ready() != tt.wantReady {
				t.Errorf("Ready = %v, want %v", col.Ready(), tt.wantReady)
			}
			if got, want := c.fakes["node-a"].Requests(), map[bool]int64{false: 0, true: 1}[tt.wantRun]; got != want {
				t.Errorf("kubelet got %d requests, want %d", got, want)
			}
			var buf bytes.Buffer
			if err := col.WriteRaw(&buf); err != nil {
				t.Fatal(err)
			}
			if !tt.wantRun && buf.Len() != 0 {
				t.Errorf("empty store wrote %q", buf.String())
			}
			if tt.wantRun && !strings.Contains(buf.String(), "# TYPE kubepulse_container_cpu_usage_seconds_total counter\n") {
				t.Errorf("no cpu family in %q", buf.String())
			}
		})
	}
}
