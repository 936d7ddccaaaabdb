package cluster

import (
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
