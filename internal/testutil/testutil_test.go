package testutil

import (
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

func TestRepoRootFindsModule(t *testing.T) {
	root := RepoRoot(t)
	if _, err := os.Stat(filepath.Join(root, "main.go")); err != nil {
		t.Fatalf("RepoRoot() = %s, which has no main.go: %v", root, err)
	}
	if got := Realworld(t, "k6"); filepath.Base(got) != "k6" || filepath.Dir(filepath.Dir(got)) != filepath.Join(root, "testdata") {
		t.Fatalf("Realworld(k6) = %s", got)
	}
}

func TestRepoRootOutsideModule(t *testing.T) {
	wd, _ := os.Getwd()
	t.Cleanup(func() { _ = os.Chdir(wd) })
	if err := os.Chdir(t.TempDir()); err != nil {
		t.Fatal(err)
	}
	if _, err := FindRepoRoot(); err == nil {
		t.Fatal("FindRepoRoot succeeded outside the module")
	}
}

func TestSyncBufferConcurrent(t *testing.T) {
	var b SyncBuffer
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); _, _ = b.Write([]byte("ab")) }()
	}
	wg.Wait()
	if got := len(b.String()); got != 16 {
		t.Fatalf("len = %d, want 16", got)
	}
}

func TestFreeAddrIsLoopbackAndFree(t *testing.T) {
	addr := FreeAddr(t)
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("FreeAddr() = %s, not free: %v", addr, err)
	}
	l.Close()
	if host, _, _ := net.SplitHostPort(addr); host != "127.0.0.1" {
		t.Fatalf("FreeAddr() = %s, not loopback", addr)
	}
}

func TestAppendFileAppends(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f.log")
	AppendFile(t, p, "a\n")
	AppendFile(t, p, "b\n")
	if b, err := os.ReadFile(p); err != nil || string(b) != "a\nb\n" {
		t.Fatalf("file = %q, %v; want two appended lines", b, err)
	}
}
