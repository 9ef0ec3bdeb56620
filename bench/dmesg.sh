#!/usr/bin/env bash
# Benchmark: the kernel log from a dump, this project against the peers, on
# the same files in the same run. Prints a table of CPU time (user+sys) per
# run and the ratio peer/ours (>1: we are faster). CPU time, not wall time,
# because the machines are shared and noisy; runs are interleaved so that a
# burst of load hits every tool alike. Two "(process start)" rows time C's
# /bin/true and a Go hello-world in the same harness: one process per dump
# costs every Go program at least the latter, so read the per-dump ratios
# against it; the last row is the fleet case, many dumps in one call.
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
CGO_ENABLED=0 go build -o "$bin" ./cmd/vmcore # static, as the README builds it

# Go's process start is a floor under every run of ours: a Go "hello,
# world" built here, beside C's /bin/true, shows what any tool pays.
mkdir -p "$tmp/hello"
printf 'package main\n\nimport "os"\n\nfunc main() { os.Stdout.WriteString("hi\\n") }\n' >"$tmp/hello/main.go"
printf 'module hello\n\ngo 1.21\n' >"$tmp/hello/go.mod"
(cd "$tmp/hello" && CGO_ENABLED=0 go build -o "$tmp/hello-go" .)

# cpu_ms N CMD...: user+sys milliseconds of N runs of CMD (output
# discarded). GNU time counts in 10 ms steps, so it times a batch. CMD runs
# as it is, with no wrapper or clean-up process in the loop (makedumpfile
# gets -f to overwrite its output), so only the tool's own cost is counted.
cpu_ms() {
	local n=$1
	shift
	/usr/bin/time -o "$tmp/time" -f '%U %S' bash -c \
		'n=$1; shift; for ((i = 0; i < n; i++)); do "$@" >/dev/null 2>&1; done' _ "$n" "$@"
	awk '{ printf "%.1f", ($1 + $2) * 1000 }' "$tmp/time"
}

# makedumpfile 1.7.6 through trixie's loader, as an argv (no shell function).
mdf_argv=("$TRIXIE/usr/lib64/ld-linux-x86-64.so.2" --library-path "$TRIXIE/usr/lib/x86_64-linux-gnu" "$TRIXIE/usr/bin/makedumpfile")

printf '%-26s %-22s %10s %10s %8s\n' dump peer "peer ms" "ours ms" ratio
while IFS=$'\t' read -r name format _ _ kernel files _; do
	[[ $name == name || $name != k61-* ]] && continue
	IFS=, read -r -a f <<<"$files"
	paths=("${f[@]/#/$LAB/}")
	peers=(makedumpfile)
	[[ $format == elf ]] && peers+=(vmcore-dmesg)
	for peer in "${peers[@]}"; do
		case $peer in
		makedumpfile) [[ ${#paths[@]} -gt 1 ]] && continue
			pcmd=("${mdf_argv[@]}" -f --dump-dmesg "${paths[0]}" "$tmp/out") ;;
		vmcore-dmesg) pcmd=(vmcore-dmesg "${paths[0]}") ;;
		esac
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

# The floor: what starting a process costs, against the same peer figure.
for floor in /bin/true "$tmp/hello-go"; do
	t=0
	for ((i = 0; i < 4; i++)); do
		t=$(awk -v a="$t" -v b="$(cpu_ms $((runs / 4)) "$floor")" 'BEGIN{print a+b}')
	done
	awk -v n="(process start)" -v p="${floor##*/} (C or Go)" -v t="$t" -v r="$runs" \
		'BEGIN { printf "%-26s %-22s %10.1f %10s %8s\n", n, p, t/r, "-", "-" }'
done

# Fleets pull dmesg out of many dumps: one vmcore call for all of them
# against one makedumpfile call per dump.
all=()
while IFS=$'\t' read -r name format _ _ _ files _; do
	[[ $name == name || $name != k61-* || $format == kdump-split || $files == *,* ]] && continue
	all+=("$LAB/$files")
done <"$LAB/manifest.tsv"
ok=()
for p in "${all[@]}"; do
	"${mdf_argv[@]}" -f --dump-dmesg "$p" "$tmp/out" >/dev/null 2>&1 && ok+=("$p")
done
if ((${#ok[@]} > 0)); then
	/usr/bin/time -o "$tmp/time" -f '%U %S' bash -c \
		'out=$1; shift; n=$1; shift; m=("${@:1:n}"); shift "$n"; for ((r = 0; r < 5; r++)); do for p; do "${m[@]}" -f --dump-dmesg "$p" "$out" >/dev/null 2>&1; done; done' \
		_ "$tmp/out" "${#mdf_argv[@]}" "${mdf_argv[@]}" "${ok[@]}"
	theirs=$(awk '{ print ($1 + $2) * 1000 / 5 }' "$tmp/time")
	/usr/bin/time -o "$tmp/time" -f '%U %S' bash -c \
		'bin=$1; shift; for ((r = 0; r < 5; r++)); do "$bin" dmesg "$@" >/dev/null 2>&1 || true; done' _ "$bin" "${ok[@]}"
	ours=$(awk '{ print ($1 + $2) * 1000 / 5 }' "$tmp/time")
	awk -v n="${#ok[@]} dumps in one call" -v t="$theirs" -v o="$ours" \
		'BEGIN { printf "%-26s %-22s %10.1f %10.1f %8.2f\n", n, "makedumpfile (each)", t, o, (o > 0 ? t/o : 0) }'
fi
