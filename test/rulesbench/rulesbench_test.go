package rulesbench

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/prometheus/tsdb"
)

// testScale keeps the test quick under -race: 1/250 of the benchmark cluster.
var testScale = Scale{
	Nodes: 20, Pods: 600, ContainersPerPod: 2, Workloads: 60, Namespaces: 4,
	HPAs: 12, ErrorContainersPct: 20, LoadTestRuns: 1, Job: "kubepulse",
}

func TestLoadAndEvaluate(t *testing.T) {
	for _, mode := range []string{"blocks", "head"} {
		t.Run(mode, func(t *testing.T) { testLoadAndEvaluate(t, mode) })
	}
}

func testLoadAndEvaluate(t *testing.T, mode string) {
	ctx := context.Background()
	dir := t.TempDir()
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const steps = 21 // 10 minutes of 30 s samples
	var (
		st  LoadStats
		db  *tsdb.DB
		err error
	)
	switch mode {
	case "blocks":
		// A small batch so that several overlapping blocks must be compacted.
		st, err = WriteBlocks(ctx, dir, testScale, start, steps, 30*time.Second, 6000)
		if err != nil {
			t.Fatal(err)
		}
		if want := (st.Series + 5999) / 6000; st.Blocks != want {
			t.Errorf("%d blocks written, want %d", st.Blocks, want)
		}
		db, err = OpenTSDB(ctx, dir, start.Add((steps-1)*30*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		if n := len(db.Blocks()); n != 1 {
			t.Errorf("%d blocks after compaction, want 1", n)
		}
	case "head":
		db, err = OpenEmptyTSDB(dir)
		if err != nil {
			t.Fatal(err)
		}
		st, err = LoadHead(ctx, db, testScale, start, steps, 30*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if n := db.Head().NumSeries(); int(n) != st.Series {
			t.Errorf("head holds %d series, want %d", n, st.Series)
		}
	}
	defer db.Close()
	t.Logf("loaded %d series, %d samples in %v", st.Series, st.Samples, st.Took)

	s := testScale
	containers := s.Pods * s.ContainersPerPod
	loadCases := []struct {
		name string
		want int
	}{
		{"kubepulse_pod_owner", s.Pods},
		{"kubepulse_pod_phase", s.Pods},
		{"kubepulse_container_cpu_usage_seconds_total", containers},
		{"kubepulse_container_resource_requests", 2 * containers},
		{"kubepulse_node_allocatable", 3 * s.Nodes},
		{"kubepulse_node_requests", 2 * s.Nodes},
		{"kubepulse_hpa_max_replicas", s.HPAs},
		{"kubepulse_log_lines_total", 2 * containers},
		{"kubepulse_log_matches_total", containers},
		// The series the exporter adds for join-free rules.
		{"kubepulse_workload_pods", s.Workloads},
		{"kubepulse_workload_resource_requests", 2 * s.Workloads},
		{"kubepulse_container_memory_working_set_limit_ratio", containers},
		{"kubepulse_pod_pending_since_timestamp_seconds", s.Pods / 200},
		{"kubepulse_node_cpu_usage_seconds_total", s.Nodes},
		{"kubepulse_workload_memory_working_set_bytes", s.Workloads},
		{"kubepulse_workload_pod_max_memory_working_set_bytes", s.Workloads},
	}
	for _, tc := range loadCases {
		if got := st.Names[tc.name]; got != tc.want {
			t.Errorf("%s: %d series, want %d", tc.name, got, tc.want)
		}
	}
	if st.Samples != st.Series*steps {
		t.Errorf("samples = %d, want %d", st.Samples, st.Series*steps)
	}

	engine := NewEngine()
	groups, err := LoadGroups(ctx, db, engine, filepath.Join("testdata", "rules.yaml"), filepath.Join("testdata", "alerts.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	wantOrder := []string{"fixture-workload", "fixture-node", "fixture-logs", "fixture-alerts"}
	if len(groups) != len(wantOrder) {
		t.Fatalf("%d groups, want %d", len(groups), len(wantOrder))
	}
	first := start.Add(8 * time.Minute)
	res, err := Evaluate(ctx, db, engine, groups, first, 30*time.Second, 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	evalCases := []struct {
		group     string
		outSeries int
		empty     []string
	}{
		// pod relabel + one series per workload twice.
		{"fixture-workload", s.Pods + 2*s.Workloads, nil},
		// cpu and memory per node + one cluster sum.
		{"fixture-node", 2*s.Nodes + 1, nil},
		// log matches per namespace and rule (1 rule) + the avg_over_time of
		// the workload cpu record, + the rule on a missing metric.
		{"fixture-logs", s.Namespaces + s.Workloads, []string{"fixture:never_matches"}},
	}
	// Alert groups report the alerts they hold pending or firing: one per
	// node (5 evaluations 30 s apart: past the 1m for, so firing).
	if a := res[3]; !a.Alerting || a.Active != s.Nodes || a.OutSeries != 0 || len(a.Errors) > 0 {
		t.Errorf("alert group: alerting=%v active=%d output series=%d errors=%v, want true, %d, 0, none", a.Alerting, a.Active, a.OutSeries, a.Errors, s.Nodes)
	}
	for i, tc := range evalCases {
		t.Run(tc.group, func(t *testing.T) {
			r := res[i]
			if r.Name != wantOrder[i] || r.Name != tc.group {
				t.Fatalf("group %d is %q, want %q", i, r.Name, tc.group)
			}
			if len(r.Durations) != 3 || r.Median <= 0 {
				t.Errorf("durations %v, median %v: want 3 measured evaluations", r.Durations, r.Median)
			}
			if len(r.Errors) > 0 {
				t.Errorf("rule errors: %v", r.Errors)
			}
			if r.OutSeries != tc.outSeries {
				t.Errorf("output series = %d, want %d", r.OutSeries, tc.outSeries)
			}
			if len(r.EmptyRules) != len(tc.empty) || (len(tc.empty) > 0 && r.EmptyRules[0] != tc.empty[0]) {
				t.Errorf("empty rules = %v, want %v", r.EmptyRules, tc.empty)
			}
		})
	}
}

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		in   []time.Duration
		want time.Duration
	}{
		{nil, 0},
		{[]time.Duration{3}, 3},
		{[]time.Duration{5, 1, 3}, 3},
		{[]time.Duration{4, 1, 3, 2}, 2},
	} {
		if got := median(tc.in); got != tc.want {
			t.Errorf("median(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}
