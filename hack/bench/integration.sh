#!/usr/bin/env bash
# Scale smoke on a real kube-apiserver + etcd: 200 nodes and 5,000 pods
# created in parallel under a running exporter, three times in one process
# (one apiserver). Prints the time until the exporter shows everything and
# the /metrics duration; docs/benchmarks/integration.md quotes the medians.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
bash hack/tools.sh kube-apiserver etcd >/dev/null
go test -count=3 -run 'TestScaleSmoke$' -v -timeout 20m ./test/integration/ 2>&1 | grep -E 'scale smoke:|^(--- |ok|FAIL)'
