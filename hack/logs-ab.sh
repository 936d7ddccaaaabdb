#!/usr/bin/env bash
# Before/after check of a change to the logs tailer (not part of `make bench`,
# which runs hack/bench/*.sh: this one needs a base revision). The method of
# hack/bench/logs.sh (whole process, page cache warm, count complete, counts
# must agree) with three programs per round: grep, logbench built from BASE (a git revision)
# and logbench built from the working tree. Their order rotates every round
# so that no program always runs first or last on a noisy machine. Medians
# of wall and CPU (user+sys) time; each build's throughput ratio to grep,
# and the change of that ratio from BASE to the working tree.
#   BASE=<rev> ROUNDS=9 SIZE_MIB=256 SHAPES="sparse dense" hack/logs-ab.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BASE=${BASE:?set BASE to the git revision to compare against}
ROUNDS=${ROUNDS:-9}
SIZE_MIB=${SIZE_MIB:-256}
SHAPES=${SHAPES:-sparse dense}

[ -x /usr/bin/time ] || { apt-get update -qq && apt-get install -y -qq time; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/base"
git archive "$BASE" | tar -x -C "$tmp/base"
(cd "$tmp/base" && go build -o "$tmp/old" ./collector/logs/internal/logbench)
go build -o "$tmp/new" ./collector/logs/internal/logbench
rules=testdata/logs/rules.yaml
echo "base $(git rev-parse --short "$BASE"), new: working tree at $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . || echo ' (modified)')"

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END{print (NR%2)? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.3f", b-a}'; }
cpu() { awk '{printf "%.2f", $1+$2}' "$tmp/time"; }

orders=("grep old new" "new grep old" "old new grep")
for shape in $SHAPES; do
  echo "== ${SIZE_MIB} MiB single-container CRI file, $shape"
  "$tmp/new" gen -dir "$tmp/$shape" -bytes $((SIZE_MIB << 20)) -containers 1 -shape "$shape"
  file=$(find "$tmp/$shape" -name 0.log)
  cat "$file" >/dev/null # page cache warm for all
  declare -A wall=() cpus=()
  for i in $(seq "$ROUNDS"); do
    line="round $i:"
    for who in ${orders[$(((i - 1) % 3))]}; do
      s=$(now)
      if [ "$who" = grep ]; then
        n=$(LC_ALL=C /usr/bin/time -o "$tmp/time" -f '%U %S' grep -cE 'ERROR|EXCEPTION' "$file")
      else
        out=$(/usr/bin/time -o "$tmp/time" -f '%U %S' "$tmp/$who" run -dir "$tmp/$shape" -rules "$rules")
        k=$(sed -E 's/.* error=([0-9]+).*/\1/' <<<"$out")
        [ "$k" = "${n:-$k}" ] || { echo "count mismatch: grep ${n:-?}, $who $k"; exit 1; }
        eval "count_$who=$k"
      fi
      w=$(since "$s")
      wall[$who]+="$w "; cpus[$who]+="$(cpu) "
      line+="  $who ${w}s (cpu $(cpu)s)"
    done
    # shellcheck disable=SC2154 # set by eval above
    [ "$count_old" = "$n" ] && [ "$count_new" = "$n" ] || { echo "count mismatch: grep $n, old $count_old, new $count_new"; exit 1; }
    echo "$line  [$n matching lines]"
  done
  # shellcheck disable=SC2086 # word splitting of the lists is intended
  {
    gw=$(median ${wall[grep]}); ow=$(median ${wall[old]}); nw=$(median ${wall[new]})
    gc=$(median ${cpus[grep]}); oc=$(median ${cpus[old]}); nc=$(median ${cpus[new]})
  }
  awk -v shape="$shape" -v m="$SIZE_MIB" -v gw="$gw" -v ow="$ow" -v nw="$nw" -v gc="$gc" -v oc="$oc" -v nc="$nc" -v r="$ROUNDS" 'BEGIN{
    printf "%s, median of %d rounds, wall: grep %.3fs  base %.3fs (%.0f MiB/s, %.2f of grep)  new %.3fs (%.0f MiB/s, %.2f of grep)  ratio change %+.1f%%\n",
      shape, r, gw, ow, m/ow, gw/ow, nw, m/nw, gw/nw, ((gw/nw)/(gw/ow)-1)*100
    printf "%s, median of %d rounds, cpu:  grep %.2fs  base %.2fs (%.2f of grep)  new %.2fs (%.2f of grep)  ratio change %+.1f%%\n",
      shape, r, gc, oc, gc/oc, nc, gc/nc, ((gc/nc)/(gc/oc)-1)*100 }'
  unset wall cpus
  rm -rf "${tmp:?}/$shape"
done
