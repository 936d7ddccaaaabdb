package rules

import (
	"strconv"
	"strings"
)

// shardAlphabet holds every character a pod name can end in: Kubernetes
// names are DNS-1123 subdomains, which end in [a-z0-9]. It starts with
// the 27 characters of the apiserver's generateName suffixes (Deployment,
// ReplicaSet, DaemonSet and Job pods), so that round-robin dealing spreads
// those, the bulk of a cluster's pods, evenly: 9 or 27 shards split them
// exactly. StatefulSet ordinals add 0, 1 and 3; the vowels end only
// hand-named pods.
const shardAlphabet = "bcdfghjklmnpqrstvwxz2456789" + "013" + "aeiouy"

// ShardMatchers returns the pod-label matchers of n shards: shard i selects
// the pods whose name ends in one of its characters (pod=~".*[...]"), the
// characters dealt round-robin. Prometheus anchors regexes and compiles
// them with (?s), so ".*[S]" matches exactly the strings whose last
// character is in S, and the sets are disjoint and cover [a-z0-9]: every
// valid pod name falls in exactly one shard. Every matcher is a short
// positive class on purpose: Prometheus matches it as a set of suffixes
// (~20 ns per label value), where a negated class or a != complement
// costs ~1 µs per value or a merge of nearly every pod's postings. n <= 1
// returns one empty matcher (no sharding).
func ShardMatchers(n int) []string {
	if n <= 1 {
		return []string{""}
	}
	var out []string
	for _, re := range shardRegexes(n) {
		out = append(out, `pod=~"`+re+`"`)
	}
	return out
}

// shardRegexes returns the pod-name regexes of n > 1 shards (".*[S]"), the
// values of the ShardMatchers matchers.
func shardRegexes(n int) []string {
	out := make([]string, 0, n)
	for _, set := range dealAlphabet(shardAlphabet, min(n, len(shardAlphabet))) {
		out = append(out, ".*["+set+"]")
	}
	return out
}

// dealAlphabet deals the characters of alphabet round-robin into n sets.
func dealAlphabet(alphabet string, n int) []string {
	sets := make([][]byte, n)
	for i := 0; i < len(alphabet); i++ {
		sets[i%n] = append(sets[i%n], alphabet[i])
	}
	out := make([]string, n)
	for i, set := range sets {
		out[i] = string(set)
	}
	return out
}

// ShardOf returns the index of the shard of n (ShardMatchers) that holds
// the pod name, or 0 if it ends in no shard character (n <= 1 included).
func ShardOf(pod string, n int) int {
	if n <= 1 || pod == "" {
		return 0
	}
	k := strings.IndexByte(shardAlphabet, pod[len(pod)-1])
	if k < 0 {
		return 0
	}
	return k % min(n, len(shardAlphabet))
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

// FineShards is the shard count of the rules that read 3 times the series
// of a usage shard or more (the per-pod log rates, the per-pod alerts): 3
// times the recording shards, at most one per last character. With the
// default 9 that is 27, one generateName character each.
func FineShards(shards int) int {
	if shards <= 1 {
		return 1
	}
	return min(3*shards, len(shardAlphabet))
}

// innerAlphabet holds every character a pod name can hold before its last
// one ([a-z0-9.-]); '-' last, where a character class reads it literally.
const innerAlphabet = shardAlphabet + ".-"

// LogShardMatchers returns the pod-label matchers of the log rules' shards.
// The log metric has 3 series per container (one per match rule), 3 times
// the usage metrics', and reading the raw series dominates a shard's cost,
// so its shards are 6 times as fine: the last character is dealt into
// FineShards(shards) sets as in ShardMatchers, and each set is split in
// two by the second-to-last character (pod=~".*[P][S]"; the generateName
// characters lead innerAlphabet, so generated suffixes split 14/13). A
// name of one character has no second-to-last one: a last matcher takes
// exactly those (pod=~"[a-z0-9]", a set of 36 literals). Every valid pod
// name falls in exactly one shard. Both classes stay positive: Prometheus
// matches ".*[P][S]" in ~0.2 µs per pod name, where an optional prefix
// ((?:.*[P])?[S]) costs ~1.4 µs.
func LogShardMatchers(shards int) []string {
	if shards <= 1 {
		return []string{""}
	}
	var out []string
	inner := dealAlphabet(innerAlphabet, 2)
	for _, last := range dealAlphabet(shardAlphabet, FineShards(shards)) {
		for _, p := range inner {
			out = append(out, `pod=~".*[`+p+`][`+last+`]"`)
		}
	}
	return append(out, `pod=~"[`+shardAlphabet+`]"`)
}
