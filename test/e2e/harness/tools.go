// Package harness runs the real components of the e2e tier on loopback: a
// Prometheus server with an API client, child processes, and a log
// directory in the kubelet layout. The apiserver, the kubepulse binary and
// the fake kubelet come from internal/testenv and collector/usage/kubelettest.
// Every process it starts is stopped by t.Cleanup, and dies with the test
// binary (Pdeathsig) if that crashes.
package harness

import (
	"net"
	"os"
	"path/filepath"
	"testing"
)

// RepoRoot walks up from the working directory to the directory holding go.mod.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("getwd: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("no go.mod above the working directory")
		}
		dir = parent
	}
}

// BinDir is where `make tools` puts the real components: $KUBEPULSE_BIN, or
// .cache/bin under the repository root.
func BinDir(t testing.TB) string {
	t.Helper()
	if d := os.Getenv("KUBEPULSE_BIN"); d != "" {
		return d
	}
	return filepath.Join(RepoRoot(t), ".cache", "bin")
}

// Tool returns the path of a binary built by `make tools`. A missing binary
// fails the test (never skips it): the tier is part of `make test`.
func Tool(t testing.TB, name string) string {
	t.Helper()
	p := filepath.Join(BinDir(t), name)
	st, err := os.Stat(p)
	if err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
		t.Fatalf("%s not found at %s: run `make tools` (or `bash hack/tools.sh %s`) first", name, p, name)
	}
	return p
}

// FreePort returns a loopback port that was free a moment ago. Callers that
// hand it to another process retry on "address already in use".
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen on loopback: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
