#!/usr/bin/env bash
# Side-by-side maximum throughput of `kubepulse loadtest --rate 0` (closed
# loop), wrk, hey and vegeta against one local HTTP server on loopback, with
# the same connection count, several rounds in rotating order. Prints each
# round, then medians and the ratios of kubepulse to each peer measured in
# the same run. Figures go to docs/benchmarks/loadtest.md.
#
#   ROUNDS=5 DURATION=5s CONNS=50 bash hack/bench/loadtest.sh
#
# KUBEPULSE=/path/to/kubepulse skips building the binary.
#
# CPU is user+sys seconds of each client (from /usr/bin/time) and of the
# server during that client's run (from /proc): client and server share the
# machine's cores, so a client that burns less CPU leaves more to the server.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=${KUBEPULSE_BIN:-$root/.cache/bin}
out=${BENCH_OUT:-$root/.cache/bench}
ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-5s}
CONNS=${CONNS:-50}
PORT=${PORT:-18080}
mkdir -p "$bin" "$out"

need=()
command -v wrk >/dev/null || need+=(wrk)
command -v hey >/dev/null || need+=(hey)
[ -x /usr/bin/time ] || need+=(time)
if [ ${#need[@]} -gt 0 ]; then
  echo "bench: installing ${need[*]} from Debian"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

echo "bench: building kubepulse, vegeta and the target server"
kp=${KUBEPULSE:-}
if [ -z "$kp" ]; then # KUBEPULSE=/path/to/kubepulse benchmarks a given binary
  (cd "$root" && go build -trimpath -o "$bin/kubepulse" .)
  kp=$bin/kubepulse
fi
if [ ! -x "$bin/vegeta" ]; then
  (cd "$root/hack/tools/bench" && CGO_ENABLED=0 go build -trimpath -o "$bin/vegeta" github.com/tsenart/vegeta/v12)
fi
(cd "$root/hack/tools/bench" && go build -trimpath -o "$bin/bench-httpserver" ./httpserver)

url="http://127.0.0.1:$PORT/"
"$bin/bench-httpserver" -addr "127.0.0.1:$PORT" &
srv=$!
trap 'kill $srv 2>/dev/null || true' EXIT
sleep 0.5
if ! kill -0 "$srv" 2>/dev/null; then
  echo "bench: the target server did not start (port $PORT busy? set PORT=...)" >&2
  exit 1
fi

secs=${DURATION%s}
clk=$(getconf CLK_TCK)
srv_cpu() { awk -v t="$clk" '{printf "%.2f", ($14+$15)/t}' "/proc/$srv/stat"; }

# run TOOL: prints "rps client_cpu server_cpu"
run() {
  local tool=$1 log="$out/loadtest-$1.log" tm="$out/loadtest-$1.time" s0 s1 rps
  s0=$(srv_cpu)
  case $tool in
    kubepulse)
      /usr/bin/time -f "%U %S" -o "$tm" "$kp" loadtest --rate 0 --max-in-flight "$CONNS" --duration "$DURATION" \
        --progress none --summary-json "$out/loadtest-summary.json" "$url" >"$log" 2>&1
      rps=$(awk -F'[:,]' '/"throughput_rps"/ {gsub(/ /,"",$2); print $2}' "$out/loadtest-summary.json") ;;
    wrk)
      /usr/bin/time -f "%U %S" -o "$tm" wrk -t2 -c"$CONNS" -d"$DURATION" "$url" >"$log" 2>&1
      rps=$(awk '/^Requests\/sec:/ {print $2}' "$log") ;;
    hey)
      /usr/bin/time -f "%U %S" -o "$tm" hey -z "$DURATION" -c "$CONNS" "$url" >"$log" 2>&1
      rps=$(awk '/Requests\/sec:/ {print $2}' "$log") ;;
    vegeta)
      echo "GET $url" | /usr/bin/time -f "%U %S" -o "$tm" "$bin/vegeta" attack -rate=0 -workers="$CONNS" -max-workers="$CONNS" \
        -duration="$DURATION" -keepalive=true >"$out/vegeta.bin" 2>"$log"
      rps=$("$bin/vegeta" report -type=json <"$out/vegeta.bin" | sed -n 's/.*"throughput":\([0-9.]*\).*/\1/p') ;;
  esac
  s1=$(srv_cpu)
  echo "$rps $(awk '{printf "%.2f", $1+$2}' "$tm") $(awk -v a="$s0" -v b="$s1" 'BEGIN{printf "%.2f", b-a}')"
}

tools=(kubepulse wrk hey vegeta)
echo "bench: $ROUNDS rounds of $DURATION, $CONNS connections, against $url on $(nproc) cores"
printf "%-6s %-10s %12s %12s %12s\n" round tool req/s client-cpu-s server-cpu-s
for r in $(seq "$ROUNDS"); do
  for i in "${!tools[@]}"; do
    t=${tools[$(( (i + r) % ${#tools[@]} ))]}
    read -r rps ccpu scpu < <(run "$t")
    printf "%-6s %-10s %12.0f %12s %12s\n" "$r" "$t" "$rps" "$ccpu" "$scpu"
    echo "$r $t $rps $ccpu $scpu" >>"$out/loadtest-results.$$"
  done
done

median() { sort -g | awk '{a[NR]=$1} END{ if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2 }'; }
echo
echo "medians over $ROUNDS rounds (req/s, client CPU s, server CPU s; CPU per 1000 requests in ms):"
for t in "${tools[@]}"; do
  m=$(awk -v t="$t" '$2==t {print $3}' "$out/loadtest-results.$$" | median)
  c=$(awk -v t="$t" '$2==t {print $4}' "$out/loadtest-results.$$" | median)
  s=$(awk -v t="$t" '$2==t {print $5}' "$out/loadtest-results.$$" | median)
  per=$(awk -v c="$c" -v m="$m" -v d="$secs" 'BEGIN{printf "%.3f", c*1000000/(m*d)}')
  printf "  %-10s %10.0f req/s  client %6s s  server %6s s  client %s ms/1000 req\n" "$t" "$m" "$c" "$s" "$per"
done
echo
echo "ratios of kubepulse to each peer, per round, then the median:"
for p in wrk hey vegeta; do
  ratios=$(awk -v p="$p" '$2=="kubepulse" {k[$1]=$3} $2==p {q[$1]=$3} END {for (r in k) if (q[r] > 0) printf "%.2f\n", k[r]/q[r]}' "$out/loadtest-results.$$" | sort -g)
  printf "  kubepulse/%-7s median %s  (rounds: %s)\n" "$p" "$(echo "$ratios" | median)" "$(echo $ratios)"
done

# Open model near capacity: half of kubepulse's median closed-loop maximum,
# to show the planned rate is held (achieved vs planned, drops, p99).
half=$(awk -v t=kubepulse '$2==t {print $3}' "$out/loadtest-results.$$" | median | awk '{printf "%d", $1/2}')
rm -f "$out/loadtest-results.$$"
echo
# Workers beyond the connection count absorb the target server's hiccups
# (on a shared machine), which would otherwise show as drops.
open_inflight=$((CONNS * 4))
echo "open model at half that maximum: --rate $half --duration $DURATION --max-in-flight $open_inflight"
"$kp" loadtest --rate "$half" --max-in-flight "$open_inflight" --duration "$DURATION" --progress none \
  --summary-json "$out/loadtest-open.json" "$url" >"$out/loadtest-open.log" 2>&1
awk -F'[:,]' '/"planned_requests"|"completed_requests"|"dropped"|"throughput_rps"|"p50"|"p99"|"max"/ {gsub(/[ "]/,"",$1); gsub(/ /,"",$2); printf "  %s=%s", $1, $2} END {print ""}' "$out/loadtest-open.json"
