package rules

import (
	"errors"
	"strings"
	"testing"

	"github.com/kubepulse/kubepulse/mixin/config"
)

func TestResolveAlertsErrors(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		line       int
		want       string
	}{
		{"typo in alert key names the valid keys", "alerts:\n  memoryNearLimt:\n    threshold: 0.8\n", 2,
			"alerts.memoryNearLimt: no alert has this key; valid keys: apiserverStale, clusterCannotLoseNode, collectorFailing, cpuAtLimit, crashLooping,"},
		{"removed alert says what replaced it", "alerts:\n  restartStorm:\n    threshold: 3\n", 2, "replaced by crashLooping"},
		{"ratio given as percent", "alerts:\n  memoryNearLimit:\n    threshold: 90\n", 3, "is a ratio"},
		{"window on an alert without history", "alerts:\n  oomKilled:\n    window: 1h\n", 3, "window applies only to overProvisioned, logErrorSpike"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := config.Parse("mixin.yaml", []byte(tc.yaml))
			if err != nil {
				t.Fatal(err)
			}
			_, err = Build(&cfg)
			var es config.Errors
			if !errors.As(err, &es) || len(es) == 0 {
				t.Fatalf("error %v is not config.Errors", err)
			}
			if es[0].File != "mixin.yaml" || es[0].Line != tc.line {
				t.Errorf("error at %s:%d, want mixin.yaml:%d (%v)", es[0].File, es[0].Line, tc.line, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
		})
	}
}

func TestResolveAlertsApplies(t *testing.T) {
	cfg, err := config.Parse("m.yaml", []byte("alerts:\n  memoryNearLimit: {threshold: 0.8}\n  overProvisioned: {window: 2d, severity: warning}\n"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := ResolveAlerts(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	byKey := map[string]AlertSpec{}
	for _, sp := range Alerts() {
		byKey[sp.Key] = sp
	}
	for _, tc := range []struct {
		name      string
		got, want any
	}{
		{"overridden threshold", got["memoryNearLimit"].Threshold, 0.8},
		{"for from the definition", got["memoryNearLimit"].For, byKey["memoryNearLimit"].Default.For},
		{"window", got["overProvisioned"].Window.String(), "2d"},
		{"severity", got["overProvisioned"].Severity, config.Severity("warning")},
		{"untouched alert", got["cpuAtLimit"], byKey["cpuAtLimit"].Default},
		{"every alert resolved", len(got), len(Alerts())},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.name, tc.got, tc.want)
		}
	}
}

// One definition per key and per name; every definition builds a rule
// that names its own alert's test fixture labels.
func TestAlertSpecsUnique(t *testing.T) {
	keys, names := map[string]bool{}, map[string]bool{}
	for _, sp := range Alerts() {
		if keys[sp.Key] || names[sp.Name] {
			t.Errorf("alert %s (%s) defined twice", sp.Key, sp.Name)
		}
		keys[sp.Key], names[sp.Name] = true, true
		if sp.HasWindow != (sp.Default.Window > 0) {
			t.Errorf("%s: HasWindow %v but default window %s", sp.Key, sp.HasWindow, sp.Default.Window)
		}
	}
}
