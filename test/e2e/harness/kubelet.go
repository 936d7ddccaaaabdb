package harness

import (
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// ContainerUsage is what the fake kubelet reports for one container.
type ContainerUsage struct {
	Namespace, Pod, Container string
	// CPUCores is the constant usage rate; the counter grows by it per second.
	CPUCores float64
	// MemoryBytes is the working set.
	MemoryBytes float64
}

// FakeKubelet serves /metrics/resource over TLS in the kubelet's format
// (the stable container_/pod_/node_ usage families, with millisecond
// timestamps). It records the Authorization headers it saw.
type FakeKubelet struct {
	Server *httptest.Server
	// CAFile holds the server's self-signed certificate in PEM, for the
	// exporter's kubelet CA flag.
	CAFile string
	Token  string // when set, requests without "Bearer <Token>" get 401

	mu     sync.Mutex
	start  time.Time
	usage  map[string]ContainerUsage
	scrape int
	auth   []string
}

// StartFakeKubelet starts the kubelet on 127.0.0.1 and stops it at cleanup.
func StartFakeKubelet(t testing.TB, token string) *FakeKubelet {
	t.Helper()
	k := &FakeKubelet{Token: token, start: time.Now(), usage: map[string]ContainerUsage{}}
	mux := http.NewServeMux()
	mux.HandleFunc("/metrics/resource", k.serve)
	k.Server = httptest.NewUnstartedServer(mux)
	k.Server.StartTLS()
	t.Cleanup(k.Server.Close)
	k.CAFile = filepath.Join(t.TempDir(), "kubelet-ca.crt")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: k.Server.Certificate().Raw})
	if err := os.WriteFile(k.CAFile, pemBytes, 0o644); err != nil {
		t.Fatal(err)
	}
	return k
}

// Port is the TCP port the kubelet listens on (for the Node's
// status.daemonEndpoints.kubeletEndpoint.port).
func (k *FakeKubelet) Port() int {
	return k.Server.Listener.Addr().(*net.TCPAddr).Port
}

// Set adds or replaces a container's usage.
func (k *FakeKubelet) Set(u ContainerUsage) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.usage[u.Namespace+"/"+u.Pod+"/"+u.Container] = u
}

// Scrapes returns how many authorised scrapes were served.
func (k *FakeKubelet) Scrapes() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.scrape
}

// AuthHeaders returns the Authorization headers seen, in order.
func (k *FakeKubelet) AuthHeaders() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]string(nil), k.auth...)
}

func (k *FakeKubelet) serve(w http.ResponseWriter, r *http.Request) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.auth = append(k.auth, r.Header.Get("Authorization"))
	if k.Token != "" && r.Header.Get("Authorization") != "Bearer "+k.Token {
		http.Error(w, "Unauthorized", http.StatusUnauthorized)
		return
	}
	k.scrape++
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	_, _ = w.Write([]byte(k.render(time.Now())))
}

// Render returns the exposition for time now; exported for tests.
func (k *FakeKubelet) Render(now time.Time) string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.render(now)
}

func (k *FakeKubelet) render(now time.Time) string {
	keys := make([]string, 0, len(k.usage))
	for key := range k.usage {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	elapsed := now.Sub(k.start).Seconds()
	ts := now.UnixMilli()
	var b strings.Builder
	var nodeCPU, nodeMem float64
	b.WriteString("# HELP container_cpu_usage_seconds_total [STABLE] Cumulative cpu time consumed by the container in core-seconds\n")
	b.WriteString("# TYPE container_cpu_usage_seconds_total counter\n")
	for _, key := range keys {
		u := k.usage[key]
		fmt.Fprintf(&b, "container_cpu_usage_seconds_total{container=%q,namespace=%q,pod=%q} %g %d\n",
			u.Container, u.Namespace, u.Pod, 1+u.CPUCores*elapsed, ts)
		nodeCPU += 1 + u.CPUCores*elapsed
	}
	b.WriteString("# HELP container_memory_working_set_bytes [STABLE] Current working set of the container in bytes\n")
	b.WriteString("# TYPE container_memory_working_set_bytes gauge\n")
	for _, key := range keys {
		u := k.usage[key]
		fmt.Fprintf(&b, "container_memory_working_set_bytes{container=%q,namespace=%q,pod=%q} %g %d\n",
			u.Container, u.Namespace, u.Pod, u.MemoryBytes, ts)
		nodeMem += u.MemoryBytes
	}
	b.WriteString("# HELP container_start_time_seconds [STABLE] Start time of the container since unix epoch in seconds\n")
	b.WriteString("# TYPE container_start_time_seconds gauge\n")
	for _, key := range keys {
		u := k.usage[key]
		fmt.Fprintf(&b, "container_start_time_seconds{container=%q,namespace=%q,pod=%q} %d %d\n",
			u.Container, u.Namespace, u.Pod, k.start.Unix(), ts)
	}
	b.WriteString("# HELP node_cpu_usage_seconds_total [STABLE] Cumulative cpu time consumed by the node in core-seconds\n")
	b.WriteString("# TYPE node_cpu_usage_seconds_total counter\n")
	fmt.Fprintf(&b, "node_cpu_usage_seconds_total %g %d\n", 100+nodeCPU, ts)
	b.WriteString("# HELP node_memory_working_set_bytes [STABLE] Current working set of the node in bytes\n")
	b.WriteString("# TYPE node_memory_working_set_bytes gauge\n")
	fmt.Fprintf(&b, "node_memory_working_set_bytes %g %d\n", 1e9+nodeMem, ts)
	b.WriteString("# HELP resource_scrape_error [STABLE] 1 if there was an error while getting container metrics, 0 otherwise\n")
	b.WriteString("# TYPE resource_scrape_error gauge\n")
	b.WriteString("resource_scrape_error 0\n")
	return b.String()
}
