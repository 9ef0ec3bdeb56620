# Reference outputs in groups: crash 8.0.6's output for the REPL commands
# beyond record.sh's basic set, on a few lab dumps. Each group is a file
# crash-groups/GROUP.cmds of "FILE<TAB>COMMAND" lines ('#' starts a comment);
# its outputs go to ref/<dump>/crash-8.0.6-groups/GROUP/FILE.txt with a
# commands.txt ("COMMAND > PATH" lines, as record.sh writes). A group is
# re-recorded when its .cmds file, this script or the dump changes, and no
# other group is: helpers working on different commands do not redo each
# other's references.
#
# A command may name a value crash computes, as {px:EXPR}: a first crash pass
# runs "p/x EXPR" and the hex value replaces the placeholder. vtop, for one,
# takes only a number, and KASLR moves every address from dump to dump.
#
# Sourced by build.sh; also run as
#   bash record_groups.sh GROUP [DUMP...]   (default: GROUP_DUMPS)

# The dumps every group is recorded on: a kdump's ELF /proc/vmcore and a
# compressed conversion of it, for each kernel.
GROUP_DUMPS=(k61-elf k61-kdump-zlib-d31 k612-elf k612-kdump-lzo-d31)

group_key() { # GROUP DUMP
	local f mt=""
	for f in $(awk -F'\t' -v n="$2" '$1 == n { print $6 }' "$LAB/manifest.tsv" | tr , ' '); do
		mt+=" $(stat -c %Y "$LAB/$f")"
	done
	step_key "record_groups.sh crash-groups/$1.cmds" "$(awk -F'\t' -v n="$2" '$1 == n' "$LAB/manifest.tsv")" "$mt"
}

# crash_run OUT VMLINUX FILES... <CMDS: one trixie crash session.
crash_run() {
	local out=$1 vmlinux=$2; shift 2
	with_timeout 900 "$TRIXIE/usr/lib64/ld-linux-x86-64.so.2" --library-path "$TRIXIE_LIBPATH" \
		"$TRIXIE/usr/bin/crash" -s "$vmlinux" "$@" >"$out" 2>&1
}

record_group() { # GROUP DUMP
	local group=$1 name=$2 row files vmlinux f
	local -a paths=()
	row=$(awk -F'\t' -v n="$name" '$1 == n' "$LAB/manifest.tsv")
	[[ -n $row ]] || { log "record_group: $name is not in the manifest"; return 0; }
	files=$(cut -f6 <<<"$row")
	vmlinux=$LAB/$(cut -f7 <<<"$row")
	for f in ${files//,/ }; do paths+=("$LAB/$f"); done
	local out=$LAB/ref/$name/crash-8.0.6-groups/$group
	rm -rf "$out"
	mkdir -p "$out/vars"
	local -a lines=()
	mapfile -t lines < <(grep -v '^[[:space:]]*#' "$LABSRC/crash-groups/$group.cmds" | grep $'\t')

	# First pass: the {px:EXPR} values.
	local -a exprs=()
	mapfile -t exprs < <(printf '%s\n' "${lines[@]}" | grep -o '{px:[^}]*}' | sort -u)
	declare -A val=()
	if ((${#exprs[@]} > 0)); then
		local i=0 e
		: >"$out/vars/commands.txt"
		for e in "${exprs[@]}"; do
			echo "p/x ${e:4:-1} > $out/vars/$i.txt" >>"$out/vars/commands.txt"
			i=$((i + 1))
		done
		echo exit >>"$out/vars/commands.txt"
		crash_run "$out/vars/session.txt" "$vmlinux" "${paths[@]}" <"$out/vars/commands.txt" || true
		i=0
		for e in "${exprs[@]}"; do
			val[$e]=$(sed -n 's/^\$[0-9]* = \(0x[0-9a-f]*\).*/\1/p' "$out/vars/$i.txt" 2>/dev/null | head -1)
			i=$((i + 1))
		done
	fi

	local line file cmd e
	: >"$out/commands.txt"
	for line in "${lines[@]}"; do
		IFS=$'\t' read -r file cmd <<<"$line"
		for e in "${!val[@]}"; do
			[[ -n ${val[$e]} ]] && cmd=${cmd//"$e"/${val[$e]}}
		done
		[[ $cmd == *'{px:'* ]] && { log "record_group $group $name: no value for $cmd"; continue; }
		echo "$cmd > $out/$file.txt" >>"$out/commands.txt"
	done
	{ cat "$out/commands.txt"; echo exit; } | crash_run "$out/session.txt" "$vmlinux" "${paths[@]}" || true
	# crash writes nothing for a command it rejects except to the session;
	# keep empty outputs: "crash printed nothing" is a reference too.
}

# record_groups [GROUP...]: every group (default all) on every GROUP_DUMPS
# dump whose references are missing or stale, two at a time.
record_groups() {
	local g name todo=()
	local -a groups=("$@")
	if ((${#groups[@]} == 0)); then
		for g in "$LABSRC"/crash-groups/*.cmds; do
			[[ -f $g ]] && groups+=("$(basename "$g" .cmds)")
		done
	fi
	for g in "${groups[@]}"; do
		for name in "${GROUP_DUMPS[@]}"; do
			[[ -n $(awk -F'\t' -v n="$name" '$1 == n' "$LAB/manifest.tsv") ]] || continue
			[[ $(cat "$LAB/stamps/group-$g-$name" 2>/dev/null) == "$(group_key "$g" "$name")" ]] || todo+=("$g $name")
		done
	done
	((${#todo[@]} > 0)) || return 0
	log "recording ${#todo[@]} crash command groups"
	local t0=$SECONDS
	printf '%s\n' "${todo[@]}" | xargs -P 2 -L 1 bash "$LABSRC/record_groups.sh" --one
	printf '%s\t%s\t%ss\t%s\n' "$(date -u +%FT%TZ)" "groups(${#todo[@]})" "$((SECONDS - t0))" - >>"$TIMINGS"
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
	set -euo pipefail
	source "$(dirname "$0")/lib.sh"
	if [[ ${1:-} == --one ]]; then
		t0=$SECONDS
		# The key of the .cmds file as recorded: an edit during the
		# recording leaves the group stale, to be recorded again.
		key=$(group_key "$2" "$3")
		record_group "$2" "$3"
		echo "$key" >"$LAB/stamps/group-$2-$3"
		log "crash group $2 for $3 in $((SECONDS - t0))s"
		exit 0
	fi
	[[ $# -ge 1 ]] || die "usage: record_groups.sh GROUP [DUMP...]"
	group=$1
	shift
	[[ $# -eq 0 ]] || GROUP_DUMPS=("$@")
	record_groups "$group"
fi
