#!/usr/bin/env bash
# Times the prompt without the debuginfo vmlinux (the kernel's own BTF,
# kallsyms and ORC from the dump) against the same with the vmlinux and
# against crash 8.0.6 (which needs the vmlinux), in one run on the same
# files, start-up included: the first prompt (a terminal session that
# prints the banner and quits), ps, and foreach bt. Prints the median
# wall-clock seconds, the peak RSS, and the ratios. Issue 13 asks for the
# first prompt from the dump alone in under 0.3 s and 60 MiB on 6.12.
#
# usage: bench/nodebug.sh [VMLINUX DUMP]   (default: the lab's 6.12 ELF kdump)
# env:   RUNS (default 3), VMCORE_LAB_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
bench_pair "${1:-$LAB/kernel/6.12/vmlinux}" "${2:-$LAB/dumps/k612-kdump/vmcore}"
go build -o "$tmp/vmcore" ./cmd/vmcore
cat "$VMLINUX" "$DUMP" >/dev/null # warm the page cache for every tool

# measure CMD...: "SECONDS KIB" (median seconds, peak RSS of that run).
measure() {
	local rows=()
	for ((i = 0; i < RUNS; i++)); do
		/usr/bin/time -f '%e %M' -o "$tmp/t" "$@" >"$tmp/out" 2>/dev/null </dev/null || true
		rows+=("$(tail -1 "$tmp/t")")
	done
	printf '%s\n' "${rows[@]}" | sort -n | sed -n "$(((RUNS + 1) / 2))p"
}
# prompt ARGS...: the command line of vmcore at a terminal (script(1)
# gives it one), which opens the dump, prints the banner and the first
# prompt, then reads quit. The peak RSS is vmcore's (script waits for it).
printf 'quit\n' >"$tmp/quit"
prompt() { printf '%s\0' bash -c "script -qec '$tmp/vmcore $*' /dev/null < $tmp/quit"; }
printf 'quit\n' >"$tmp/crash-quit"
printf 'ps\nquit\n' >"$tmp/crash-ps"
printf 'foreach bt\nquit\n' >"$tmp/crash-fbt"

echo "vmlinux: $VMLINUX"
echo "dump:    $DUMP ($RUNS runs, median seconds and that run's peak RSS, start-up included)"
printf '%-13s %18s %18s %18s %8s %8s\n' command "no vmlinux" "with vmlinux" crash "crash/no" "with/no"
row() { # NAME, then three "SECONDS KIB"
	local name=$1 a=($2) b=($3) c=($4)
	printf '%-13s %9ss %5dMiB %9ss %5dMiB %9ss %5dMiB %7sx %7sx\n' "$name" \
		"${a[0]}" $((a[1] / 1024)) "${b[0]}" $((b[1] / 1024)) "${c[0]}" $((c[1] / 1024)) \
		"$(echo "scale=1; ${c[0]} / ${a[0]}" | bc)" "$(echo "scale=1; ${b[0]} / ${a[0]}" | bc)"
}
mapfile -d '' p0 < <(prompt "$DUMP")
mapfile -d '' p1 < <(prompt "$VMLINUX" "$DUMP")
first=$(measure "${p0[@]}")
grep -q "types from the kernel's BTF" "$tmp/out" || { echo "the session without the vmlinux printed no banner:" >&2; cat "$tmp/out" >&2; exit 1; }
row "first prompt" "$first" "$(measure "${p1[@]}")" \
	"$(measure "${crash_cmd[@]}" -s -i "$tmp/crash-quit" "$VMLINUX" "$DUMP")"
row ps "$(measure "$tmp/vmcore" ps "$DUMP")" "$(measure "$tmp/vmcore" ps "$VMLINUX" "$DUMP")" \
	"$(measure "${crash_cmd[@]}" -s -i "$tmp/crash-ps" "$VMLINUX" "$DUMP")"
row "foreach bt" "$(measure "$tmp/vmcore" bt "$DUMP" -A)" "$(measure "$tmp/vmcore" bt "$VMLINUX" "$DUMP" -A)" \
	"$(measure "${crash_cmd[@]}" -s -i "$tmp/crash-fbt" "$VMLINUX" "$DUMP")"
