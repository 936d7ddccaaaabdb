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

if ! command -v bc >/dev/null; then apt-get update -qq && apt-get install -y -qq bc >/dev/null; fi

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

# --test includes generation; subtract the CLI median for the test phase.
tst=()
for _ in $(seq "$COUNT"); do
  s=$(now); "$tmp/kubepulse" generate --config "$cfg" --output-dir "$tmp/out" --test --log.level=warn; e=$(now)
  tst+=("$(echo "($e - $s) * 1000" | bc -l)")
done
test_ms=$(printf '%s\n' "${tst[@]}" | median)

pt_ms=n/a
if [ -x "$BIN/promtool" ]; then
  "$BIN/promtool" check rules "$tmp/out/prometheus_rules.yaml" "$tmp/out/prometheus_alerts.yaml" >/dev/null
  pt=()
  for _ in $(seq "$COUNT"); do
    s=$(now); (cd "$tmp/out" && "$BIN/promtool" test rules tests/*.yaml >/dev/null); e=$(now)
    pt+=("$(echo "($e - $s) * 1000" | bc -l)")
  done
  pt_ms=$(printf '%s\n' "${pt[@]}" | median)
fi

ntests=$(ls "$tmp/out/tests" | wc -l)
echo "| measurement (median of $COUNT) | ms |"
echo "| --- | --- |"
printf '| Go BenchmarkGenerate: generate + built-in checks, in process (%s allocs/op) | %.1f |\n' "$allocs" "$gen_ms"
printf '| kubepulse generate (CLI wall time, process start included) | %.0f |\n' "$cli_ms"
printf '| kubepulse generate --test (%d test files, includes generation) | %.0f |\n' "$ntests" "$test_ms"
if [ "$pt_ms" != n/a ]; then
  printf '| promtool test rules tests/*.yaml (same files) | %.0f |\n' "$pt_ms"
else
  echo "| promtool test rules | n/a: .cache/bin/promtool missing (make tools) |"
fi
