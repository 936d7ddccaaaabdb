#!/usr/bin/env bash
# Recording-rule evaluation benchmark (issue 6): generates the mixin with the
# default config, loads a synthetic 150k-pod cluster (5,000 nodes, 2
# containers per pod, 15,000 workloads, 3,000 HPAs, log counters) into an
# in-process Prometheus TSDB, and evaluates every group of the generated
# prometheus_rules.yaml with the promql engine and rules manager.
# A small-scale run with the data in the head and in blocks calibrates the
# block path first. Output: markdown tables on stdout and in .cache/bench/.
#
# Targets: every group's median at most 2 s, the medians summed at most
# 15 s per evaluation round (no rule sharding).
#
#   bash hack/bench/rules.sh              # full run: ~15 min on 2 idle cores (rules and alerts), ~6 GiB RSS at peak
#   SCALE=medium bash hack/bench/rules.sh # 1/5 of the cluster, ~3 GiB
#   SCALE=small bash hack/bench/rules.sh  # quick
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
out=$root/.cache/bench
mkdir -p "$out"
gen=$(mktemp -d)
trap 'rm -rf "$gen"' EXIT

go build -o "$out/kubepulse" .
go build -o "$out/rulesbench" ./test/rulesbench/cmd/rulesbench
"$out/kubepulse" generate --output-dir "$gen" --log.level=warn

echo "== calibration: small scale, head vs blocks"
"$out/rulesbench" -rules "$gen/prometheus_rules.yaml" -alerts "$gen/prometheus_alerts.yaml" -scale small -storage head -out "$out/rules-small-head.md"
"$out/rulesbench" -rules "$gen/prometheus_rules.yaml" -alerts "$gen/prometheus_alerts.yaml" -scale small -storage blocks -out "$out/rules-small-blocks.md"

if [ "${SCALE:-full}" = medium ]; then
  echo "== medium scale: 1,000 nodes, 30,000 pods, blocks"
  "$out/rulesbench" -rules "$gen/prometheus_rules.yaml" -alerts "$gen/prometheus_alerts.yaml" -scale medium -storage blocks -warmup 1 -runs 3 -out "$out/rules-medium.md"
fi
if [ "${SCALE:-full}" = full ]; then
  echo "== full scale: 5,000 nodes, 150,000 pods, blocks"
  timer=()
  if [ -x /usr/bin/time ]; then timer=(/usr/bin/time -f "rulesbench: %e s wall, %U s user, %M KiB max RSS"); fi
  "${timer[@]}" "$out/rulesbench" -rules "$gen/prometheus_rules.yaml" -alerts "$gen/prometheus_alerts.yaml" -scale full -storage blocks -warmup 1 -runs 3 -out "$out/rules-full.md"
fi
