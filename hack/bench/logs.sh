#!/usr/bin/env bash
# Logs collector benchmark, run by `make bench` from the repo root.
#  1. Go benchmark of the in-memory parse+match path (allocations per chunk).
#  2. Two generated 256 MiB single-container CRI files (logbench gen,
#     deterministic):
#       sparse: ~140-byte lines, 1% with ERROR/EXCEPTION, 0.5% a timeout;
#       dense:  88-byte lines in JSON, logfmt and plain text, 22% ERROR/EXCEPTION.
#     On each, `grep -cE 'ERROR|EXCEPTION'` and kubepulse (rules ERROR|EXCEPTION
#     and (?i)timed? ?out) run alternately (A B A B), ROUNDS times, each timed
#     as a whole process from exec until it exits with the count complete
#     (kubepulse: until kubepulse_log_lag_bytes is 0). Medians, and the ratio
#     of median throughputs; the counts must agree. Max RSS of kubepulse.
#  3. 1,000 containers appending at once while the tailer follows.
# Figures go to docs/benchmarks/logs.md by hand, with this command.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${ROUNDS:-7}
SIZE_MIB=${SIZE_MIB:-256}
CONTAINERS=${CONTAINERS:-1000}
SKIP_GO=${SKIP_GO:-}
SKIP_LIVE=${SKIP_LIVE:-}

command -v grep >/dev/null || { apt-get update -qq && apt-get install -y -qq grep; }
command -v awk >/dev/null || { apt-get update -qq && apt-get install -y -qq gawk; }
[ -x /usr/bin/time ] || { apt-get update -qq && apt-get install -y -qq time; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/logbench" ./collector/logs/internal/logbench
rules=testdata/logs/rules.yaml

if [ -z "$SKIP_GO" ]; then
  echo "== go benchmark (in-memory parse + match of a 256 KiB chunk)"
  go test -run '^$' -bench BenchmarkConsume -benchtime=200x -count=3 ./collector/logs/ | grep -E '^Benchmark'
fi

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END{print (NR%2)? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.3f", b-a}'; }

for shape in sparse dense; do
  echo "== ${SIZE_MIB} MiB single-container CRI file, $shape"
  "$tmp/logbench" gen -dir "$tmp/$shape" -bytes $((SIZE_MIB << 20)) -containers 1 -shape "$shape"
  file=$(find "$tmp/$shape" -name 0.log)
  awk 'END{printf "%d lines, %.1f bytes/line\n", NR, '"$(stat -c %s "$file")"'/NR}' "$file"
  cat "$file" >/dev/null # page cache warm for both
  grep_s=(); kp_s=(); rss=(); grep_cpu=(); kp_cpu=()
  for i in $(seq "$ROUNDS"); do
    # A B A B: odd rounds grep first, even rounds kubepulse first.
    for who in $( ((i % 2)) && echo "grep kp" || echo "kp grep"); do
      if [ "$who" = grep ]; then
        s=$(now)
        n=$(LC_ALL=C /usr/bin/time -o "$tmp/time" -f '%U %S' grep -cE 'ERROR|EXCEPTION' "$file")
        grep_s+=("$(since "$s")"); grep_cpu+=("$(awk '{printf "%.2f", $1+$2}' "$tmp/time")")
      else
        s=$(now)
        out=$(/usr/bin/time -o "$tmp/time" -f '%U %S' "$tmp/logbench" run -dir "$tmp/$shape" -rules "$rules")
        kp_s+=("$(since "$s")"); kp_cpu+=("$(awk '{printf "%.2f", $1+$2}' "$tmp/time")")
        kerr=$(sed -E 's/.* error=([0-9]+).*/\1/' <<<"$out")
        rss+=("$(sed -E 's/.*maxrss_mib=([0-9.]+).*/\1/' <<<"$out")")
      fi
    done
    [ "$kerr" = "$n" ] || { echo "count mismatch: grep $n, kubepulse $kerr"; exit 1; }
    echo "round $i: grep ${grep_s[-1]}s (cpu ${grep_cpu[-1]}s, $n lines)  kubepulse ${kp_s[-1]}s (cpu ${kp_cpu[-1]}s)  [$out]"
  done
  mg=$(median "${grep_s[@]}"); mk=$(median "${kp_s[@]}"); mr=$(median "${rss[@]}")
  mgc=$(median "${grep_cpu[@]}"); mkc=$(median "${kp_cpu[@]}")
  awk -v g="$mg" -v k="$mk" -v r="$mr" -v m="$SIZE_MIB" -v gc="$mgc" -v kc="$mkc" -v shape="$shape" 'BEGIN{
    printf "%s median wall (whole process): grep %.3fs (%.0f MiB/s)  kubepulse %.3fs (%.0f MiB/s)  kubepulse/grep throughput ratio %.2f\n", shape, g, m/g, k, m/k, g/k
    printf "%s median cpu:  grep %.2fs  kubepulse %.2fs  ratio %.2f   max RSS %.1f MiB\n", shape, gc, kc, gc/kc, r}'
  rm -rf "${tmp:?}/$shape"
done

if [ -z "$SKIP_LIVE" ]; then
  echo "== ${CONTAINERS} containers writing at once (100 lines/s each, 10 s)"
  "$tmp/logbench" live -dir "$tmp/live" -rules "$rules" -containers "$CONTAINERS" -duration 10s -rate 100
fi
