#!/usr/bin/env bash
# Cluster collectors: /metrics render time, bytes, heap and RSS of the
# pre-rendered store at 3,000 and 150,000 pods, side by side with a naive
# client_golang collector that walks the caches on every scrape.
# Run from the repository root (make bench). Needs only Go; takes a few
# minutes, most of it the naive baseline at 150k pods.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${BENCH_OUT:-.cache/bench/cluster.txt}
mkdir -p "$(dirname "$out")"
# 3 scrapes per case (plus the warm-up run go test always does); medians are reported by the benchmark itself.
go test -run '^$' -bench 'BenchmarkScrape' -benchtime "${BENCH_SCRAPES:-3}x" -timeout 30m \
  ./collector/cluster/ | tee "$out"
awk '
  /^BenchmarkScrape/ {
    split($1, p, "/"); size = p[2]; impl = p[3]; sub(/-[0-9]+$/, "", impl)
    for (i = 3; i < NF; i++) if ($(i+1) == "p50-s/scrape") t[size, impl] = $i
  }
  END {
    for (k in t) { split(k, q, SUBSEP); if (q[2] == "store" && t[q[1], "naive"] > 0)
      printf "%s: store p50 %.3fs, naive p50 %.3fs, speedup %.1fx\n", q[1], t[k], t[q[1], "naive"], t[q[1], "naive"] / t[k] }
  }' "$out"
