#!/usr/bin/env bash
# `kubepulse tune` benchmarks, run by `make bench`.
#
#   COUNT=5 PODS=150000 bash hack/bench/tune.sh
#
# - resources / backtest: the whole `kubepulse tune` process on the shipped
#   7-day trace (testdata/traces/week.om.gz), median wall time and max RSS
#   of COUNT runs.
# - Aggregate150k: 7 days of 5-minute CPU and memory samples for PODS pods
#   (default 150,000) streamed into the aggregator `tune resources
#   --prometheus.url` uses, then recommended: one run, wall time and max
#   RSS of the whole test process (target: under 2 minutes and 2 GiB).
set -euo pipefail
cd "$(dirname "$0")/../.."
COUNT=${COUNT:-5}
PODS=${PODS:-150000}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

go build -o "$tmp/kubepulse" .
go test -c -o "$tmp/tuning.test" ./tuning/

median() { sort -g | awk '{a[NR]=$1} END {if (NR==0) {print "n/a"; exit} m=int((NR+1)/2); print a[m]}'; }
# run NAME ARGS...: COUNT runs of the CLI, "wall rss" per line.
run() {
  local name=$1; shift
  for _ in $(seq "$COUNT"); do
    /usr/bin/time -f "%e %M" -o "$tmp/time" "$tmp/kubepulse" "$@" > /dev/null 2>&1
    cat "$tmp/time"
  done > "$tmp/$name"
}
run resources tune resources --input testdata/traces/week.om.gz -o json
run backtest tune backtest --input testdata/traces/week.om.gz

echo "## tune, $(date -u +%F), $(nproc) CPUs"
echo
echo "| run | wall (median of $COUNT) | max RSS |"
echo "| --- | ---: | ---: |"
for n in resources backtest; do
  echo "| $n, shipped week trace (8 containers, 57k samples) | $(cut -d' ' -f1 "$tmp/$n" | median) s | $(( $(cut -d' ' -f2 "$tmp/$n" | median) / 1024 )) MiB |"
done

KUBEPULSE_BENCH_PODS=$PODS /usr/bin/time -f "%e %U %M" -o "$tmp/agg.time" \
  "$tmp/tuning.test" -test.run '^$' -test.bench '^BenchmarkAggregate150k$' -test.benchtime 1x > "$tmp/agg.txt"
read -r wall user rss < "$tmp/agg.time"
samples=$(awk '/Msamples\/s/ {for (i=1;i<NF;i++) if ($(i+1)=="Msamples/s") print $i}' "$tmp/agg.txt")
echo "| Aggregate150k: $PODS pods x 7d x 5m, CPU + memory | $wall s (user $user s, $samples M samples/s) | $(( rss / 1024 )) MiB |"
echo
echo "raw output:"
sed 's/^/    /' "$tmp/agg.txt"
