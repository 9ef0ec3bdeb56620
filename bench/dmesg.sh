#!/usr/bin/env bash
# Benchmark: the kernel log from a dump, this project against the peers, on
# the same files in the same run. Prints a table of CPU time (user+sys) per
# run and the ratio peer/ours (>1: we are faster). CPU time, not wall time,
# because the machines are shared and noisy; runs are interleaved so that a
# burst of load hits every tool alike.
#
#   bash bench/dmesg.sh [RUNS]        (needs the lab: bash testdata/lab/build.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-40}
source bench/lib.sh
[[ -f $LAB/manifest.tsv ]] || { echo "no lab at $LAB: run bash testdata/lab/build.sh" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bin=$tmp/vmcore
go build -o "$bin" ./cmd/vmcore

# cpu_ms N CMD...: user+sys milliseconds of N runs of CMD (output
# discarded). GNU time counts in 10 ms steps, so it times a batch.
cpu_ms() {
	local n=$1
	shift
	/usr/bin/time -o "$tmp/time" -f '%U %S' bash -c \
		'n=$1; out=$2; shift 2; for ((i = 0; i < n; i++)); do rm -f "$out"; "$@" >/dev/null 2>&1; done' \
		_ "$n" "$tmp/out" "$@"
	awk '{ printf "%.1f", ($1 + $2) * 1000 }' "$tmp/time"
}

printf '%-26s %-22s %10s %10s %8s\n' dump peer "peer ms" "ours ms" ratio
while IFS=$'\t' read -r name format _ _ kernel files _; do
	[[ $name == name || $name != k61-* ]] && continue
	IFS=, read -r -a f <<<"$files"
	paths=("${f[@]/#/$LAB/}")
	peers=(makedumpfile)
	[[ $format == elf ]] && peers+=(vmcore-dmesg)
	# makedumpfile 1.7.6 is a function (trixie's loader); export it for bash -c.
	export -f mdf
	export TRIXIE
	for peer in "${peers[@]}"; do
		case $peer in
		makedumpfile) [[ ${#paths[@]} -gt 1 ]] && continue
			pcmd=(bash -c 'mdf "$@"' _ --dump-dmesg "${paths[0]}" "$tmp/out") ;;
		vmcore-dmesg) pcmd=(vmcore-dmesg "${paths[0]}") ;;
		esac
		rm -f "$tmp/out"
		"${pcmd[@]}" >/dev/null 2>&1 || { printf '%-26s %-22s %s\n' "$name" "$peer" "fails on this dump"; continue; }
		ours=0 theirs=0
		for ((i = 0; i < 4; i++)); do # four interleaved batches
			theirs=$(awk -v a="$theirs" -v b="$(cpu_ms $((runs / 4)) "${pcmd[@]}")" 'BEGIN{print a+b}')
			ours=$(awk -v a="$ours" -v b="$(cpu_ms $((runs / 4)) "$bin" dmesg "${paths[@]}")" 'BEGIN{print a+b}')
		done
		runs=$((runs / 4 * 4))
		awk -v n="$name" -v p="$peer" -v t="$theirs" -v o="$ours" -v r="$runs" \
			'BEGIN { printf "%-26s %-22s %10.1f %10.1f %8.2f\n", n, p, t/r, o/r, (o > 0 ? t/o : 0) }'
	done
done <"$LAB/manifest.tsv"

# Fleets pull dmesg out of many dumps: one vmcore call for all of them
# against one makedumpfile call per dump.
all=()
while IFS=$'\t' read -r name format _ _ _ files _; do
	[[ $name == name || $name != k61-* || $format == kdump-split || $files == *,* ]] && continue
	all+=("$LAB/$files")
done <"$LAB/manifest.tsv"
ok=()
for p in "${all[@]}"; do
	rm -f "$tmp/out"
	mdf --dump-dmesg "$p" "$tmp/out" >/dev/null 2>&1 && ok+=("$p")
done
if ((${#ok[@]} > 0)); then
	/usr/bin/time -o "$tmp/time" -f '%U %S' bash -c \
		'out=$1; shift; for ((r = 0; r < 5; r++)); do for p; do rm -f "$out"; mdf --dump-dmesg "$p" "$out" >/dev/null 2>&1; done; done' _ "$tmp/out" "${ok[@]}"
	theirs=$(awk '{ print ($1 + $2) * 1000 / 5 }' "$tmp/time")
	/usr/bin/time -o "$tmp/time" -f '%U %S' bash -c \
		'bin=$1; shift; for ((r = 0; r < 5; r++)); do "$bin" dmesg "$@" >/dev/null 2>&1 || true; done' _ "$bin" "${ok[@]}"
	ours=$(awk '{ print ($1 + $2) * 1000 / 5 }' "$tmp/time")
	awk -v n="${#ok[@]} dumps in one call" -v t="$theirs" -v o="$ours" \
		'BEGIN { printf "%-26s %-22s %10.1f %10.1f %8.2f\n", n, "makedumpfile (each)", t, o, (o > 0 ? t/o : 0) }'
fi
