package rules

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/kubepulse/kubepulse/mixin/config"
)

// TestShardMatchersPartition checks, with Prometheus's own matcher code,
// that every pod name (and a missing pod label) falls in exactly one shard,
// for every allowed shard count.
func TestShardMatchersPartition(t *testing.T) {
	names := []string{"", "a", "0", "9", "z", "Z", "-", ".", "é", "pod\n", "x\n1",
		"cart-7d9f8b6c5-xk2p9", "db-0", "db-12", "UPPER-A", "web-1.2", "ends-in-space "}
	for c := 0; c < 256; c++ {
		names = append(names, "p-"+string(rune(c)))
	}
	for n := 1; n <= 36; n++ {
		ms := ShardMatchers(n)
		if len(ms) != n {
			t.Fatalf("shards=%d: %d matchers", n, len(ms))
		}
		parsed := make([]*labels.Matcher, n)
		for i, m := range ms {
			if m == "" {
				continue
			}
			typ, v := labels.MatchRegexp, strings.TrimPrefix(m, `pod=~`)
			if strings.HasPrefix(m, `pod!~`) {
				typ, v = labels.MatchNotRegexp, strings.TrimPrefix(m, `pod!~`)
			}
			uq, err := strconv.Unquote(v)
			if err != nil {
				t.Fatalf("shards=%d: %s: %v", n, m, err)
			}
			pm, err := labels.NewMatcher(typ, "pod", uq)
			if err != nil {
				t.Fatalf("shards=%d: %s: %v", n, m, err)
			}
			parsed[i] = pm
		}
		for _, name := range names {
			var hit []int
			for i, m := range parsed {
				if m == nil || m.Matches(name) {
					hit = append(hit, i)
				}
			}
			if len(hit) != 1 {
				t.Errorf("shards=%d: pod %q in shards %v, want exactly one", n, name, hit)
			}
		}
		// Each of [0-9a-z] belongs to one of the first n-1 shards or, at
		// n <= 36, possibly the last: all shards are used.
		used := map[int]bool{}
		for _, c := range shardAlphabet {
			for i, m := range parsed {
				if m == nil || m.Matches("p-"+string(c)) {
					used[i] = true
				}
			}
		}
		if len(used) != n {
			t.Errorf("shards=%d: only %d shards get a pod-name character", n, len(used))
		}
	}
}

// TestShardedRulesCombine checks the sharded layout: one group per shard
// for every raw aggregation, and the original record names written once
// (per label set) by the unsharded group names.
func TestShardedRulesCombine(t *testing.T) {
	for _, tc := range []struct{ shards, wantShardGroups int }{{1, 0}, {3, 3*10 + 9}, {8, 8*10 + 24}, {20, 20*10 + 36}} {
		t.Run(fmt.Sprint(tc.shards), func(t *testing.T) {
			c := config.Default()
			c.Recording.Shards = tc.shards
			cfg := &c
			s := Build(cfg)
			got := 0
			for _, g := range s.Records {
				if strings.Contains(g.Name, "-shard-") {
					got++
					for _, r := range g.Rules {
						if tc.shards > 1 && r.Labels["shard"] == "" {
							t.Errorf("%s: %s has no shard label", g.Name, r.Record)
						}
						if !strings.Contains(r.Expr, `pod=~".*[`) && !strings.Contains(r.Expr, `pod!~".*[`) && !strings.Contains(r.Expr, `shard="`) && !strings.Contains(r.Expr, `pod=~`) {
							t.Errorf("%s: %s reads no shard: %s", g.Name, r.Record, r.Expr)
						}
					}
				}
			}
			if got != tc.wantShardGroups {
				t.Errorf("%d shard groups, want %d", got, tc.wantShardGroups)
			}
			n := NamesFor(cfg)
			for _, g := range s.Records {
				for _, r := range g.Rules {
					if tc.shards > 1 && r.Record == n.WorkloadCPU && r.Expr != "sum without (shard) ("+partialName(n.WorkloadCPU)+")" {
						t.Errorf("workload cpu combine: %s", r.Expr)
					}
				}
			}
		})
	}
}
