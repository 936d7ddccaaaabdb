package testenv

import (
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestMissingBinariesSayMakeTools(t *testing.T) {
	cases := []struct {
		name  string
		files []string
		want  string
	}{
		{"none", nil, "etcd not found"},
		{"only etcd", []string{"etcd"}, "kube-apiserver not found"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, f := range tc.files {
				if err := os.WriteFile(dir+"/"+f, []byte("#!/bin/sh\nexit 1\n"), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			t.Setenv("KUBEPULSE_BIN", dir)
			_, err := New(Options{})
			if err == nil {
				t.Fatal("New succeeded without binaries")
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "make tools") {
				t.Errorf("error %q should say %q and tell to run `make tools`", err, tc.want)
			}
		})
	}
}

func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// TestLifecycle starts the real pair, restarts the apiserver on its port,
// compacts etcd, and checks nothing is left running after Stop.
func TestLifecycle(t *testing.T) {
	e, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	c, err := e.AdminClient()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CoreV1().Namespaces().List(ctx, metav1.ListOptions{}); err != nil {
		t.Fatalf("admin list namespaces: %v", err)
	}
	anon := e.TokenConfig("not-a-token")
	ac, _ := kubernetesFor(anon)
	if _, err := ac.CoreV1().Namespaces().List(ctx, metav1.ListOptions{}); err == nil {
		t.Error("an unknown token was allowed to list namespaces")
	}

	before, err := e.EtcdRevision(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.BumpEtcd(ctx, 3); err != nil {
		t.Fatal(err)
	}
	rev, err := e.CompactEtcd(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rev < before+3 {
		t.Errorf("compacted at %d, want at least %d", rev, before+3)
	}

	host := e.Host
	if err := e.RestartAPIServer(ctx, time.Second); err != nil {
		t.Fatal(err)
	}
	if e.Host != host {
		t.Errorf("host changed across restart: %s -> %s", host, e.Host)
	}
	if _, err := c.CoreV1().Namespaces().List(ctx, metav1.ListOptions{}); err != nil {
		t.Fatalf("list after restart: %v", err)
	}

	pids := e.PIDs()
	if len(pids) != 2 {
		t.Fatalf("pids %v, want etcd and kube-apiserver", pids)
	}
	e.Stop()
	for _, pid := range pids {
		if alive(pid) {
			t.Errorf("process %d still running after Stop", pid)
		}
	}
	// As pgrep -f would: no process whose command line names our directory.
	if left := processesMentioning(e.Dir); len(left) > 0 {
		t.Errorf("processes left running: %v", left)
	}
	if _, err := os.Stat(e.Dir); !os.IsNotExist(err) {
		t.Errorf("data dir %s left behind (%v)", e.Dir, err)
	}
}

func processesMentioning(s string) []string {
	ents, _ := os.ReadDir("/proc")
	var out []string
	for _, ent := range ents {
		if _, err := strconv.Atoi(ent.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + ent.Name() + "/cmdline")
		if err == nil && strings.Contains(string(b), s) {
			out = append(out, ent.Name()+": "+strings.ReplaceAll(string(b), "\x00", " "))
		}
	}
	return out
}
