#!/usr/bin/env bash
# The exporter at scale, measured as users meet it: a running `kubepulse
# exporter` process on a real kube-apiserver + etcd (the integration tier's)
# holding 5,000 nodes and 150,000 pods, scraped with curl plain and with
# Accept-Encoding: gzip. Reports sync time, median scrape time and size, RSS
# and peak RSS, once per GOMEMLIMIT variant (side by side, same apiserver).
# docs/benchmarks/cluster.md quotes the results.
#
# Heavy: loading the apiserver makes ~330k API calls and etcd grows to a few
# GB; expect 15-40 minutes on 2 shared cores. Smaller runs:
#   KUBEPULSE_SCALE_NODES=200 KUBEPULSE_SCALE_PODS=6000 bash hack/bench/exporter-scale.sh
# Variants: KUBEPULSE_SCALE_GOMEMLIMIT=off,768MiB (default), scrapes per
# variant: KUBEPULSE_SCALE_SCRAPES=7. KUBEPULSE_SCALE_BASELINE_BIN=<older
# kubepulse binary> adds it as a "baseline" variant on the same apiserver.
# KUBEPULSE_SCALE_PPROF_DIR=<dir> saves each variant's heap profile after the scrapes.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
bash hack/tools.sh kube-apiserver etcd >/dev/null
command -v curl >/dev/null || { echo "exporter-scale: curl is needed (apt-get install curl)" >&2; exit 1; }
out=${BENCH_OUT:-.cache/bench/exporter-scale.txt}
mkdir -p "$(dirname "$out")"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)" | tee "$out"
go test -run '^$' -bench 'BenchmarkExporterAtScale' -benchtime 1x -timeout 90m -v ./test/integration/ 2>&1 |
  grep -E 'exporter scale|^Benchmark|^(ok|FAIL|---)' | tee -a "$out"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out"
