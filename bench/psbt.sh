#!/usr/bin/env bash
# Times `ps` and `foreach bt` in this project and in crash 8.0.6 on the same
# vmlinux and dump, in the same run, from nothing (start-up included), and
# prints the ratio crash/vmcore (issue 6 asks for >= 5x).
#
# usage: bench/psbt.sh [VMLINUX DUMP]   (default: the lab's 6.1 zlib kdump)
# env:   RUNS (default 3; the median is shown), VMCORE_LAB_DIR.
# Needs: GNU time (/usr/bin/time), trixie's crash 8.0.6 from the lab, Go.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
bench_pair "$@" # VMLINUX, DUMP, RUNS, $tmp
go build -o "$tmp/vmcore" ./cmd/vmcore

printf 'ps\nquit\n' >"$tmp/crash-ps"
printf 'foreach bt\nquit\n' >"$tmp/crash-fbt"
# warm the page cache for both
cat "$VMLINUX" "$DUMP" >/dev/null

echo "vmlinux: $VMLINUX"
echo "dump:    $DUMP ($RUNS runs, median wall-clock seconds, start-up included)"
printf '%-12s %10s %10s %8s\n' command crash vmcore ratio
for c in ps fbt; do
	if [[ $c == ps ]]; then
		ours=(ps "$VMLINUX" "$DUMP")
		name=ps
	else
		ours=(bt "$VMLINUX" "$DUMP" -A)
		name="foreach bt"
	fi
	tc=$(median "${crash_cmd[@]}" -s -i "$tmp/crash-$c" "$VMLINUX" "$DUMP")
	tv=$(median "$tmp/vmcore" "${ours[@]}")
	printf '%-12s %10s %10s %8s\n' "$name" "$tc" "$tv" "$(echo "scale=1; $tc / $tv" | bc)"
done
