package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-kit/log"
)

func TestGenerateCommand(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	badCfg := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(badCfg, []byte("alerts:\n  oomKilled:\n    severity: page\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	badKey := filepath.Join(t.TempDir(), "badkey.yaml")
	if err := os.WriteFile(badKey, []byte("alerts:\n  restartStorm:\n    threshold: 3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name   string
		args   []string
		edit   func()
		rc     int
		stdout string
	}{
		{name: "generate", args: []string{"generate", "--output-dir", dir}, rc: 0},
		{name: "check clean", args: []string{"generate", "--output-dir", dir, "--check"}, rc: 0},
		{name: "check after hand edit", args: []string{"generate", "--output-dir", dir, "--check"}, edit: func() {
			p := filepath.Join(dir, "prometheus_rules.yaml")
			b, _ := os.ReadFile(p)
			os.WriteFile(p, bytes.Replace(b, []byte("interval: 1m"), []byte("interval: 2m"), 1), 0o644)
		}, rc: 1, stdout: "differs: prometheus_rules.yaml"},
		{name: "regenerate repairs", args: []string{"generate", "--output-dir", dir}, rc: 0},
		{name: "check clean again", args: []string{"generate", "--output-dir", dir, "--check"}, rc: 0},
		{name: "bad config", args: []string{"generate", "--output-dir", dir, "--config", badCfg}, rc: 1},
		{name: "unknown alert key", args: []string{"generate", "--output-dir", dir, "--config", badKey}, rc: 1},
		{name: "missing output dir flag", args: []string{"generate"}, rc: 2},
	}
	for _, s := range steps {
		if s.edit != nil {
			s.edit()
		}
		var stdout bytes.Buffer
		rc := runWithStdout(t, s.args, &stdout)
		if rc != s.rc {
			t.Errorf("%s: exit %d, want %d", s.name, rc, s.rc)
		}
		if !strings.Contains(stdout.String(), s.stdout) {
			t.Errorf("%s: stdout %q lacks %q", s.name, stdout.String(), s.stdout)
		}
	}
}

// runWithStdout runs the CLI, or runGenerate directly when stdout matters.
func runWithStdout(t *testing.T, args []string, stdout io.Writer) int {
	t.Helper()
	if len(args) > 2 && args[len(args)-1] == "--check" {
		return runGenerate(log.NewNopLogger(), stdout, "", args[2], true, false)
	}
	return run(context.Background(), args, io.Discard)
}
