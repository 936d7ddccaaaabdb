#!/usr/bin/env bash
# Builds the real components the test tiers run (kube-apiserver, etcd,
# prometheus, promtool) from pinned Go modules into .cache/bin, skipping any
# binary that is already there. Each tools module is separate so that none of
# their dependency graphs leaks into kubepulse's own go.mod.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${KUBEPULSE_BIN:-$root/.cache/bin}
mkdir -p "$bin"

build() { # module-dir binary-name package [build-tags]
  local dir=$1 name=$2 pkg=$3 tags=${4:-}
  if [ -x "$bin/$name" ]; then
    echo "tools: $name already built ($bin/$name)"
    return
  fi
  echo "tools: building $name from $pkg"
  local start=$SECONDS
  (cd "$root/hack/tools/$dir" && CGO_ENABLED=0 go build -trimpath -tags "$tags" -o "$bin/$name.tmp" "$pkg")
  mv "$bin/$name.tmp" "$bin/$name"
  echo "tools: built $name in $((SECONDS - start))s"
}

want=${*:-kube-apiserver etcd prometheus promtool}
for t in $want; do
  case $t in
    kube-apiserver) build k8s kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver ;;
    etcd) build k8s etcd ./etcd ;;
    # The tests only use static_configs: remove_all_sd (upstream's plugin
    # switch) leaves out the cloud service-discovery SDKs, about a third of
    # the packages and of the build time.
    prometheus) build prometheus prometheus github.com/prometheus/prometheus/cmd/prometheus remove_all_sd ;;
    promtool) build prometheus promtool github.com/prometheus/prometheus/cmd/promtool remove_all_sd ;;
    *) echo "tools: unknown tool $t" >&2; exit 2 ;;
  esac
done
