#!/usr/bin/env bash
# Runs every Go fuzz target in the module for FUZZTIME each (go test -fuzz
# takes one target per invocation). Crashers land in testdata/fuzz as usual.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-10s}
status=0
while IFS= read -r line; do
  file=${line%%:*}
  name=$(sed -E 's/^func (Fuzz[A-Za-z0-9_]*).*/\1/' <<<"${line#*:}")
  pkg=./$(dirname "$file")
  echo "fuzz: $pkg $name ($fuzztime)"
  if ! go test -run='^$' -fuzz="^${name}\$" -fuzztime="$fuzztime" "$pkg"; then
    status=1
  fi
done < <(git ls-files '*_test.go' | xargs grep -H '^func Fuzz' | sed -E 's/^([^:]+):(.*)$/\1:\2/')
exit $status
