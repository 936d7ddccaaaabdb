#!/usr/bin/env bash
# Proves the tests need nothing outside this repository: no tracked file may
# point at the team's ../shared folder, and the tests that read third-party
# samples pass from a copy of the tracked files placed alone in a temp dir.
set -euo pipefail
cd "$(dirname "$0")/.."
if git grep -n -E '\.\./shared|"\.\.", *"shared"' -- '*.go' '*.sh' 'Makefile' '.ci/*' ':!hack/selfcontained.sh'; then
	echo "selfcontained: the lines above read outside the repository; use testdata/realworld" >&2
	exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
git ls-files -z | tar --null -T - -cf - | tar -xf - -C "$tmp"
(cd "$tmp" && go test -count=1 -run 'RealWorld|Realworld|TestParseFiles|FuzzK6Line|TestRepoRoot' \
	./internal/testutil ./loadtest/parse ./collector/cluster ./collector/loadtest ./collector/logs ./collector/usage/kubelettext)
echo "selfcontained: tests pass from a lone copy in $tmp"
