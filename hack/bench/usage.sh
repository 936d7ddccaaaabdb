#!/usr/bin/env bash
# Usage collector (collector/usage) benchmarks, run by `make bench`.
#
#   COUNT=5 bash hack/bench/usage.sh
#
# - ParseNode: parse + render of one 110-pod node's /metrics/resource, the
#   collector's scanner against expfmt.TextParser in the same process.
# - Round150k: parse + render of 5,000 nodes x 30 pods x 2 containers (one
#   background round minus the network), scanner and expfmt.
# - Scrape150k: one Prometheus scrape of that store (WriteRaw), p50 render
#   time, bytes per scrape, heap held by the store.
# - KubeletRoundTLS: one round over real HTTPS to 20 fake kubelets on
#   loopback (token + CA checked), through the worker pool.
# Prints medians of COUNT runs and the scanner/expfmt ratios of the same run.
set -euo pipefail
cd "$(dirname "$0")/../.."
COUNT=${COUNT:-5}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

go test -run '^$' -bench '^Benchmark(ParseNode|Scrape150k|KubeletRoundTLS)$' \
  -benchtime=20x -count="$COUNT" ./collector/usage/ > "$tmp/go.txt"
# expfmt takes tens of seconds per 150k round: one op per run.
go test -run '^$' -bench '^BenchmarkRound150k$' -benchtime=1x -count=3 ./collector/usage/ >> "$tmp/go.txt"

median() { sort -g | awk '{a[NR]=$1} END {if (NR==0) {print "n/a"; exit} m=int((NR+1)/2); print a[m]}'; }
# field NAME UNIT: median of the value before UNIT on lines of benchmark NAME.
field() {
  grep -E "^Benchmark$1-[0-9]+ " "$tmp/go.txt" | awk -v u="$2" '{for (i=1;i<NF;i++) if ($(i+1)==u) print $i}' | median
}

echo "## usage collector, $(date -u +%F), $(nproc) CPUs, median of $COUNT (Round150k: of 3)"
echo
echo "| benchmark | ns/op | MB/s | B/op | allocs/op | extra |"
echo "| --- | --- | --- | --- | --- | --- |"
for b in ParseNode/scanner ParseNode/expfmt Round150k/scanner Round150k/expfmt KubeletRoundTLS Scrape150k; do
  extra=""
  case $b in
    Scrape150k) extra="p50 $(field $b p50-ms) ms/scrape, $(field $b bytes/scrape) bytes/scrape, store $(field $b store-MiB) MiB" ;;
    KubeletRoundTLS) extra="$(field $b ms/node) ms/node" ;;
  esac
  echo "| $b | $(field $b ns/op) | $(field $b MB/s) | $(field $b B/op) | $(field $b allocs/op) | $extra |"
done
echo
awk -v a="$(field ParseNode/expfmt ns/op)" -v b="$(field ParseNode/scanner ns/op)" 'BEGIN {printf "scanner vs expfmt, one 110-pod node: %.1fx faster\n", a/b}'
awk -v a="$(field Round150k/expfmt ns/op)" -v b="$(field Round150k/scanner ns/op)" 'BEGIN {printf "scanner vs expfmt, 150k-pod round: %.1fx faster\n", a/b}'
echo
echo "raw output:"
sed 's/^/    /' "$tmp/go.txt"
