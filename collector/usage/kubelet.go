package usage

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"

	"github.com/kubepulse/kubepulse/collector/usage/kubelettext"
)

// Node is a kubelet to read: the node name and where its kubelet listens.
type Node struct {
	Name    string
	Address string // InternalIP
	Port    int32  // kubelet port; 0 means 10250
}

// KubeletConfig configures reads of kubelets' usage endpoints.
type KubeletConfig struct {
	Path        string        // /metrics/resource
	Timeout     time.Duration // per node
	Concurrency int
	TokenFile   string // bearer token, re-read every round
	// FallbackToken is sent while TokenFile cannot be read and no token was
	// ever read from it (out of cluster: the kubeconfig's token).
	FallbackToken      string
	CAFile             string // PEM; "" uses the system roots
	InsecureSkipVerify bool
	Timestamps         bool  // pass the kubelet's sample timestamps through
	MaxBodyBytes       int64 // 0 means 64 MiB
}

// KubeletSource reads every kubelet (or only the local one) once per round
// with a bounded worker pool.
type KubeletSource struct {
	cfg    KubeletConfig
	logger log.Logger
	client *http.Client
	nodes  func() []Node
	local  string // DaemonSet mode: only this node
	store  *Store
	// staleAfter drops the usage of a node failing for this long; 0 keeps it.
	staleAfter time.Duration

	tokenMu  sync.Mutex
	token    string
	tokenErr string // last token read error, logged once per change
	bufPool  sync.Pool
	rendPool sync.Pool
	lookup   LookupFunc // may be nil
}

// NewKubeletSource builds the HTTPS client. nodes lists the cluster's nodes;
// with local set only that node is read (the --node DaemonSet mode).
func NewKubeletSource(cfg KubeletConfig, nodes func() []Node, local string, store *Store, logger log.Logger) (*KubeletSource, error) {
	if cfg.Path == "" {
		cfg.Path = "/metrics/resource"
	}
	if cfg.Concurrency < 1 {
		return nil, fmt.Errorf("--usage.kubelet-concurrency must be at least 1, got %d", cfg.Concurrency)
	}
	if cfg.Timeout <= 0 {
		return nil, fmt.Errorf("--usage.kubelet-timeout must be positive, got %s", cfg.Timeout)
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 64 << 20
	}
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: cfg.InsecureSkipVerify} //nolint:gosec // opt-in flag for kind/minikube
	if cfg.CAFile != "" && !cfg.InsecureSkipVerify {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("--usage.kubelet-ca-file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--usage.kubelet-ca-file %s: no PEM certificate found; give the CA that signed the kubelets' serving certificates", cfg.CAFile)
		}
		tlsCfg.RootCAs = pool
	}
	tr := &http.Transport{
		Proxy:                 nil, // kubelets are reached directly, never through a proxy or the apiserver
		DialContext:           (&net.Dialer{Timeout: cfg.Timeout, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:       tlsCfg,
		TLSHandshakeTimeout:   cfg.Timeout,
		MaxIdleConns:          0,
		MaxIdleConnsPerHost:   1,
		IdleConnTimeout:       2 * time.Minute,
		ResponseHeaderTimeout: cfg.Timeout,
	}
	k := &KubeletSource{
		cfg:    cfg,
		logger: logger,
		client: &http.Client{Transport: tr},
		nodes:  nodes,
		local:  local,
		store:  store,
	}
	k.bufPool.New = func() any { return new(bytes.Buffer) }
	k.rendPool.New = func() any { return newRenderer(cfg.Timestamps) }
	return k, nil
}

// readToken re-reads the token file each round, so projected service-account
// tokens that the kubelet rotates are picked up. On a read error the last
// good token is kept.
func (k *KubeletSource) readToken() string {
	k.tokenMu.Lock()
	defer k.tokenMu.Unlock()
	if k.cfg.TokenFile == "" {
		return k.cfg.FallbackToken
	}
	b, err := os.ReadFile(k.cfg.TokenFile)
	if err != nil {
		if msg := err.Error(); msg != k.tokenErr {
			k.tokenErr = msg
			level.Warn(k.logger).Log("msg", "cannot read the kubelet bearer token; keeping the last one. Fix --usage.kubelet-token-file or mount the service-account token", "file", k.cfg.TokenFile, "err", err)
		}
		if k.token == "" {
			return k.cfg.FallbackToken
		}
		return k.token
	}
	k.tokenErr = ""
	k.token = strings.TrimSpace(string(b))
	return k.token
}

// Round reads every selected node once and updates the store. It returns the
// number of nodes read and how many failed.
func (k *KubeletSource) Round(ctx context.Context) (nodes, failed int) {
	all := k.nodes()
	var todo []Node
	keep := make(map[string]bool, len(all))
	for _, n := range all {
		if k.local != "" && n.Name != k.local {
			continue
		}
		keep[n.Name] = true
		todo = append(todo, n)
	}
	token := k.readToken()
	defer func() {
		// A node that keeps failing loses its usage after staleAfter, so
		// stale values do not pose as current ones for long; gone nodes
		// lose everything at once.
		k.store.retain(keep, time.Now(), k.staleAfter)
	}()

	work := make(chan Node)
	var mu sync.Mutex
	var wg sync.WaitGroup
	workers := min(k.cfg.Concurrency, len(todo))
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range work {
				if err := k.scrapeNode(ctx, n, token); err != nil {
					mu.Lock()
					failed++
					mu.Unlock()
				}
			}
		}()
	}
	for _, n := range todo {
		select {
		case work <- n:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
	}
	close(work)
	wg.Wait()
	return len(todo), failed
}

// scrapeNode reads one kubelet and stores its rendered usage. Every failure
// is counted for the node and logged with what to fix.
func (k *KubeletSource) scrapeNode(ctx context.Context, n Node, token string) error {
	start := time.Now()
	ok, bad, err := k.fetchAndStore(ctx, n, token, start)
	k.store.recordScrape(n.Name, ok, bad, time.Since(start), time.Now())
	if err != nil {
		level.Warn(k.logger).Log("msg", "kubelet usage read failed", "node", n.Name, "err", err)
	}
	return err
}

func (k *KubeletSource) url(n Node) (string, error) {
	if n.Address == "" {
		return "", errors.New("node has no InternalIP address; the kubelet cannot be reached directly")
	}
	port := n.Port
	if port == 0 {
		port = 10250
	}
	return "https://" + net.JoinHostPort(n.Address, strconv.Itoa(int(port))) + k.cfg.Path, nil
}

func (k *KubeletSource) fetchAndStore(ctx context.Context, n Node, token string, start time.Time) (ok bool, bad int, err error) {
	u, err := k.url(n)
	if err != nil {
		return false, 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, k.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return false, 0, err
	}
	req.Header.Set("Accept", "text/plain;version=0.0.4")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := k.client.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return false, 0, fmt.Errorf("GET %s: no answer within --usage.kubelet-timeout=%s", u, k.cfg.Timeout)
		}
		return false, 0, fmt.Errorf("GET %s: %w", u, err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusUnauthorized, http.StatusForbidden:
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		return false, 0, fmt.Errorf("GET %s: %s; the service account needs RBAC get on nodes/metrics and a valid token in --usage.kubelet-token-file", u, resp.Status)
	default:
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		return false, 0, fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	buf := k.bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer k.bufPool.Put(buf)
	nr, err := buf.ReadFrom(io.LimitReader(resp.Body, k.cfg.MaxBodyBytes+1))
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil {
			return false, 0, fmt.Errorf("GET %s: body not read within --usage.kubelet-timeout=%s", u, k.cfg.Timeout)
		}
		return false, 0, fmt.Errorf("GET %s: reading body: %w", u, err)
	}
	if ctx.Err() != nil {
		// The answer raced the deadline: do not trust what came in.
		return false, 0, fmt.Errorf("GET %s: no complete answer within --usage.kubelet-timeout=%s", u, k.cfg.Timeout)
	}
	if nr > k.cfg.MaxBodyBytes {
		return false, 0, fmt.Errorf("GET %s: body larger than %d bytes; point --usage.kubelet-path at /metrics/resource, not a full metrics endpoint", u, k.cfg.MaxBodyBytes)
	}

	r := k.rendPool.Get().(*renderer)
	defer k.rendPool.Put(r)
	r.reset(n.Name)
	r.lookup, r.prev, r.readMs = k.lookup, k.store.prevCPU(n.Name), start.UnixMilli()
	st := kubelettext.Parse(buf.Bytes(), r.add)
	for _, le := range st.Errors {
		level.Warn(k.logger).Log("msg", "skipping malformed line in kubelet usage output; the kubelet or a proxy in between serves something that is not Prometheus text format", "node", n.Name, "url", u, "line", le.Line, "err", le.Msg, "text", le.Text)
	}
	if st.Bad > 0 && st.Samples == 0 && st.Ignored == 0 {
		return false, st.Bad, fmt.Errorf("GET %s: body is not Prometheus text format (%d malformed lines, first: %v); check that --usage.kubelet-path is a kubelet metrics endpoint", u, st.Bad, st.Errors[0])
	}
	if r.dups > 0 {
		level.Debug(k.logger).Log("msg", "duplicate container series in kubelet output; kept the first", "node", n.Name, "duplicates", r.dups)
	}
	k.store.setUsage(n.Name, r.result(start))
	return true, st.Bad, nil
}
