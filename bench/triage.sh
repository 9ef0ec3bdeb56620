#!/usr/bin/env bash
# Benchmark: triage of many dumps, this project against crash run with a
# fixed command script per dump (what hotkdump and retrace-server do), on
# the same files in the same run. The dumps are one makedumpfile -z -d 31
# conversion of each lab crash that crash reads (5.10, 6.1, 6.12; every
# kind the lab makes), as a fleet collects them. Prints dumps per minute
# (wall clock), CPU seconds and peak memory for crash, `vmcore triage -j 1`
# and `-j 2` (each dump's vmlinux found by build ID in the unpacked -dbg
# packages, as a fleet's analysis host would keep them), and the ratios.
#
#   bash bench/triage.sh            (needs the lab: bash testdata/lab/build.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
[[ -f $LAB/manifest.tsv ]] || { echo "no lab at $LAB: run bash testdata/lab/build.sh" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bin=$tmp/vmcore
CGO_ENABLED=0 go build -o "$bin" ./cmd/vmcore

# The crash script: what a triage needs from crash.
printf '%s\n' sys bt "bt -a" "foreach UN bt" mod "kmem -i" "log" exit >"$tmp/script"

dumps=() vmlinuxes=() dirs=()
while IFS=$'\t' read -r name _ _ _ kernel files vmlinux _; do
	[[ $name == *-kdump-zstd-d31 && $name != *mdf178* && $kernel != sid ]] || continue
	dumps+=("$LAB/$files")
	vmlinuxes+=("$LAB/$vmlinux")
done < <(tail -n +2 "$LAB/manifest.tsv")
for k in "$LAB"/kernel/*/dbg; do dirs+=(-debug-dir "$k"); done
n=${#dumps[@]}
((n > 0)) || { echo "no kdump-zstd-d31 dumps in the lab" >&2; exit 1; }

# measure LABEL CMD...: wall seconds, CPU seconds, peak RSS (KiB) of CMD.
measure() {
	local label=$1; shift
	/usr/bin/time -o "$tmp/time" -f '%e %U %S %M' "$@" >"$tmp/out.$label" 2>"$tmp/err.$label" || true
	read -r wall user sys rss <"$tmp/time"
	printf '%s %s %s %s\n' "$label" "$wall" "$(awk -v u="$user" -v s="$sys" 'BEGIN{print u+s}')" "$rss" >>"$tmp/results"
}
: >"$tmp/results"
# Interleaved: ours, crash, ours again (the page cache is warm for all).
measure warm "$bin" triage -json "${dirs[@]}" "${dumps[@]}"
measure vmcore-j1 "$bin" triage -json "${dirs[@]}" "${dumps[@]}"
# crash's peak memory is per process: time each and keep the largest.
t0=$(date +%s.%N)
cpu=0 peak=0
for ((i = 0; i < n; i++)); do
	/usr/bin/time -o "$tmp/time" -f '%U %S %M' "${crash_cmd[@]}" -s "${vmlinuxes[i]}" "${dumps[i]}" <"$tmp/script" >"$tmp/crash.$i" 2>&1 || true
	read -r u s m <"$tmp/time"
	cpu=$(awk -v a="$cpu" -v u="$u" -v s="$s" 'BEGIN{print a+u+s}')
	((m > peak)) && peak=$m
done
t1=$(date +%s.%N)
printf 'crash %s %s %s\n' "$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}')" "$cpu" "$peak" >>"$tmp/results"
measure vmcore-j2 "$bin" triage -json -j 2 "${dirs[@]}" "${dumps[@]}"

ok=$(grep -c '"schema":"vmcore.triage/1"' "$tmp/out.vmcore-j1" || true)
echo "$n dumps (kdump -z -d 31 of each lab crash crash reads); vmcore analysed $ok; crash script: $(tr '\n' ';' <"$tmp/script")"
printf '%-12s %10s %12s %10s %12s %14s\n' tool "wall s" "dumps/min" "CPU s" "peak MiB" "crash/this"
read -r _ cw _ _ < <(grep '^crash ' "$tmp/results")
grep -v '^warm ' "$tmp/results" | while read -r label wall cpus rss; do
	printf '%-12s %10.2f %12.1f %10.2f %12.1f %14s\n' "$label" "$wall" "$(awk -v n="$n" -v w="$wall" 'BEGIN{print n*60/w}')" \
		"$cpus" "$(awk -v r="$rss" 'BEGIN{print r/1024}')" "$(awk -v c="$cw" -v w="$wall" 'BEGIN{printf "%.1fx", c/w}')"
done
