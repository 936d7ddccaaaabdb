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
	"strconv"
	"testing"

	"github.com/kubepulse/kubepulse/internal/testenv"
	"github.com/kubepulse/kubepulse/internal/testutil"
)

// RepoRoot is the repository root (testutil.RepoRoot).
func RepoRoot(t testing.TB) string { return testutil.RepoRoot(t) }

// BinDir is where `make tools` puts the real components: $KUBEPULSE_BIN, or
// .cache/bin under the repository root (testenv.BinDir).
func BinDir(t testing.TB) string {
	t.Helper()
	d, err := testenv.BinDir()
	if err != nil {
		t.Fatal(err)
	}
	return d
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
	_, port, _ := net.SplitHostPort(testutil.FreeAddr(t))
	p, err := strconv.Atoi(port)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
