#!/usr/bin/env bash
# Load-test result parser throughput (loadtest/parse), run by `make bench`.
#
# Go benchmarks over a generated JMeter 5 CSV (100k rows, default 17
# columns) and k6 --out json NDJSON (10k requests, ~12 lines each), next to
# standard-library baselines in the same process (encoding/csv + strconv,
# encoding/json per line), then the same files through command-line peers
# (jq for k6 JSON; awk for the CSV, which ignores quoting and so is only a
# speed floor). Prints medians of COUNT runs (default 5).
set -euo pipefail
cd "$(dirname "$0")/../.."
COUNT=${COUNT:-5}
if ! command -v jq >/dev/null; then
  apt-get update -qq && apt-get install -y -qq jq >/dev/null
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

KUBEPULSE_BENCH_DUMP=$tmp go test -run '^$' \
  -bench '^Benchmark(JMeterCSV|JMeterCSVObserve|JMeterCSVStdlib|K6JSON|K6JSONStdlib)$' \
  -benchtime=3x -count="$COUNT" ./loadtest/parse/ > "$tmp/go.txt"

median() { sort -g | awk '{a[NR]=$1} END {if (NR==0) {print "n/a"; exit} m=int((NR+1)/2); print a[m]}'; }

echo "| benchmark | MB/s (median of $COUNT) | rows/s | lines/s |"
echo "| --- | --- | --- | --- |"
for b in JMeterCSV JMeterCSVObserve JMeterCSVStdlib K6JSON K6JSONStdlib; do
  lines=$(grep -E "^Benchmark$b-[0-9]+ " "$tmp/go.txt" || true)
  mbs=$(awk '{for (i=1;i<=NF;i++) if ($(i+1)=="MB/s") print $i}' <<<"$lines" | median)
  rows=$(awk '{for (i=1;i<=NF;i++) if ($(i+1)=="rows/s") print $i}' <<<"$lines" | median)
  lps=$(awk '{for (i=1;i<=NF;i++) if ($(i+1)=="lines/s") print $i}' <<<"$lines" | median)
  printf '| Go %s | %s | %.0f | %.0f |\n' "$b" "$mbs" "$rows" "$lps"
done

peer() { # name file command...
  local name=$1 file=$2; shift 2
  local size; size=$(stat -c %s "$file")
  local rates=() out=""
  for _ in $(seq "$COUNT"); do
    local s e
    s=$(date +%s.%N)
    out=$("$@" < "$file")
    e=$(date +%s.%N)
    rates+=("$(awk -v b="$size" -v s="$s" -v e="$e" 'BEGIN {printf "%.2f", b/(e-s)/1e6}')")
  done
  printf '| %s | %s | totals: %s | |\n' "$name" "$(printf '%s\n' "${rates[@]}" | median)" "$out"
}
peer "jq (k6 http_req_duration sum)" "$tmp/bench.ndjson" \
  sh -c "jq -r 'select(.type==\"Point\" and .metric==\"http_req_duration\") | .data.value' | awk '{n++; s+=\$1} END {print n, s}'"
peer "awk -F, (JMeter elapsed sum, no quoting)" "$tmp/bench.jtl" \
  awk -F, 'NR>1 {n++; s+=$2} END {print n, s}'
echo
echo "input sizes: $(stat -c '%n %s' "$tmp/bench.jtl" "$tmp/bench.ndjson" | sed "s|$tmp/||g" | tr '\n' ' ')"
echo "machine: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
