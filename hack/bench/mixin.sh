#!/usr/bin/env bash
# kubepulse generate, run by `make bench`: the Go benchmark of generation
# plus every built-in check, the CLI's wall time (process start included),
# and the in-process unit-test runner (`--test`) next to promtool's
# `test rules` over the same generated files, when .cache/bin/promtool
# exists (`make tools` builds it). Prints medians of COUNT runs (default 5).
set -euo pipefail
cd "$(dirname "$0")/../.."
COUNT=${COUNT:-5}
BIN=${KUBEPULSE_BIN:-$PWD/.cache/bin}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cfg=examples/autoscaling/mixin.yaml

if ! command -v bc >/dev/null || [ ! -x /usr/bin/time ]; then apt-get update -qq && apt-get install -y -qq bc time >/dev/null; fi

median() { sort -g | awk '{a[NR]=$1} END {if (NR==0) {print "n/a"; exit} m=int((NR+1)/2); print a[m]}'; }
now() { date +%s.%N; }

go test -run '^$' -bench '^BenchmarkGenerate$' -benchtime=20x -count="$COUNT" ./mixin/ > "$tmp/go.txt"
gen_ms=$(awk '/^BenchmarkGenerate/ {print $3/1e6}' "$tmp/go.txt" | median)
allocs=$(awk '/^BenchmarkGenerate/ {print $7}' "$tmp/go.txt" | median)

go build -o "$tmp/kubepulse" .
cli=()
for _ in $(seq "$COUNT"); do
  s=$(now); "$tmp/kubepulse" generate --config "$cfg" --output-dir "$tmp/out" --log.level=warn; e=$(now)
  cli+=("$(echo "($e - $s) * 1000" | bc -l)")
done
cli_ms=$(printf '%s\n' "${cli[@]}" | median)

# The test runs: wall and user CPU (the machine may be shared; user CPU is
# the fairer comparison). --test includes generation.
timed() { # out-file command...
  local out=$1; shift
  /usr/bin/time -f "%e %U" -o "$out.t" "$@" >/dev/null 2>&1
  cat "$out.t" >> "$out"
}
: > "$tmp/kp.times"; : > "$tmp/pt.times"
for _ in $(seq "$COUNT"); do
  timed "$tmp/kp.times" "$tmp/kubepulse" generate --config "$cfg" --output-dir "$tmp/out" --test --log.level=warn
done
if [ -x "$BIN/promtool" ]; then
  "$BIN/promtool" check rules --lint=all --lint-fatal "$tmp/out/prometheus_rules.yaml" "$tmp/out/prometheus_alerts.yaml" >/dev/null
  for _ in $(seq "$COUNT"); do
    (cd "$tmp/out" && timed "$tmp/pt.times" "$BIN/promtool" test rules tests/*.yaml)
  done
fi

ntests=$(ls "$tmp/out/tests" | wc -l)
echo "| measurement (median of $COUNT) | wall ms | user CPU ms |"
echo "| --- | --- | --- |"
printf '| Go BenchmarkGenerate: generate + built-in checks, in process (%s allocs/op) | %.1f | |\n' "$allocs" "$gen_ms"
printf '| kubepulse generate (CLI, process start included) | %.0f | |\n' "$cli_ms"
printf '| kubepulse generate --test (%d test files, includes generation) | %.0f | %.0f |\n' "$ntests" \
  "$(awk '{print $1*1000}' "$tmp/kp.times" | median)" "$(awk '{print $2*1000}' "$tmp/kp.times" | median)"
if [ -s "$tmp/pt.times" ]; then
  printf '| promtool test rules tests/*.yaml (same files, v0.316.0) | %.0f | %.0f |\n' \
    "$(awk '{print $1*1000}' "$tmp/pt.times" | median)" "$(awk '{print $2*1000}' "$tmp/pt.times" | median)"
else
  echo "| promtool test rules | n/a: .cache/bin/promtool missing (make tools) | |"
fi
