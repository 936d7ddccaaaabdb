package rules

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/kubepulse/kubepulse/mixin/config"
)

// TestShardMatchersPartition checks, with Prometheus's own matcher code,
// that every valid pod name (a DNS-1123 subdomain, as the apiserver
// validates it) falls in exactly one shard, and that no string at all falls
// in two, for every allowed shard count, for the usage shards and the finer
// log shards.
func TestShardMatchersPartition(t *testing.T) {
	names := []string{"", "a", "0", "9", "z", "Z", "-", ".", "é", "pod\n", "x\n1",
		"cart-7d9f8b6c5-xk2p9", "db-0", "db-12", "UPPER-A", "web-1.2", "ends-in-space ", "a--b", "a.b-c", "a-", "-a"}
	for c := 0; c < 256; c++ {
		r := string(rune(c))
		// Every last character, and every second-to-last one.
		names = append(names, r, "p-"+r, "p"+r+"b", r+"7", "x"+r+"-")
	}
	valid := 0
	for n := 1; n <= config.MaxShards; n++ {
		for _, tc := range []struct {
			kind string
			ms   []string
			want int
		}{
			{"usage", ShardMatchers(n), n},
			{"logs", LogShardMatchers(n), map[bool]int{true: 1, false: 2*min(3*n, len(shardAlphabet)) + 1}[n == 1]},
		} {
			ms := tc.ms
			if len(ms) != tc.want {
				t.Fatalf("%s shards=%d: %d matchers, want %d", tc.kind, n, len(ms), tc.want)
			}
			parsed := make([]*labels.Matcher, len(ms))
			for i, m := range ms {
				if m == "" {
					continue
				}
				if !strings.HasPrefix(m, `pod=~`) {
					t.Fatalf("%s shards=%d: %s is not a positive regex matcher (a negated one costs a merge of every pod's postings)", tc.kind, n, m)
				}
				uq, err := strconv.Unquote(strings.TrimPrefix(m, `pod=~`))
				if err != nil {
					t.Fatalf("%s shards=%d: %s: %v", tc.kind, n, m, err)
				}
				pm, err := labels.NewMatcher(labels.MatchRegexp, "pod", uq)
				if err != nil {
					t.Fatalf("%s shards=%d: %s: %v", tc.kind, n, m, err)
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
				isValid := len(validation.IsDNS1123Subdomain(name)) == 0
				if isValid && n == 1 && tc.kind == "usage" {
					valid++
				}
				if isValid && tc.kind == "usage" && len(hit) == 1 && ShardOf(name, n) != hit[0] {
					t.Errorf("usage shards=%d: ShardOf(%q) = %d, but shard %d matches it", n, name, ShardOf(name, n), hit[0])
				}
				switch {
				case isValid && len(hit) != 1:
					t.Errorf("%s shards=%d: valid pod name %q in shards %v, want exactly one", tc.kind, n, name, hit)
				case len(hit) > 1:
					t.Errorf("%s shards=%d: %q in shards %v, want at most one", tc.kind, n, name, hit)
				}
			}
			// Every shard gets pods (shardPodNames has one for each).
			used := map[int]bool{}
			for _, name := range shardPodNames() {
				for i, m := range parsed {
					if m == nil || m.Matches(name) {
						used[i] = true
					}
				}
			}
			if len(used) != len(ms) {
				t.Errorf("%s shards=%d: only %d of %d shards get one of shardPodNames", tc.kind, n, len(used), len(ms))
			}
		}
	}
	if valid < 150 {
		t.Errorf("only %d valid pod names tested", valid)
	}
}

// TestShardAlphabet: the alphabet is exactly the characters a valid pod
// name can end in, each once, and starts with the apiserver's generateName
// suffix alphabet (which the even spread of the default 9 shards relies on).
func TestShardAlphabet(t *testing.T) {
	seen := map[rune]bool{}
	for _, c := range shardAlphabet {
		if seen[c] {
			t.Errorf("%q twice", c)
		}
		seen[c] = true
	}
	for c := rune(0); c < 256; c++ {
		endsValid := len(validation.IsDNS1123Subdomain("a"+string(c))) == 0
		if endsValid != seen[c] {
			t.Errorf("%q: a pod name can end in it = %v, in the alphabet = %v", c, endsValid, seen[c])
		}
		innerValid := len(validation.IsDNS1123Subdomain("a"+string(c)+"a")) == 0
		if innerValid != strings.ContainsRune(innerAlphabet, c) {
			t.Errorf("%q: a pod name can hold it inside = %v, in the inner alphabet = %v", c, innerValid, !innerValid)
		}
	}
	if !strings.HasSuffix(innerAlphabet, "-") || strings.Count(innerAlphabet, "-") != 1 {
		t.Errorf("inner alphabet %q must hold '-' once, last (a class reads it literally there)", innerAlphabet)
	}
	const generateName = "bcdfghjklmnpqrstvwxz2456789" // k8s.io/apimachinery/pkg/util/rand
	if !strings.HasPrefix(shardAlphabet, generateName) {
		t.Errorf("alphabet %q does not start with the generateName alphabet", shardAlphabet)
	}
	// With 9 shards every shard gets 3 of the 27 generateName characters.
	for i, m := range ShardMatchers(9) {
		set := m[strings.Index(m, "[")+1 : strings.Index(m, "]")]
		k := 0
		for _, c := range generateName {
			if strings.ContainsRune(set, c) {
				k++
			}
		}
		if k != 3 {
			t.Errorf("shard %d of 9 (%s) gets %d generateName characters, want 3", i, m, k)
		}
	}
}

// TestShardedRulesCombine checks the sharded layout: one group per shard
// for every raw aggregation, and the original record names written once
// (per label set) by the unsharded group names.
func TestShardedRulesCombine(t *testing.T) {
	for _, tc := range []struct{ shards, wantShardGroups int }{{1, 0}, {3, 3*11 + 2*9 + 1}, {8, 8*11 + 2*24 + 1}, {9, 9*11 + 2*27 + 1}, {20, 20*11 + 2*36 + 1}} {
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

// TestShardedAlerts: with shards, each per-pod alert runs once per shard,
// in its own group, every selector narrowed to the shard's pods and the
// rest of the rule unchanged; without, it stays in its group unchanged.
func TestShardedAlerts(t *testing.T) {
	perPod := map[string]string{
		"KubePulseContainerMemoryNearLimit": "kubepulse-container-memory-near-limit",
		"KubePulseContainerOOMKilled":       "kubepulse-container-oom-killed",
		"KubePulseContainerRestartStorm":    "kubepulse-container-restart-storm",
		"KubePulseContainerCPUAtLimit":      "kubepulse-container-cpu-at-limit",
		"KubePulseLogErrorRateHigh":         "kubepulse-log-error-rate-high",
	}
	one := config.Default()
	one.Recording.Shards = 1
	plain := map[string]rulefmt.Rule{}
	for _, g := range Build(&one).Alerts {
		for _, r := range g.Rules {
			if strings.Contains(g.Name, "-shard-") {
				t.Errorf("shards=1: group %s", g.Name)
			}
			plain[r.Alert] = r
		}
	}
	for _, n := range []int{2, 9, 36} {
		c := config.Default()
		c.Recording.Shards = n
		copies := map[string]int{}
		for _, g := range Build(&c).Alerts {
			for _, r := range g.Rules {
				base, ok := perPod[r.Alert]
				if !ok {
					if strings.Contains(g.Name, "-shard-") {
						t.Errorf("shards=%d: %s (not per pod) in %s", n, r.Alert, g.Name)
					}
					continue
				}
				i := copies[r.Alert]
				copies[r.Alert]++
				if want := fmt.Sprintf("%s-shard-%d.alerts", base, i); g.Name != want || len(g.Rules) != 1 {
					t.Errorf("shards=%d: %s copy %d in group %s with %d rules, want alone in %s", n, r.Alert, i, g.Name, len(g.Rules), want)
				}
				m := ShardMatchers(FineShards(n))[i]
				p := plain[r.Alert]
				wantLabels := map[string]string{"shard": strconv.Itoa(i)}
				for k, v := range p.Labels {
					wantLabels[k] = v
				}
				if r.For != p.For || fmt.Sprint(r.Labels) != fmt.Sprint(wantLabels) || fmt.Sprint(r.Annotations) != fmt.Sprint(p.Annotations) {
					t.Errorf("shards=%d: %s copy %d differs from the unsharded rule beyond its expression and shard label: labels %v, want %v", n, r.Alert, i, r.Labels, wantLabels)
				}
				// Every selector carries the shard's matcher; without it
				// the expression is the unsharded one.
				e, err := parser.NewParser(parser.Options{}).ParseExpr(r.Expr)
				if err != nil {
					t.Fatal(err)
				}
				sels := 0
				parser.Inspect(e, func(nd parser.Node, _ []parser.Node) error {
					vs, ok := nd.(*parser.VectorSelector)
					if !ok {
						return nil
					}
					sels++
					var kept []*labels.Matcher
					for _, lm := range vs.LabelMatchers {
						if lm.Name == "pod" && lm.Type == labels.MatchRegexp && `pod=~"`+lm.Value+`"` == m {
							continue
						}
						kept = append(kept, lm)
					}
					if len(kept) != len(vs.LabelMatchers)-1 {
						t.Errorf("shards=%d: %s copy %d: selector %s lacks %s", n, r.Alert, i, vs, m)
					}
					vs.LabelMatchers = kept
					return nil
				})
				orig, err := parser.NewParser(parser.Options{}).ParseExpr(p.Expr)
				if err != nil {
					t.Fatal(err)
				}
				if sels == 0 || e.String() != orig.String() {
					t.Errorf("shards=%d: %s copy %d: without the matcher %s\nwant %s", n, r.Alert, i, e, orig)
				}
			}
		}
		for a := range perPod {
			if want := min(3*n, 36); copies[a] != want {
				t.Errorf("shards=%d: %s has %d copies, want %d", n, a, copies[a], want)
			}
		}
	}
}
