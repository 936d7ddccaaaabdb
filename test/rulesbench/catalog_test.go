package rulesbench

import (
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/kubepulse/kubepulse/internal/catalog"
)

// TestSynthMatchesCatalogue checks every synthesized series against the
// exporter's metric catalogue: a known family, exactly its labels (besides
// job and instance), so the benchmark measures the series users have.
func TestSynthMatchesCatalogue(t *testing.T) {
	bad := map[string]string{}
	names := map[string]int{}
	SmallScale.each(func(s series) {
		name := s.lset.Get("__name__")
		names[name]++
		fam, ok := catalog.Lookup(name)
		if !ok {
			for _, suf := range []string{"_bucket", "_sum", "_count"} {
				if f, ok2 := catalog.Lookup(strings.TrimSuffix(name, suf)); ok2 && strings.HasSuffix(name, suf) {
					fam, ok = f, true
				}
			}
		}
		if !ok {
			bad[name] = "not in the catalogue"
			return
		}
		var got []string
		s.lset.Range(func(l labels.Label) {
			switch l.Name {
			case "__name__", "job", "instance", "le":
			default:
				got = append(got, l.Name)
			}
		})
		want := append([]string(nil), fam.Labels...)
		sort.Strings(got)
		sort.Strings(want)
		if strings.Join(got, ",") != strings.Join(want, ",") {
			bad[name] = "labels " + strings.Join(got, ",") + ", catalogue has " + strings.Join(want, ",")
		}
	})
	for n, why := range bad {
		t.Errorf("%s: %s", n, why)
	}
	if len(names) < 40 {
		t.Errorf("only %d metric names synthesized", len(names))
	}
}
