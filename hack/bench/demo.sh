#!/usr/bin/env bash
# kubepulse demo: time from `make demo` (warm Go build cache) until the page
# at / answers, the fast-forward's own time, peak RSS and CPU seconds, for
# the default 6h history. Runs RUNS times (default 3) and prints each run
# and the medians. Run from the repository root (make bench).
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${RUNS:-3}
port=${DEMO_PORT:-19877}
out=${BENCH_OUT:-.cache/bench/demo.txt}
mkdir -p "$(dirname "$out")"
# Warm the build cache: the runs measure `make demo` as a second run does.
make -s demo DEMO_ARGS="--web.listen-address=127.0.0.1:$port --demo.history=0s --demo.duration=1s" >/dev/null 2>&1
: >"$out"
for i in $(seq "$runs"); do
  log=$(mktemp)
  start=$(date +%s.%N)
  make -s demo DEMO_ARGS="--web.listen-address=127.0.0.1:$port --demo.duration=15s" >"$log" 2>&1 &
  mk=$!
  until curl -fsS -o /dev/null "http://127.0.0.1:$port/" 2>/dev/null; do sleep 0.05; done
  served=$(date +%s.%N)
  pid=$(pgrep -P "$mk" -x kubepulse)
  ticks=$(awk '{print $14+$15}' "/proc/$pid/stat")
  hwm=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
  wait "$mk"
  ff=$(grep -o 'took=[0-9.hmsµ]*' "$log" | head -1 | cut -d= -f2)
  printf 'run %d: page served %.1fs after make demo; fast-forward %s; peak RSS %d MiB; CPU %.1fs at first page\n' \
    "$i" "$(echo "$served - $start" | bc)" "$ff" $((hwm / 1024)) "$(echo "$ticks / $(getconf CLK_TCK)" | bc -l)" | tee -a "$out"
  rm -f "$log"
done
median() { sed 's/[^0-9.]//g' | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
printf 'median of %d: page served %ss after make demo, peak RSS %s MiB, CPU %ss at first page\n' "$runs" \
  "$(awk '{ print $5 }' "$out" | median)" "$(awk '{ print $13 }' "$out" | median)" "$(awk '{ print $16 }' "$out" | median)" | tee -a "$out"
