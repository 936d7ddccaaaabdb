package dashboards

import (
	"testing"

	"github.com/kubepulse/kubepulse/mixin/config"
)

// The uidPrefix limit in config is Grafana's 40 characters less the
// longest dashboard name: with the longest prefix config accepts, every
// uid fits, and the longest name is exactly the one config allows for.
func TestUIDsFitGrafana(t *testing.T) {
	cfg := config.Default()
	cfg.Dashboards.UIDPrefix = "abcdefghijklmnopqrstu"[:config.MaxUID-config.MaxDashboardName]
	ds, err := Build(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	longest := 0
	for _, d := range ds {
		if len(d.UID) > config.MaxUID {
			t.Errorf("dashboard %s: uid %q is %d characters, over %d", d.Name, d.UID, len(d.UID), config.MaxUID)
		}
		longest = max(longest, len(d.Name))
	}
	if longest != config.MaxDashboardName {
		t.Errorf("longest dashboard name is %d characters; set config.MaxDashboardName to it", longest)
	}
}
