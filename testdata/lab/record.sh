# Reference outputs: what crash, makedumpfile, vmcore-dmesg and drgn say
# about each dump in the manifest, one file per tool and command:
#   ref/<dump>/crash-8.0.6/<command>.txt   trixie's crash (the reference)
#   ref/<dump>/crash-8.0.2/<command>.txt   bookworm's crash, too old for these
#                                          kernels; kept to show how it fails
#   ref/<dump>/makedumpfile-dump-dmesg.txt makedumpfile 1.7.6 --dump-dmesg
#   ref/<dump>/vmcore-dmesg.txt            kexec-tools 2.0.25 vmcore-dmesg
#   ref/<dump>/drgn/{tasks,dmesg,stacks}.txt  drgn 0.0.22 (bookworm)
#   ref/<dump>/status.tsv                  tool, command, exit code, seconds
# Sourced by build.sh; also run as `bash record.sh NAME KEY` for one dump.

# Each crash command and the file its output goes to.
CRASH_COMMANDS=(
	"sys	sys"
	"log	log"
	"log-T	log -T"
	"ps	ps"
	"ps-lab	ps lab-spin lab-pipe-reader lab-pipe-writer lab-sleeper lab-panic"
	"bt	bt"
	"bt-a	bt -a"
	"foreach-bt	foreach bt"
	"rd-linux_banner	rd linux_banner 16"
	"rd-a-linux_banner	rd -a linux_banner"
	"rd-jiffies_64	rd -64 jiffies_64 1"
	"rd-init_task	rd -64 init_task 32"
	"rd-p-10000	rd -p 0x10000 32"
	"rd-p-1000000	rd -p 0x1000000 32"
	"rd-p-2000000	rd -p 0x2000000 32"
	"struct-init_task	struct task_struct.pid,tgid,comm init_task"
	"p-init_uts_ns	p init_uts_ns.name"
	"sym-linux_banner	sym linux_banner"
	"sym-schedule	sym schedule"
	"mod	mod"
	"runq	runq"
	"kmem-i	kmem -i"
)

# Dumps that bookworm's crash 8.0.2 is also run on (it is slow to fail: about
# 70 s a dump, against 20 s for 8.0.6).
crash802_wanted() { [[ $1 == k61-elf || $1 == k61-kdump-zlib-d31 || $1 == k612-elf ]]; }

manifest_field() { # NAME COLUMN-NUMBER
	awk -F'\t' -v n="$1" -v c="$2" '$1 == n { print $c }' "$LAB/manifest.tsv"
}

status_row() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>"$REF/status.tsv"; }

# timed TOOL COMMAND-LABEL CMD...: runs CMD, records its exit code and time.
timed() {
	local tool=$1 label=$2; shift 2
	local t0=$SECONDS rc=0
	"$@" || rc=$?
	status_row "$tool" "$label" "$rc" "$((SECONDS - t0))"
	return 0
}

crash_session() { # trixie|bookworm OUTDIR VMLINUX FILES...
	local which=$1 out=$2 vmlinux=$3; shift 3
	local -a crash=(/usr/bin/crash)
	[[ $which == trixie ]] && crash=("$TRIXIE/usr/lib64/ld-linux-x86-64.so.2" --library-path "$TRIXIE_LIBPATH" "$TRIXIE/usr/bin/crash")
	mkdir -p "$out"
	local line file cmd cmds=$out/commands.txt
	: >"$cmds"
	for line in "${CRASH_COMMANDS[@]}"; do
		IFS=$'\t' read -r file cmd <<<"$line"
		echo "$cmd > $out/$file.txt" >>"$cmds"
	done
	echo exit >>"$cmds"
	with_timeout 900 "${crash[@]}" -s "$vmlinux" "$@" <"$cmds" >"$out/session.txt" 2>&1
}

record_one() {
	local name=$1
	REF=$LAB/ref/$name
	rm -rf "$REF"
	mkdir -p "$REF"
	local files vmlinux f
	local -a paths=()
	files=$(manifest_field "$name" 6)
	vmlinux=$LAB/$(manifest_field "$name" 7)
	[[ -n $files ]] || die "record: $name is not in the manifest"
	for f in ${files//,/ }; do paths+=("$LAB/$f"); done
	printf 'tool\tcommand\texit\tseconds\n' >"$REF/status.tsv"

	timed crash-8.0.6 session crash_session trixie "$REF/crash-8.0.6" "$vmlinux" "${paths[@]}"
	if crash802_wanted "$name"; then
		timed crash-8.0.2 session crash_session bookworm "$REF/crash-8.0.2" "$vmlinux" "${paths[@]}"
	fi
	timed makedumpfile-1.7.6 --dump-dmesg with_timeout 300 \
		bash -c 'source "$1"; shift; makedumpfile_trixie --dump-dmesg "$1" "$2" >"$3" 2>&1' _ "$LABSRC/lib.sh" \
		"${paths[0]}" "$REF/makedumpfile-dump-dmesg.txt" "$REF/makedumpfile-dump-dmesg.log"
	timed vmcore-dmesg vmcore-dmesg with_timeout 300 \
		bash -c 'vmcore-dmesg "$1" >"$2" 2>"$3"' _ "${paths[0]}" "$REF/vmcore-dmesg.txt" "$REF/vmcore-dmesg.log"
	timed drgn-0.0.22 tasks,dmesg,stacks with_timeout 600 \
		bash -c '/usr/bin/python3 "$1" "$2" "$3" "$4" >"$5" 2>&1' _ "$LABSRC/drgn_ref.py" "$vmlinux" "$REF/drgn" \
		"${paths[0]}" "$REF/drgn.log"
	# Empty outputs of failed runs say nothing; drop them (status.tsv and
	# the .log files keep the verdict).
	find "$REF" -type f -empty -delete
}

ref_key() { # NAME: the manifest row plus the files' mtimes and the scripts.
	local name=$1 row f mt=""
	row=$(awk -F'\t' -v n="$name" '$1 == n' "$LAB/manifest.tsv")
	for f in $(manifest_field "$name" 6 | tr , ' '); do mt+=" $(stat -c %Y "$LAB/$f")"; done
	step_key "record.sh drgn_ref.py" "$row" "$mt"
}

# record_all: records every dump whose references are missing or stale, two
# at a time (two cores), then copies the main 6.1 kdump's into the checkout.
record_all() {
	local name todo=()
	for name in $(awk -F'\t' 'NR > 1 { print $1 }' "$LAB/manifest.tsv"); do
		[[ $(cat "$LAB/stamps/ref-$name" 2>/dev/null) == "$(ref_key "$name")" ]] || todo+=("$name")
	done
	if ((${#todo[@]} > 0)); then
		log "recording references for ${#todo[@]} dumps"
		local t0=$SECONDS
		printf '%s\n' "${todo[@]}" | xargs -P 2 -I{} bash "$LABSRC/record.sh" {}
		printf '%s\t%s\t%ss\t%s\n' "$(date -u +%FT%TZ)" "references(${#todo[@]})" "$((SECONDS - t0))" - >>"$TIMINGS"
	fi
	compare_snappy
	export_expected
}

# Snappy dumps come from this project's writer; trixie's crash must read them
# exactly as the zlib dumps they were converted from. The verdict goes to
# ref/<snappy dump>/compare-crash-8.0.6.txt (a diff; only the DUMPFILE line
# of sys may differ) and to the build log.
compare_snappy() {
	local name src
	for name in $(awk -F'\t' 'NR > 1 && $3 == "snappy" { print $1 }' "$LAB/manifest.tsv"); do
		src=$(manifest_field "$name" 11 | sed -n 's/.*convert .* dumps\/\([^/]*\)\/conv\/\([^ ]*\) .*/\1 \2/p')
		[[ -n $src ]] || continue
		local orig=${name%%-*}-${src#* }
		[[ -d $LAB/ref/$orig/crash-8.0.6 && -d $LAB/ref/$name/crash-8.0.6 ]] || continue
		local out=$LAB/ref/$name/compare-crash-8.0.6.txt
		diff -r -x commands.txt -I '^ *DUMPFILE: ' "$LAB/ref/$orig/crash-8.0.6" "$LAB/ref/$name/crash-8.0.6" >"$out" 2>&1 &&
			echo "IDENTICAL: crash 8.0.6 prints the same for $name as for $orig (DUMPFILE line aside)" >"$out" ||
			true
		log "snappy check: $(head -1 "$out")"
	done
}

# The committed copy: testdata/lab/expected/<dump>/, small text files only.
# A note: the lab's paths are written as $LAB/ there.
EXPECTED_DUMPS=(k61-elf)
export_expected() {
	local name
	for name in "${EXPECTED_DUMPS[@]}"; do
		[[ -d $LAB/ref/$name ]] || continue
		local dst=$LABSRC/expected/$name
		# Only when missing or asked for (build.sh --export): a rebuilt lab
		# makes a new crash, and the checkout should not change by itself.
		[[ -f $dst/PROVENANCE && ${EXPORT:-0} != 1 ]] && continue
		rm -rf "$dst"
		mkdir -p "$dst"
		cp -r "$LAB/ref/$name/." "$dst/"
		# Paths of this machine's cache would differ on every machine.
		find "$dst" -type f -exec sed -i "s|$LAB/|\$LAB/|g" {} +
		{
			echo "Recorded by testdata/lab/record.sh from the lab dump '$name'; never edit by hand."
			awk -F'\t' -v n="$name" 'NR == 1 || $1 == n' "$LAB/manifest.tsv"
			echo "kernel: $(cat "$LAB/kernel/$(manifest_field "$name" 5)/release")"
			for f in $(manifest_field "$name" 6 | tr , ' '); do
				echo "sha256 $(sha256sum "$LAB/$f" | cut -d' ' -f1) $f"
			done
		} >"$dst/PROVENANCE"
	done
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
	set -euo pipefail
	source "$(dirname "$0")/lib.sh"
	name=$1
	t0=$SECONDS
	record_one "$name"
	ref_key "$name" >"$LAB/stamps/ref-$name"
	log "references for $name in $((SECONDS - t0))s"
fi
