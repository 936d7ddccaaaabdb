#!/usr/bin/env bash
# Logs collector benchmark (issue 4), run by `make bench` from the repo root.
#  1. Go benchmark of the in-memory parse+match path (allocations per chunk).
#  2. A generated 256 MiB single-container CRI file: `grep -cE 'ERROR|EXCEPTION'`
#     and kubepulse (rules ERROR|EXCEPTION and (?i)timed? ?out, from the
#     collector's Start until kubepulse_log_lag_bytes is 0), interleaved,
#     ROUNDS times; medians and the ratio of medians. Max RSS of kubepulse.
#  3. 1,000 containers appending at once while the tailer follows.
# Figures go to docs/benchmarks/logs.md by hand, with this command.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${ROUNDS:-5}
SIZE_MIB=${SIZE_MIB:-256}
CONTAINERS=${CONTAINERS:-1000}

command -v grep >/dev/null || { apt-get update -qq && apt-get install -y -qq grep; }
command -v awk >/dev/null || { apt-get update -qq && apt-get install -y -qq gawk; }
[ -x /usr/bin/time ] || { apt-get update -qq && apt-get install -y -qq time; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/logbench" ./collector/logs/internal/logbench
rules=testdata/logs/rules.yaml

echo "== go benchmark (in-memory parse + match of a 256 KiB chunk)"
go test -run '^$' -bench BenchmarkConsume -benchtime=200x -count=3 ./collector/logs/ | grep -E '^Benchmark'

echo "== ${SIZE_MIB} MiB single-container CRI file"
"$tmp/logbench" gen -dir "$tmp/pods" -bytes $((SIZE_MIB << 20)) -containers 1
file=$(find "$tmp/pods" -name 0.log)
cat "$file" >/dev/null # page cache warm for both
grep_s=(); kp_s=(); rss=(); grep_cpu=(); kp_cpu=()
for i in $(seq "$ROUNDS"); do
  s=$(date +%s.%N)
  n=$(LC_ALL=C /usr/bin/time -o "$tmp/gtime" -f '%U %S' grep -cE 'ERROR|EXCEPTION' "$file")
  e=$(date +%s.%N)
  grep_s+=("$(awk -v a="$s" -v b="$e" 'BEGIN{printf "%.3f", b-a}')")
  grep_cpu+=("$(awk '{printf "%.2f", $1+$2}' "$tmp/gtime")")
  out=$("$tmp/logbench" run -dir "$tmp/pods" -rules "$rules")
  kp=$(sed -E 's/^seconds=([0-9.]+) .*/\1/' <<<"$out")
  kp_cpu+=("$(sed -E 's/.*cpu_seconds=([0-9.]+) .*/\1/' <<<"$out")")
  kerr=$(sed -E 's/.* error=([0-9]+).*/\1/' <<<"$out")
  [ "$kerr" = "$n" ] || { echo "count mismatch: grep $n, kubepulse $kerr"; exit 1; }
  kp_s+=("$kp"); rss+=("$(sed -E 's/.*maxrss_mib=([0-9.]+).*/\1/' <<<"$out")")
  echo "round $i: grep ${grep_s[-1]}s (cpu ${grep_cpu[-1]}s, $n lines)  kubepulse ${kp}s  [$out]"
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END{print (NR%2)? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
mg=$(median "${grep_s[@]}"); mk=$(median "${kp_s[@]}"); mr=$(median "${rss[@]}")
mgc=$(median "${grep_cpu[@]}"); mkc=$(median "${kp_cpu[@]}")
awk -v g="$mg" -v k="$mk" -v r="$mr" -v m="$SIZE_MIB" -v gc="$mgc" -v kc="$mkc" 'BEGIN{
  printf "median wall: grep %.3fs (%.0f MiB/s)  kubepulse %.3fs (%.0f MiB/s)  kubepulse/grep throughput ratio %.2f\n", g, m/g, k, m/k, g/k
  printf "median cpu:  grep %.2fs  kubepulse %.2fs  ratio %.2f   max RSS %.1f MiB\n", gc, kc, gc/kc, r}'
rm -rf "$tmp/pods"

echo "== ${CONTAINERS} containers writing at once (100 lines/s each, 10 s)"
"$tmp/logbench" live -dir "$tmp/live" -rules "$rules" -containers "$CONTAINERS" -duration 10s -rate 100
