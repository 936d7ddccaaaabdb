package rules

import (
	"strconv"
	"strings"
)

// shardAlphabet orders the characters a pod name can end in ([0-9a-z]) so
// that round-robin dealing spreads both StatefulSet ordinals (digits, most
// often low ones) and the apiserver's generateName suffix alphabet
// (consonants and 2, 4-9) evenly over the shards.
const shardAlphabet = "0123456789bcdfghjklmnpqrstvwxzaeiouy"

// ShardMatchers returns the pod-label matchers of n shards. Shard i < n-1
// selects pods whose name ends in one of its characters
// (pod=~".*[...]"); the last shard selects everything else
// (pod!~".*[<all other shards' characters>]"), including upper-case or
// other characters and series without a pod label. Prometheus anchors
// regexes and compiles them with (?s), so ".*[S]" matches exactly the
// strings whose last character is in S: the first n-1 matchers are
// pairwise disjoint (disjoint character sets, one last character), and the
// last is the complement of their union, so every series falls in exactly
// one shard. n <= 1 returns one empty matcher (no sharding).
func ShardMatchers(n int) []string {
	if n <= 1 {
		return []string{""}
	}
	sets := make([][]byte, n-1)
	var all []byte
	for i := 0; i < len(shardAlphabet); i++ {
		s := i % n
		if s == n-1 {
			continue
		}
		sets[s] = append(sets[s], shardAlphabet[i])
		all = append(all, shardAlphabet[i])
	}
	out := make([]string, n)
	for i, set := range sets {
		out[i] = `pod=~".*[` + string(set) + `]"`
	}
	out[n-1] = `pod!~".*[` + string(all) + `]"`
	return out
}

// partialName is the record name of one shard's partial aggregate: the
// level gains "_shard" (namespace_workload:x:sum -> namespace_workload_shard:x:sum).
func partialName(record string) string {
	if i := strings.Index(record, ":"); i >= 0 {
		return record[:i] + "_shard" + record[i:]
	}
	return record + "_shard"
}

// shardGroup names shard i of a group: kubepulse-x.rules -> kubepulse-x-shard-<i>.rules.
func shardGroup(group string, i int) string {
	return strings.TrimSuffix(group, ".rules") + "-shard-" + strconv.Itoa(i) + ".rules"
}

// LogShards is the number of shards of the per-pod log rules: the log
// metric has 3 times the series per pod of the usage metrics (3 match
// rules per container), so it is split 3 times as fine (at most MaxShards).
func LogShards(shards int) int {
	if shards <= 1 {
		return 1
	}
	return min(3*shards, len(shardAlphabet))
}
