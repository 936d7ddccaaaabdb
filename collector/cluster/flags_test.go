package cluster

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alecthomas/kingpin/v2"

	"github.com/kubepulse/kubepulse/collector"
)

// The flags as a user types them on `kubepulse exporter`.
func TestFlagsParse(t *testing.T) {
	app := kingpin.New("t", "")
	cmd := app.Command("exporter", "")
	collector.AddFlags(cmd)
	tests := []struct {
		args    []string
		want    Config
		wantErr string
	}{
		{[]string{"--namespaces= a, b ,a", "--node=n1"}, Config{Namespaces: []string{"a", "b"}, Node: "n1", TotalShards: 1}, ""},
		{[]string{"--namespaces-denylist=kube-system", "--shard=1", "--total-shards=2"}, Config{NamespacesDenylist: []string{"kube-system"}, Shard: 1, TotalShards: 2}, ""},
		{[]string{"--shard=2", "--total-shards=2"}, Config{}, "--shard=2"},
		{[]string{"--total-shards=0"}, Config{}, "--total-shards=0"},
	}
	for _, tc := range tests {
		flagKubeconfig, flagNamespaces, flagDenylist, flagNode = "", "", "", ""
		if _, err := app.Parse(append([]string{"exporter"}, tc.args...)); err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		cfg := configFromFlags()
		err := cfg.Validate()
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%v: error %v, want %q", tc.args, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%v: %v", tc.args, err)
			continue
		}
		if strings.Join(cfg.Namespaces, ",") != strings.Join(tc.want.Namespaces, ",") || cfg.Node != tc.want.Node ||
			cfg.Shard != tc.want.Shard || cfg.TotalShards != tc.want.TotalShards ||
			strings.Join(cfg.NamespacesDenylist, ",") != strings.Join(tc.want.NamespacesDenylist, ",") {
			t.Errorf("%v: config %+v, want %+v", tc.args, cfg, tc.want)
		}
	}
}

// Without --kubeconfig: nothing usable configured means "no cluster here"
// (the collectors step aside); a kubeconfig that does not load is the
// user's mistake and an error. $KUBECONFIG is set in every case, so that the
// developer's own ~/.kube/config plays no part.
func TestRestConfigWithoutKubeconfigFlag(t *testing.T) {
	tests := []struct {
		name            string
		content         *string // of the $KUBECONFIG file; nil: the file does not exist
		wantUnavailable bool
		wantErr         string
	}{
		{name: "no file", wantUnavailable: true, wantErr: "no Kubernetes cluster: not running in one, and no usable kubeconfig (tried "},
		{name: "empty file", content: kubeconfigText(""), wantUnavailable: true, wantErr: "no Kubernetes cluster: "},
		{name: "broken file", content: kubeconfigText("clusters: ["), wantErr: "kubeconfig "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "kubeconfig")
			t.Setenv("KUBECONFIG", path)
			t.Setenv("KUBERNETES_SERVICE_HOST", "")
			if tt.content != nil {
				if err := os.WriteFile(path, []byte(*tt.content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			_, err := restConfig("")
			if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("err = %v, want one line starting %q", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), path) {
				t.Fatalf("err %v does not name %s", err, path)
			}
			if got := collector.IsUnavailable(err); got != tt.wantUnavailable {
				t.Fatalf("IsUnavailable = %v, want %v (err %v)", got, tt.wantUnavailable, err)
			}
		})
	}
}

func kubeconfigText(s string) *string { return &s }
