package demo

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestTuneRecommender(t *testing.T) {
	d, _ := demoForTest(t)
	now := d.now()
	short := NewTuneRecommender(30 * time.Minute)
	short.Options.MinHistory, short.Options.MinSamples = 10*time.Minute, 10
	tests := []struct {
		name string
		r    *TuneRecommender
		w    WorkloadUsage
		want func(Recommendation) bool
	}{
		{"the over-provisioned api is told to shrink", short,
			WorkloadUsage{Namespace: "shop", Kind: "Deployment", Name: "api", Now: now},
			func(r Recommendation) bool {
				return strings.HasPrefix(r.Text, "cpu ") && r.Saving != "" && !strings.HasPrefix(r.Saving, "-")
			}},
		{"30 minutes is under the one-hour minimum", NewTuneRecommender(30 * time.Minute),
			WorkloadUsage{Namespace: "shop", Kind: "Deployment", Name: "api", Now: now},
			func(r Recommendation) bool { return strings.HasPrefix(r.Text, "insufficient data") }},
		{"a workload with no usage", short,
			WorkloadUsage{Namespace: "shop", Kind: "Deployment", Name: "nothing-here", Now: now},
			func(r Recommendation) bool { return r.Text == "no usage history yet" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.r.Recommend(context.Background(), d, tt.w)
			t.Logf("%s/%s: %+v", tt.w.Namespace, tt.w.Name, got)
			if !tt.want(got) {
				t.Errorf("Recommend(%s/%s) = %+v", tt.w.Namespace, tt.w.Name, got)
			}
		})
	}
}
