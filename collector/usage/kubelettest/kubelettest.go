// Package kubelettest is a fake kubelet for tests: a real TLS server on
// 127.0.0.1 that checks the bearer token (401 otherwise) and serves
// /metrics/resource in the kubelet's own format, with content, delay and
// failures settable while it runs.
//
// Typical use with the exporter:
//
//	k := kubelettest.New("secret-token")
//	defer k.Close()
//	caFile, _ := k.CAFile(t.TempDir())
//	k.SetContainers(kubelettest.Container{Namespace: "default", Pod: "web-0", Name: "app", CPUSeconds: 12.5, MemoryBytes: 64 << 20})
//	// Node object: status.addresses InternalIP = k.Host(),
//	// status.daemonEndpoints.kubeletEndpoint.Port = k.Port();
//	// exporter flags: --usage.kubelet-ca-file=caFile --usage.kubelet-token-file=<file holding the token>
//
// Every Kubelet serves the same httptest certificate (valid for 127.0.0.1
// and ::1), so one CA file verifies all fakes of a test.
package kubelettest

import (
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Path is where the fake serves resource metrics, as the kubelet does.
const Path = "/metrics/resource"

// Container is one container's usage as the kubelet reports it.
type Container struct {
	Namespace   string
	Pod         string
	Name        string
	CPUSeconds  float64   // cumulative core-seconds
	MemoryBytes float64   // working set
	SwapBytes   float64   // container_swap_usage_bytes
	StartTime   time.Time // container_start_time_seconds; zero means one hour before the sample
}

// Kubelet is a running fake kubelet. Its methods are safe for concurrent use.
type Kubelet struct {
	srv      *httptest.Server
	mu       sync.Mutex
	token    string
	body     []byte
	delay    time.Duration
	status   int
	requests atomic.Int64
	unauth   atomic.Int64
}

// New starts a fake kubelet that accepts "Authorization: Bearer <token>".
// An empty token accepts any request. It serves an empty node until
// SetContainers or SetBody is called.
func New(token string) *Kubelet {
	k := &Kubelet{token: token}
	k.body = Render(nil, time.Now())
	k.srv = httptest.NewTLSServer(http.HandlerFunc(k.serve))
	return k
}

func (k *Kubelet) serve(w http.ResponseWriter, r *http.Request) {
	k.requests.Add(1)
	k.mu.Lock()
	token, body, delay, status := k.token, k.body, k.delay, k.status
	k.mu.Unlock()
	if token != "" && r.Header.Get("Authorization") != "Bearer "+token {
		k.unauth.Add(1)
		http.Error(w, "Unauthorized", http.StatusUnauthorized)
		return
	}
	if r.URL.Path != Path {
		http.NotFound(w, r)
		return
	}
	if delay > 0 {
		t := time.NewTimer(delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			// The client gave up: close without an answer, as a hung
			// kubelet would, rather than let net/http send an empty 200.
			panic(http.ErrAbortHandler)
		}
	}
	if status != 0 && status != http.StatusOK {
		http.Error(w, http.StatusText(status), status)
		return
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	_, _ = w.Write(body)
}

// Close stops the server.
func (k *Kubelet) Close() { k.srv.Close() }

// URL is the server's base URL, https://127.0.0.1:PORT.
func (k *Kubelet) URL() string { return k.srv.URL }

// Host is the address to put in the Node's InternalIP.
func (k *Kubelet) Host() string {
	h, _, _ := net.SplitHostPort(k.srv.Listener.Addr().String())
	return h
}

// Port is the port to put in the Node's kubelet endpoint.
func (k *Kubelet) Port() int32 {
	_, p, _ := net.SplitHostPort(k.srv.Listener.Addr().String())
	n, _ := strconv.Atoi(p)
	return int32(n)
}

// CAPEM returns the PEM certificate that verifies the server.
func (k *Kubelet) CAPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: k.srv.Certificate().Raw})
}

// CAFile writes the CA to dir/kubelet-ca.crt and returns its path.
func (k *Kubelet) CAFile(dir string) (string, error) {
	p := filepath.Join(dir, "kubelet-ca.crt")
	return p, os.WriteFile(p, k.CAPEM(), 0o600)
}

// SetContainers replaces what the kubelet reports, rendered as /metrics/resource.
func (k *Kubelet) SetContainers(cs ...Container) {
	b := Render(cs, time.Now())
	k.mu.Lock()
	k.body = b
	k.mu.Unlock()
}

// SetBody serves body verbatim (garbage, cAdvisor output, ...).
func (k *Kubelet) SetBody(body []byte) {
	k.mu.Lock()
	k.body = append([]byte(nil), body...)
	k.mu.Unlock()
}

// SetDelay makes every answer wait d (or until the client gives up).
func (k *Kubelet) SetDelay(d time.Duration) {
	k.mu.Lock()
	k.delay = d
	k.mu.Unlock()
}

// SetStatus makes every answer fail with code; 0 or 200 restores normal answers.
func (k *Kubelet) SetStatus(code int) {
	k.mu.Lock()
	k.status = code
	k.mu.Unlock()
}

// SetToken changes the accepted token.
func (k *Kubelet) SetToken(token string) {
	k.mu.Lock()
	k.token = token
	k.mu.Unlock()
}

// Requests is the number of requests received, authorised or not.
func (k *Kubelet) Requests() int64 { return k.requests.Load() }

// Unauthorized is the number of requests refused with 401.
func (k *Kubelet) Unauthorized() int64 { return k.unauth.Load() }

// Render returns /metrics/resource text for the containers as a kubelet
// 1.2x+ writes it: families sorted by name, labels sorted, [STABLE]/[ALPHA]
// help prefixes, a millisecond timestamp on every usage sample, node and
// pod totals, and the scrape error gauges.
func Render(cs []Container, now time.Time) []byte {
	ts := strconv.FormatInt(now.UnixMilli(), 10)
	var b strings.Builder
	b.Grow(256 + len(cs)*500)
	head := func(name, help, typ string) {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
	}
	cl := func(c Container) string {
		return `{container="` + esc(c.Name) + `",namespace="` + esc(c.Namespace) + `",pod="` + esc(c.Pod) + `"}`
	}
	val := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

	head("container_cpu_usage_seconds_total", "[STABLE] Cumulative cpu time consumed by the container in core-seconds", "counter")
	for _, c := range cs {
		b.WriteString("container_cpu_usage_seconds_total" + cl(c) + " " + val(c.CPUSeconds) + " " + ts + "\n")
	}
	head("container_memory_working_set_bytes", "[STABLE] Current working set of the container in bytes", "gauge")
	for _, c := range cs {
		b.WriteString("container_memory_working_set_bytes" + cl(c) + " " + val(c.MemoryBytes) + " " + ts + "\n")
	}
	head("container_start_time_seconds", "[STABLE] Start time of the container since unix epoch in seconds", "gauge")
	for _, c := range cs {
		st := c.StartTime
		if st.IsZero() {
			st = now.Add(-time.Hour)
		}
		b.WriteString("container_start_time_seconds" + cl(c) + " " + val(float64(st.UnixNano())/1e9) + " " + strconv.FormatInt(st.UnixMilli(), 10) + "\n")
	}
	head("container_swap_usage_bytes", "[ALPHA] Current amount of the container swap usage in bytes. Reported only on non-windows systems", "gauge")
	for _, c := range cs {
		b.WriteString("container_swap_usage_bytes" + cl(c) + " " + val(c.SwapBytes) + " " + ts + "\n")
	}

	type podSum struct{ cpu, mem, swap float64 }
	pods := map[[2]string]*podSum{}
	var node podSum
	for _, c := range cs {
		k := [2]string{c.Namespace, c.Pod}
		p := pods[k]
		if p == nil {
			p = &podSum{}
			pods[k] = p
		}
		p.cpu += c.CPUSeconds
		p.mem += c.MemoryBytes
		p.swap += c.SwapBytes
		node.cpu += c.CPUSeconds
		node.mem += c.MemoryBytes
		node.swap += c.SwapBytes
	}
	// The node also runs system daemons: report more than the pods use.
	head("node_cpu_usage_seconds_total", "[STABLE] Cumulative cpu time consumed by the node in core-seconds", "counter")
	b.WriteString("node_cpu_usage_seconds_total " + val(node.cpu+1234.5) + " " + ts + "\n")
	head("node_memory_working_set_bytes", "[STABLE] Current working set of the node in bytes", "gauge")
	b.WriteString("node_memory_working_set_bytes " + val(node.mem+512<<20) + " " + ts + "\n")
	head("node_swap_usage_bytes", "[ALPHA] Current swap usage of the node in bytes. Reported only on non-windows systems", "gauge")
	b.WriteString("node_swap_usage_bytes " + val(node.swap) + " " + ts + "\n")

	keys := make([][2]string, 0, len(pods))
	for k := range pods {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i][0] != keys[j][0] {
			return keys[i][0] < keys[j][0]
		}
		return keys[i][1] < keys[j][1]
	})
	pl := func(k [2]string) string { return `{namespace="` + esc(k[0]) + `",pod="` + esc(k[1]) + `"}` }
	head("pod_cpu_usage_seconds_total", "[STABLE] Cumulative cpu time consumed by the pod in core-seconds", "counter")
	for _, k := range keys {
		b.WriteString("pod_cpu_usage_seconds_total" + pl(k) + " " + val(pods[k].cpu) + " " + ts + "\n")
	}
	head("pod_memory_working_set_bytes", "[STABLE] Current working set of the pod in bytes", "gauge")
	for _, k := range keys {
		b.WriteString("pod_memory_working_set_bytes" + pl(k) + " " + val(pods[k].mem) + " " + ts + "\n")
	}
	head("pod_swap_usage_bytes", "[ALPHA] Current amount of the pod swap usage in bytes. Reported only on non-windows systems", "gauge")
	for _, k := range keys {
		b.WriteString("pod_swap_usage_bytes" + pl(k) + " " + val(pods[k].swap) + " " + ts + "\n")
	}
	head("resource_scrape_error", "[STABLE] 1 if there was an error while getting container metrics, 0 otherwise", "gauge")
	b.WriteString("resource_scrape_error 0\n")
	head("scrape_error", "[ALPHA] (Deprecated since 1.29.0) 1 if there was an error while getting container metrics, 0 otherwise", "gauge")
	b.WriteString("scrape_error 0\n")
	return []byte(b.String())
}

var escaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

func esc(s string) string { return escaper.Replace(s) }
