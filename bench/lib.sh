# Shared by the bench scripts (sourced): where the lab is, and how to run
# the trixie tools it unpacked (crash 8.0.6, makedumpfile 1.7.6) through
# trixie's own loader, as testdata/lab/lib.sh does.
LAB=${VMCORE_LAB:-${VMCORE_LAB_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/vmcore-lab}}
TRIXIE=$LAB/trixie/root
trixie_cmd() { # BIN: the argv prefix that runs a trixie binary
	printf '%s\0' "$TRIXIE/usr/lib64/ld-linux-x86-64.so.2" --library-path "$TRIXIE/usr/lib/x86_64-linux-gnu" "$TRIXIE$1"
}
mapfile -d '' crash_cmd < <(trixie_cmd /usr/bin/crash)
mdf() { "$TRIXIE/usr/lib64/ld-linux-x86-64.so.2" --library-path "$TRIXIE/usr/lib/x86_64-linux-gnu" "$TRIXIE/usr/bin/makedumpfile" "$@"; }

# bench_pair [VMLINUX DUMP]: the vmlinux and dump a peer comparison runs on
# (default: the lab's 6.1 zlib kdump), RUNS (default 3), and a scratch
# directory $tmp removed on exit. Exits when a tool or file is missing.
bench_pair() {
	VMLINUX=${1:-$LAB/kernel/6.1/vmlinux}
	DUMP=${2:-$LAB/dumps/k61-kdump/conv/kdump-zlib-d31}
	RUNS=${RUNS:-3}
	[[ -x /usr/bin/time ]] || { echo "needs GNU time (apt-get install time)" >&2; exit 1; }
	[[ -f $VMLINUX && -f $DUMP ]] || { echo "missing $VMLINUX or $DUMP" >&2; exit 1; }
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
}

# median CMD...: the median of RUNS wall-clock seconds of a command (its
# output in $tmp/out), for bench_pair's scripts.
median() {
	local t=()
	for ((i = 0; i < RUNS; i++)); do
		/usr/bin/time -f %e -o "$tmp/t" "$@" >"$tmp/out" 2>/dev/null </dev/null || true
		t+=("$(cat "$tmp/t")")
	done
	printf '%s\n' "${t[@]}" | sort -n | sed -n "$(((RUNS + 1) / 2))p"
}
