#!/usr/bin/env bash
# Times kmem -i, kmem -s, kmem -v, kmem -S of the busiest cache and a search -p of all physical memory in
# this project and in crash 8.0.6 on the same vmlinux and dump, in the same
# run, from nothing (start-up included), and prints the ratio crash/vmcore
# (issue 12 asks for >= 5x). Then searchprobe gives, in one process, the
# rate of reading every page of the dump and of searching them (issue 12:
# search within 2x of reading the same pages).
#
# usage: bench/kmem.sh [VMLINUX DUMP]   (default: the lab's 6.1 zlib kdump
#        of dump level 0, 1 GiB of memory)
# env:   RUNS (default 3; the median is shown), VMCORE_LAB_DIR.
# Needs: GNU time (/usr/bin/time), trixie's crash 8.0.6 from the lab, Go.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
bench_pair "${1:-$LAB/kernel/6.1/vmlinux}" "${2:-$LAB/dumps/k61-kdump/conv/kdump-zlib-d0}"
go build -o "$tmp/vmcore" ./cmd/vmcore
go build -o "$tmp/searchprobe" ./bench/searchprobe

cat "$VMLINUX" "$DUMP" >/dev/null # warm the page cache for both
# The cache with the most objects allocated: kmem -S of it lists them all.
busiest=$("$tmp/vmcore" -s -c 'kmem -s' "$VMLINUX" "$DUMP" | sort -k3 -n | tail -1 | awk '{print $NF}')
echo "vmlinux: $VMLINUX"
echo "dump:    $DUMP ($RUNS runs, median wall-clock seconds, start-up included)"
printf '%-28s %10s %10s %8s\n' command crash vmcore ratio
# A value no page holds, so that both print nothing and time the walk.
for cmd in "kmem -i" "kmem -s" "kmem -v" "kmem -S $busiest" "search -p 5a17ab1e0ddba11"; do
	printf '%s\nquit\n' "$cmd" >"$tmp/cmds"
	tc=$(median "${crash_cmd[@]}" -s -i "$tmp/cmds" "$VMLINUX" "$DUMP")
	tv=$(median "$tmp/vmcore" -s -c "$cmd" "$VMLINUX" "$DUMP")
	printf '%-28s %10s %10s %8s\n' "$cmd" "$tc" "$tv" "$(echo "scale=1; $tc / $tv" | bc)"
done
echo
echo "searchprobe (one process, after start-up):"
"$tmp/searchprobe" "$VMLINUX" "$DUMP"
