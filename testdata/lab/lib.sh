# Shared helpers for the real-kernel lab scripts. Sourced, not run.
# Everything the lab builds lives in $LAB, outside the checkout.

LAB=${VMCORE_LAB_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/vmcore-lab}
LABSRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$LABSRC/../.." && pwd)
mkdir -p "$LAB"/{debs,stamps,logs}
TIMINGS=$LAB/logs/timings.tsv

log() { printf '[lab %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "FATAL: $*"; exit 1; }

# step_key FILES KEYTEXT...: a short hash of the named lab scripts (space-
# separated, relative to testdata/lab) and the given text, so that editing a
# step's script, choosing another kernel or redoing an earlier step (pass its
# key) redoes this step, and nothing else does.
step_key() {
	local files=$1 f; shift
	{
		printf '%s\n' "$@"
		for f in $files; do cat "$LABSRC/$f"; done
	} | sha256sum | cut -c1-16
}

# run_step NAME KEY FUNC [ARGS...]: runs FUNC unless stamps/NAME holds KEY.
# Records the wall time in logs/timings.tsv.
run_step() {
	local name=$1 key=$2; shift 2
	local stamp=$LAB/stamps/$name
	if [[ -f $stamp && $(cat "$stamp") == "$key" ]]; then
		return 0
	fi
	log "step $name: start"
	local t0=$SECONDS
	"$@"
	local dt=$((SECONDS - t0))
	printf '%s\t%s\t%ss\t%s\n' "$(date -u +%FT%TZ)" "$name" "$dt" "$key" >>"$TIMINGS"
	echo "$key" >"$stamp"
	log "step $name: done in ${dt}s"
}

# Trixie's crash and makedumpfile, run from the private root through trixie's
# own dynamic loader (bookworm's glibc is too old for them).
TRIXIE=$LAB/trixie/root
TRIXIE_LIBPATH=$TRIXIE/usr/lib/x86_64-linux-gnu
trixie_run() {
	local bin=$1; shift
	"$TRIXIE/usr/lib64/ld-linux-x86-64.so.2" --library-path "$TRIXIE_LIBPATH" "$TRIXIE$bin" "$@"
}
crash_trixie() { trixie_run /usr/bin/crash "$@"; }
makedumpfile_trixie() { trixie_run /usr/bin/makedumpfile "$@"; }

# with_timeout SECS CMD...: every QEMU and reference-tool run is bounded.
with_timeout() { local s=$1; shift; timeout --kill-after=10 "$s" "$@"; }

# register_dump NAME FORMAT COMPRESSION LEVEL KERNEL FILES ELF_TWIN MADE_BY:
# one manifest row per dump, kept in manifest.d/NAME.tsv; build.sh joins
# them into manifest.tsv. FILES is a comma-separated list of paths relative
# to $LAB; ELF_TWIN names the ELF dump of the same guest state (or -).
register_dump() {
	local name=$1 format=$2 comp=$3 level=$4 kernel=$5 files=$6 twin=$7 madeby=$8
	local f size=0
	for f in ${files//,/ }; do
		[[ -f $LAB/$f ]] || die "register_dump $name: missing $f"
		size=$((size + $(stat -c %s "$LAB/$f")))
	done
	mkdir -p "$LAB/manifest.d"
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$format" "$comp" "$level" "$kernel" \
		"$files" "kernel/$kernel/vmlinux" "$twin" "ref/$name" "$size" "$madeby" >"$LAB/manifest.d/$name.tsv"
}

MANIFEST_HEADER='name	format	compression	dump_level	kernel	files	vmlinux	elf_twin	ref	bytes	made_by'
write_manifest() {
	{
		echo "$MANIFEST_HEADER"
		cat "$LAB"/manifest.d/*.tsv 2>/dev/null | sort
	} >"$LAB/manifest.tsv.new"
	mv "$LAB/manifest.tsv.new" "$LAB/manifest.tsv"
}
