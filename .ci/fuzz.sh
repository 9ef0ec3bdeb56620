#!/usr/bin/env bash
# Runs every fuzz target of the module for SECONDS each (default 120), one
# at a time with one worker, and prints a line per target: its package and
# name, the verdict, the executions and the new corpus entries. A new input
# is minimized for at most 5 s, so that the time goes to new inputs (with
# Go's default of 60 s a target whose inputs are tens of KB spends its
# whole run minimizing, at a few executions in two minutes). Failing
# inputs stay in the package's testdata/fuzz/ for `go test` to replay.
# Not part of test.sh (a full run takes over an hour); run it before a
# release and after a parser changes.
#
#   bash .ci/fuzz.sh [SECONDS] [PATTERN]   (PATTERN filters "pkg Target" lines)
set -uo pipefail
cd "$(dirname "$0")/.."
secs=${1:-120}
pat=${2:-.}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
fail=0
while read -r pkg target; do
	t0=$SECONDS
	if go test "$pkg" -run '^$' -fuzz "^$target\$" -fuzztime "${secs}s" -fuzzminimizetime 5s -parallel 1 >"$log" 2>&1; then
		verdict=ok
	else
		verdict=FAIL
		fail=1
	fi
	execs=$(grep -o 'execs: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
	newi=$(grep -o 'new interesting: [0-9]*' "$log" | tail -1 | cut -d' ' -f3)
	printf '%-28s %-18s %-4s %5ss %10s execs %5s new\n' "$pkg" "$target" "$verdict" "$((SECONDS - t0))" "${execs:-?}" "${newi:-?}"
	[[ $verdict == ok ]] || sed 's/^/    /' "$log" | tail -20
done < <(grep -rn --include='*_test.go' '^func Fuzz' . |
	sed -E 's|^(.*)/[^/]*_test\.go:[0-9]+:func (Fuzz[A-Za-z0-9_]*)\(.*|\1 \2|' | sort -u | grep -E -- "$pat")
exit $fail
