// Package testenv starts a real etcd and kube-apiserver on loopback for the
// integration tier. The binaries come from `make tools` (hack/tools.sh), which
// builds them from pinned Go modules into .cache/bin, or from $KUBEPULSE_BIN.
//
// No controller-manager, scheduler or kubelet runs: tests create Nodes and
// set status themselves through the status subresources, delete bound Pods
// with a zero grace period, and the ServiceAccount admission plugin is
// disabled because no controller creates "default" service accounts.
package testenv

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kubepulse/kubepulse/internal/testutil"
)

// Options change how the apiserver is started.
type Options struct {
	// APIServerArgs are appended to the default kube-apiserver flags, for
	// example "--watch-cache-sizes=pods#0" to send pod watches straight to etcd.
	APIServerArgs []string
	// Dir holds data, certificates and logs. Default: a new temporary directory,
	// removed by Stop.
	Dir string
}

// Env is a running etcd + kube-apiserver pair.
type Env struct {
	// Host is the apiserver URL, https://127.0.0.1:<port>.
	Host string
	// AdminToken is a static token for user "admin" in group system:masters.
	AdminToken string
	// ExporterToken is a second system:masters token, for user
	// ExporterUser, so the audit log tells the exporter's requests from the
	// test's own. Being in system:masters, it is authorized even while a
	// restarted apiserver's RBAC cache is still filling.
	ExporterToken string
	// CAData is the PEM CA that signed the apiserver's serving certificate.
	CAData []byte
	// Dir holds data, certificates and logs.
	Dir string

	opts        Options
	removeDir   bool
	bin         string
	pki         *pki
	etcdURL     string
	apiPort     int
	etcdPeerURL string

	mu        sync.Mutex
	etcd      *proc
	api       *proc
	apiLogs   []string // one file per apiserver start
	auditLogs []string
	stopped   bool
}

// Start starts etcd and kube-apiserver and stops them when the test ends,
// pass or fail. A missing binary fails the test with the command to run.
func Start(t testing.TB, opts Options) *Env {
	t.Helper()
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	e, err := New(opts)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("kube-apiserver log tail (%s):\n%s", e.APIServerLog(), e.APIServerLogTail(40))
		}
		e.Stop()
	})
	return e
}

// New starts etcd and kube-apiserver. The caller must call Stop.
func New(opts Options) (*Env, error) {
	bin, err := BinDir()
	if err != nil {
		return nil, err
	}
	for _, b := range []string{"etcd", "kube-apiserver"} {
		if _, err := os.Stat(filepath.Join(bin, b)); err != nil {
			return nil, fmt.Errorf("%s not found in %s: run `make tools` first (it builds kube-apiserver and etcd from hack/tools into .cache/bin; set KUBEPULSE_BIN to use another directory)", b, bin)
		}
	}
	e := &Env{opts: opts, bin: bin, Dir: opts.Dir}
	if e.Dir == "" {
		if e.Dir, err = os.MkdirTemp("", "kubepulse-testenv-"); err != nil {
			return nil, err
		}
		e.removeDir = true
	}
	if e.pki, err = writePKI(e.Dir); err != nil {
		return nil, fmt.Errorf("certificates: %w", err)
	}
	e.CAData = e.pki.caPEM
	e.AdminToken, e.ExporterToken = randomToken(), randomToken()
	tokens := e.AdminToken + `,admin,admin-uid,"system:masters"` + "\n" +
		e.ExporterToken + "," + ExporterUser + `,exporter-uid,"system:masters"` + "\n"
	if err := os.WriteFile(filepath.Join(e.Dir, "tokens.csv"), []byte(tokens), 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(e.Dir, "audit-policy.yaml"), []byte(auditPolicy), 0o600); err != nil {
		return nil, err
	}

	ports, err := freePorts(3)
	if err != nil {
		return nil, err
	}
	e.etcdURL = fmt.Sprintf("http://127.0.0.1:%d", ports[0])
	e.etcdPeerURL = fmt.Sprintf("http://127.0.0.1:%d", ports[1])
	e.apiPort = ports[2]
	e.Host = fmt.Sprintf("https://127.0.0.1:%d", e.apiPort)

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := e.startEtcd(ctx); err != nil {
		e.Stop()
		return nil, err
	}
	if err := e.StartAPIServer(ctx); err != nil {
		e.Stop()
		return nil, err
	}
	return e, nil
}

// ExporterUser is the user name of ExporterToken.
const ExporterUser = "kubepulse-exporter"

func randomToken() string {
	tok := make([]byte, 16)
	_, _ = rand.Read(tok)
	return hex.EncodeToString(tok)
}

// auditPolicy records who did what to which resource, so tests can see
// relists and denials from the apiserver's side.
const auditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
- level: Metadata
`

func (e *Env) startEtcd(ctx context.Context) error {
	logPath := filepath.Join(e.Dir, "etcd.log")
	f, err := os.Create(logPath)
	if err != nil {
		return err
	}
	args := []string{
		"--name=default",
		"--data-dir=" + filepath.Join(e.Dir, "etcd"),
		"--listen-client-urls=" + e.etcdURL,
		"--advertise-client-urls=" + e.etcdURL,
		"--listen-peer-urls=" + e.etcdPeerURL,
		"--initial-advertise-peer-urls=" + e.etcdPeerURL,
		"--initial-cluster=default=" + e.etcdPeerURL,
		"--log-level=warn",
		"--unsafe-no-fsync=true", // test data: speed over durability
	}
	p, err := startProc("etcd", filepath.Join(e.bin, "etcd"), args, f)
	if err != nil {
		f.Close()
		return err
	}
	e.mu.Lock()
	e.etcd = p
	e.mu.Unlock()
	hc := &http.Client{Timeout: 2 * time.Second}
	err = poll(ctx, p, logPath, func() error {
		resp, err := hc.Get(e.etcdURL + "/health")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK || !bytes.Contains(b, []byte(`"true"`)) {
			return fmt.Errorf("etcd /health: %d %s", resp.StatusCode, b)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("etcd did not become healthy: %w", err)
	}
	return nil
}

// StartAPIServer starts kube-apiserver on the Env's port (again, after
// StopAPIServer) and waits for /readyz.
func (e *Env) StartAPIServer(ctx context.Context) error {
	e.mu.Lock()
	if e.api != nil {
		if done, _ := e.api.exited(); !done {
			e.mu.Unlock()
			return errors.New("kube-apiserver is already running")
		}
	}
	n := len(e.apiLogs)
	logPath := filepath.Join(e.Dir, fmt.Sprintf("kube-apiserver.%d.log", n))
	auditPath := filepath.Join(e.Dir, fmt.Sprintf("audit.%d.log", n))
	e.apiLogs = append(e.apiLogs, logPath)
	e.auditLogs = append(e.auditLogs, auditPath)
	e.mu.Unlock()

	f, err := os.Create(logPath)
	if err != nil {
		return err
	}
	args := []string{
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		// The kubernetes Service endpoints would need a non-loopback address.
		"--endpoint-reconciler-type=none",
		"--secure-port=" + strconv.Itoa(e.apiPort),
		"--cert-dir=" + filepath.Join(e.Dir, "certs"),
		"--tls-cert-file=" + e.pki.certFile,
		"--tls-private-key-file=" + e.pki.keyFile,
		"--etcd-servers=" + e.etcdURL,
		"--authorization-mode=RBAC",
		"--token-auth-file=" + filepath.Join(e.Dir, "tokens.csv"),
		"--service-account-key-file=" + e.pki.saPubFile,
		"--service-account-signing-key-file=" + e.pki.saKeyFile,
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-cluster-ip-range=10.96.0.0/16",
		// No controller creates the "default" ServiceAccount in each namespace.
		"--disable-admission-plugins=ServiceAccount",
		"--audit-policy-file=" + filepath.Join(e.Dir, "audit-policy.yaml"),
		"--audit-log-path=" + auditPath,
		"--audit-log-mode=blocking",
		"--v=1",
	}
	args = append(args, e.opts.APIServerArgs...)
	p, err := startProc("kube-apiserver", filepath.Join(e.bin, "kube-apiserver"), args, f)
	if err != nil {
		f.Close()
		return err
	}
	e.mu.Lock()
	e.api = p
	e.mu.Unlock()

	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: e.tlsConfig()}}
	err = poll(ctx, p, logPath, func() error {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.Host+"/readyz", nil)
		req.Header.Set("Authorization", "Bearer "+e.AdminToken)
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("/readyz: %d %s", resp.StatusCode, lastLines(string(b), 5))
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("kube-apiserver did not become ready (log %s): %w", logPath, err)
	}
	return nil
}

// StopAPIServer stops kube-apiserver (SIGTERM, then SIGKILL); etcd keeps running.
func (e *Env) StopAPIServer() {
	e.mu.Lock()
	p := e.api
	e.mu.Unlock()
	p.stop(15 * time.Second)
}

// RestartAPIServer stops kube-apiserver, waits down, then starts it again on
// the same port and waits for /readyz.
func (e *Env) RestartAPIServer(ctx context.Context, down time.Duration) error {
	e.StopAPIServer()
	select {
	case <-time.After(down):
	case <-ctx.Done():
		return ctx.Err()
	}
	return e.StartAPIServer(ctx)
}

// Stop stops kube-apiserver and etcd and removes the data directory if New
// created it. It is safe to call more than once.
func (e *Env) Stop() {
	e.mu.Lock()
	if e.stopped {
		e.mu.Unlock()
		return
	}
	e.stopped = true
	api, etcd := e.api, e.etcd
	e.mu.Unlock()
	api.stop(15 * time.Second)
	etcd.stop(10 * time.Second)
	if e.removeDir {
		_ = os.RemoveAll(e.Dir)
	}
}

// PIDs returns the process ids of the running etcd and kube-apiserver, for
// checking that nothing is left behind.
func (e *Env) PIDs() []int {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []int
	for _, p := range []*proc{e.etcd, e.api} {
		if p != nil {
			out = append(out, p.cmd.Process.Pid)
		}
	}
	return out
}

func (e *Env) tlsConfig() *tls.Config {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(e.CAData)
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
}

// AdminConfig is a rest.Config for the static admin (system:masters).
func (e *Env) AdminConfig() *rest.Config { return e.TokenConfig(e.AdminToken) }

// TokenConfig is a rest.Config that authenticates with token only.
func (e *Env) TokenConfig(token string) *rest.Config {
	return &rest.Config{
		Host:            e.Host,
		BearerToken:     token,
		TLSClientConfig: rest.TLSClientConfig{CAData: append([]byte(nil), e.CAData...)},
		QPS:             500,
		Burst:           1000,
	}
}

// AdminClient is a clientset for the static admin.
func (e *Env) AdminClient() (kubernetes.Interface, error) {
	return kubernetes.NewForConfig(e.AdminConfig())
}

// WriteKubeconfig writes a kubeconfig that authenticates with token only.
func (e *Env) WriteKubeconfig(path, token string) error {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["testenv"] = &clientcmdapi.Cluster{Server: e.Host, CertificateAuthorityData: e.CAData}
	cfg.AuthInfos["user"] = &clientcmdapi.AuthInfo{Token: token}
	cfg.Contexts["testenv"] = &clientcmdapi.Context{Cluster: "testenv", AuthInfo: "user"}
	cfg.CurrentContext = "testenv"
	return clientcmd.WriteToFile(*cfg, path)
}

// APIServerLog is the path of the current kube-apiserver's log.
func (e *Env) APIServerLog() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.apiLogs) == 0 {
		return ""
	}
	return e.apiLogs[len(e.apiLogs)-1]
}

// APIServerLogTail returns the last n lines of the current apiserver log.
func (e *Env) APIServerLogTail(n int) string {
	b, _ := os.ReadFile(e.APIServerLog())
	return lastLines(string(b), n)
}

// AuditEvent is the part of an audit.k8s.io/v1 Event the tests look at.
type AuditEvent struct {
	Stage      string `json:"stage"`
	RequestURI string `json:"requestURI"`
	Verb       string `json:"verb"`
	User       struct {
		Username string `json:"username"`
	} `json:"user"`
	ObjectRef *struct {
		Resource    string `json:"resource"`
		Subresource string `json:"subresource"`
		Namespace   string `json:"namespace"`
		APIGroup    string `json:"apiGroup"`
	} `json:"objectRef"`
	ResponseStatus *struct {
		Code int `json:"code"`
	} `json:"responseStatus"`
}

// AuditEvents reads the audit log of the current apiserver process (the one
// started last), so that after a restart it holds only what happened since.
func (e *Env) AuditEvents() ([]AuditEvent, error) {
	e.mu.Lock()
	path := e.auditLogs[len(e.auditLogs)-1]
	e.mu.Unlock()
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []AuditEvent
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var ev AuditEvent
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			// The apiserver may be mid-write of the last line.
			continue
		}
		out = append(out, ev)
	}
	return out, sc.Err()
}

// EtcdRevision returns etcd's current store revision.
func (e *Env) EtcdRevision(ctx context.Context) (int64, error) {
	var resp struct {
		Header struct {
			Revision string `json:"revision"`
		} `json:"header"`
	}
	// key "\x00" with range_end "\x00" would list everything; a single
	// missing key is enough to read the header.
	if err := e.etcdCall(ctx, "/v3/kv/range", map[string]any{"key": "a3ViZXB1bHNlLXRlc3RlbnY="}, &resp); err != nil {
		return 0, err
	}
	return strconv.ParseInt(resp.Header.Revision, 10, 64)
}

// BumpEtcd writes n revisions to a key outside the apiserver's /registry
// prefix, so a later compaction can make a client's last resourceVersion too
// old without touching any Kubernetes object.
func (e *Env) BumpEtcd(ctx context.Context, n int) error {
	for i := 0; i < n; i++ {
		body := map[string]any{"key": "a3VicHVsc2UtdGVzdGVudi1idW1w", "value": "eA=="}
		if err := e.etcdCall(ctx, "/v3/kv/put", body, nil); err != nil {
			return err
		}
	}
	return nil
}

// CompactEtcd compacts etcd's history up to the current revision and returns
// it. Watches that resume from an older resourceVersion then get 410 Gone
// (when they reach etcd rather than the apiserver's watch cache).
func (e *Env) CompactEtcd(ctx context.Context) (int64, error) {
	rev, err := e.EtcdRevision(ctx)
	if err != nil {
		return 0, err
	}
	body := map[string]any{"revision": strconv.FormatInt(rev, 10), "physical": true}
	if err := e.etcdCall(ctx, "/v3/kv/compaction", body, nil); err != nil {
		return 0, err
	}
	return rev, nil
}

// etcdCall uses etcd's JSON gRPC gateway, which needs no client library.
func (e *Env) etcdCall(ctx context.Context, path string, body any, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.etcdURL+path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("etcd %s: %d %s", path, resp.StatusCode, rb)
	}
	if out != nil {
		return json.Unmarshal(rb, out)
	}
	return nil
}

// poll calls check until it succeeds, the process exits or ctx ends.
func poll(ctx context.Context, p *proc, logPath string, check func() error) error {
	var last error
	for {
		if done, err := p.exited(); done {
			b, _ := os.ReadFile(logPath)
			return fmt.Errorf("%s exited (%v); log tail:\n%s", p.name, err, lastLines(string(b), 30))
		}
		if last = check(); last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last: %v)", ctx.Err(), last)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// freePorts returns n distinct free loopback ports.
func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var out []int
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		out = append(out, l.Addr().(*net.TCPAddr).Port)
	}
	return out, nil
}

// FreePort returns a free loopback port.
func FreePort() (int, error) {
	p, err := freePorts(1)
	if err != nil {
		return 0, err
	}
	return p[0], nil
}

// RepoRoot finds the kubepulse module root (see testutil.FindRepoRoot).
func RepoRoot() (string, error) { return testutil.FindRepoRoot() }

// BinDir is $KUBEPULSE_BIN, else <repo>/.cache/bin.
func BinDir() (string, error) {
	if d := os.Getenv("KUBEPULSE_BIN"); d != "" {
		return d, nil
	}
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, ".cache", "bin"), nil
}

func kubernetesFor(c *rest.Config) (kubernetes.Interface, error) { return kubernetes.NewForConfig(c) }
