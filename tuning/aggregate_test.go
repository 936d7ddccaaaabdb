package tuning

import (
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/kubepulse/kubepulse/tuning/tracegen"
)

// The streaming path must give exactly the recommendations of the raw
// path, on every naming of the series and on a trimmed window.
func TestAggregatorMatchesRecommend(t *testing.T) {
	week := gunzip(t, filepath.Join("..", "testdata", "traces", "week.om.gz"))
	labelled := genTrace(t, tracegen.Config{Seed: 1, Duration: 7 * 24 * time.Hour, WorkloadLabels: true})
	cad := genTrace(t, tracegen.Config{Seed: 1, Duration: 3 * 24 * time.Hour, Source: "cadvisor"})
	tests := []struct {
		name string
		data []byte
		src  Source
		trim time.Duration // 0: all
	}{
		{"week", week, SourceKubepulse, 0},
		{"week, last 2 days", week, SourceKubepulse, 48 * time.Hour},
		{"workload labels", labelled, SourceKubepulse, 0},
		{"cadvisor", cad, SourceCadvisor, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := ParseOpenMetrics(tt.name, tt.data, tt.src)
			if err != nil {
				t.Fatal(err)
			}
			from, to := h.Start-1, h.End
			if tt.trim > 0 {
				from = h.End - tt.trim.Milliseconds()
				h = h.Trim(from, nil)
			}
			want := Recommend(h, DefaultOptions())
			b := NewAggregator(tt.src, DefaultOptions(), from, to)
			if err := FeedOpenMetrics(tt.name, tt.data, b); err != nil {
				t.Fatal(err)
			}
			got, err := b.Recommend()
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) {
				t.Fatalf("%d recommendations, want %d", len(got), len(want))
			}
			for i := range want {
				if !reflect.DeepEqual(got[i], want[i]) {
					t.Errorf("%s/%s %s:\n got %+v\nwant %+v", want[i].Workload, want[i].Container, want[i].Resource, got[i], want[i])
				}
			}
		})
	}
}

func show(r Recommendation) string {
	return "req " + FormatQuantity(r.Resource, val(r.RecommendedRequest)) + " reason " + r.Reason + " risk " + r.Risk
}
