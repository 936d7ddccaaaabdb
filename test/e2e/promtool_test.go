package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/kubepulse/kubepulse/internal/testenv"
	"github.com/kubepulse/kubepulse/test/e2e/harness"
)

// generate runs the real `kubepulse generate` into a new directory.
func generate(t *testing.T, bin, config string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "generated")
	args := []string{"generate", "--output-dir", out}
	if config != "" {
		args = append(args, "--config", config)
	}
	cmd := exec.Command(bin, args...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("kubepulse %s: %v\n%s", strings.Join(args, " "), err, b)
	}
	return out
}

// TestPromtool runs the real promtool over the generated rule files and unit
// tests, for the default config, the autoscaling example and the e2e config.
func TestPromtool(t *testing.T) {
	promtool := harness.Tool(t, "promtool")
	bin := testenv.ExporterBinary(t)
	root := harness.RepoRoot(t)
	configs := []struct {
		name, config string
		minTests     int // promtool test files expected; 0: check the rules only
	}{
		{"defaults", "", 1},
		{"autoscaling example", filepath.Join(root, "examples", "autoscaling", "mixin.yaml"), 1},
		// Its tests evaluate at its 1s recording interval, so each is
		// thousands of evaluations (minutes under promtool); the same
		// tests run at 1m in the two configs above, and the e2e runs
		// these rules on a real Prometheus.
		{"e2e config", filepath.Join("testdata", "mixin-e2e.yaml"), 0},
	}
	for _, tc := range configs {
		t.Run(tc.name, func(t *testing.T) {
			dir := generate(t, bin, tc.config)
			ruleFiles := []string{filepath.Join(dir, "prometheus_alerts.yaml"), filepath.Join(dir, "prometheus_rules.yaml")}
			for _, f := range ruleFiles {
				if _, err := os.Stat(f); err != nil {
					t.Fatalf("generate did not write %s: %v", filepath.Base(f), err)
				}
			}
			out, err := exec.Command(promtool, append([]string{"check", "rules", "--lint=all", "--lint-fatal"}, ruleFiles...)...).CombinedOutput()
			if err != nil {
				t.Errorf("promtool check rules: %v\n%s", err, out)
			}
			// promtool reports "SUCCESS: N rules found" per file; an empty
			// file would pass, so require rules in both.
			if n := strings.Count(string(out), "SUCCESS"); n != len(ruleFiles) {
				t.Errorf("promtool check rules: %d SUCCESS lines, want %d:\n%s", n, len(ruleFiles), out)
			}
			if strings.Contains(string(out), "SUCCESS: 0 rules found") {
				t.Errorf("a generated rule file holds no rules:\n%s", out)
			}
			if tc.minTests == 0 {
				return
			}
			tests, err := filepath.Glob(filepath.Join(dir, "tests", "*.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			sort.Strings(tests)
			if len(tests) < tc.minTests {
				t.Fatalf("%d promtool test files in %s/tests, want at least %d", len(tests), dir, tc.minTests)
			}
			cmd := exec.Command(promtool, append([]string{"test", "rules"}, tests...)...)
			cmd.Dir = filepath.Join(dir, "tests") // rule_files in the tests are relative
			out, err = cmd.CombinedOutput()
			if err != nil {
				t.Errorf("promtool test rules %v: %v\n%s", tests, err, out)
			}
			if !strings.Contains(string(out), "SUCCESS") {
				t.Errorf("promtool test rules printed no SUCCESS:\n%s", out)
			}
		})
	}
}
