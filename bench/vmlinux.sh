#!/usr/bin/env bash
# Times this project against crash and drgn on the same vmlinux and dump, in
# the same run, and prints the ratios issue 5 asks for:
#   (a) from nothing to address -> symbol,
#   (b) from nothing to sizeof(struct task_struct) and offsetof(comm),
#   (c) from nothing to the state in which a REPL shows its first prompt,
# each with peak RSS (GNU time's maximum resident set size).
#
# usage: bench/vmlinux.sh [VMLINUX DUMP]   (default: the lab's 6.1 pair)
# env:   RUNS (default 3; the median is shown), VMCORE_LAB_DIR.
# Needs: GNU time (/usr/bin/time), Debian's python3-drgn (0.0.22), trixie's
# crash 8.0.6 from the lab (testdata/lab/build.sh), Go.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
bench_pair "$@" # VMLINUX, DUMP, RUNS, $tmp
go build -o "$tmp/vmlinuxprobe" ./bench/vmlinuxprobe

# The address: 0x123456 past the running kernel's _stext (from VMCOREINFO,
# which every dump format keeps uncompressed).
stext=$(grep -a -m1 -o 'SYMBOL(_stext)=[0-9a-f]*' "$DUMP" | cut -d= -f2)
ADDR=$(printf '%x' $((0x$stext + 0x123456)))

cat >"$tmp/sym.py" <<PY
print(prog.symbol(0x$ADDR))
PY
cat >"$tmp/sizeof.py" <<PY
from drgn import sizeof, offsetof
t = prog.type("struct task_struct")
print(sizeof(t), offsetof(t, "comm"))
PY
: >"$tmp/prompt.py"
printf 'sym %s\nexit\n' "$ADDR" >"$tmp/sym.crash"
printf 'struct task_struct -o\nexit\n' >"$tmp/sizeof.crash"
printf 'exit\n' >"$tmp/prompt.crash"

# measure NAME CMD...: runs CMD RUNS times, records "seconds kilobytes" of
# the median run (by time), keeps the last output for the answer check.
measure() {
	local name=$1; shift
	local i
	: >"$tmp/$name.runs"
	for ((i = 0; i < RUNS; i++)); do
		/usr/bin/time -f '%e %M' -o "$tmp/$name.time" "$@" >"$tmp/$name.out" 2>&1 </dev/null || {
			echo "$name failed:" >&2; tail -5 "$tmp/$name.out" >&2; exit 1; }
		cat "$tmp/$name.time" >>"$tmp/$name.runs"
	done
	sort -n "$tmp/$name.runs" | sed -n "$(((RUNS + 1) / 2))p" >"$tmp/$name.median"
}

for state in sym sizeof prompt; do
	case $state in
	sym) ours=("$tmp/vmlinuxprobe" sym "$VMLINUX" "$ADDR" "$DUMP") ;;
	sizeof) ours=("$tmp/vmlinuxprobe" sizeof "$VMLINUX" "$DUMP") ;;
	prompt) ours=("$tmp/vmlinuxprobe" prompt "$VMLINUX" "$DUMP") ;;
	esac
	measure "ours-$state" "${ours[@]}"
	measure "crash-$state" "${crash_cmd[@]}" -s -i "$tmp/$state.crash" "$VMLINUX" "$DUMP"
	measure "drgn-$state" drgn -q --no-default-symbols -s "$VMLINUX" -c "$DUMP" "$tmp/$state.py"
done

echo "vmlinux: $VMLINUX"
echo "dump:    $DUMP"
echo "runs:    $RUNS (median shown); machine: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "answers:"
echo "  (a) ours:  $(head -1 "$tmp/ours-sym.out")"
echo "      crash: $(grep -m1 -i "$ADDR" "$tmp/crash-sym.out" || true)"
echo "      drgn:  $(head -1 "$tmp/drgn-sym.out")"
echo "  (b) ours:  $(head -1 "$tmp/ours-sizeof.out")"
echo "      crash: $(grep -E 'char comm\[|^SIZE' "$tmp/crash-sizeof.out" | tr '\n' ' ')"
echo "      drgn:  $(head -1 "$tmp/drgn-sizeof.out")"
echo
printf '%-26s %9s %9s %9s %10s %10s %10s %8s %8s %8s\n' state ours_s crash_s drgn_s ours_MB crash_MB drgn_MB crash/us drgn/us RSSus/drgn
for state in sym sizeof prompt; do
	read -r os om <"$tmp/ours-$state.median"
	read -r cs cm <"$tmp/crash-$state.median"
	read -r ds dm <"$tmp/drgn-$state.median"
	case $state in
	sym) label="(a) address -> symbol" ;;
	sizeof) label="(b) sizeof/offsetof" ;;
	prompt) label="(c) first prompt" ;;
	esac
	awk -v l="$label" -v os="$os" -v cs="$cs" -v ds="$ds" -v om="$om" -v cm="$cm" -v dm="$dm" 'BEGIN {
		if (os < 0.01) os = 0.01
		printf "%-26s %9.2f %9.2f %9.2f %10.1f %10.1f %10.1f %7.1fx %7.1fx %8.2f\n", l, os, cs, ds, om/1024, cm/1024, dm/1024, cs/os, ds/os, om/dm }'
done
echo
echo "goal: (c) crash/us >= 5, drgn/us >= 2, RSSus/drgn <= 0.5"
