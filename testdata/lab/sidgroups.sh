# Sid's crash on the crash command groups (crash-groups/*.cmds), for the
# newest kernel, which no crash 8.x reads:
#   ref/<dump>/crash-<9.x>-groups/GROUP/FILE.txt, commands.txt, session.txt
# laid out as record_groups.sh lays out crash 8.0.6's.
#
# crash 9.0.2 stops on Linux 7.x in its module setup ("invalid structure
# member offset: module_num_gpl_syms"); with --no_modules it reads the rest
# of the kernel. So these references know no module: the tests take module
# truth from drgn's views (sidref.sh) and list each command that crash
# 9.0.2 gets wrong, with why.
#
# The groups are recorded with record_groups.sh's own record_group, in a
# scratch lab whose ref/ is empty (its other entries link to the real lab),
# and moved into place when complete, so that an interrupted run leaves no
# half reference and no file under crash-8.0.6-groups.
#
# Sourced by build.sh after kernels.sh and record_groups.sh; also run as
#   bash sidgroups.sh [GROUP [DUMP...]]   (default: every group on
#                                         SIDGROUP_DUMPS)

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
	set -euo pipefail
	source "$(dirname "$0")/lib.sh"
	source "$LABSRC/kernels.sh"
	source "$LABSRC/record_groups.sh"
fi

# A kdump's /proc/vmcore and the capture kernel's own compressed file.
# Not a compressed -d 31 file, as for the other kernels' groups: on 7.2
# those lose task_structs, and crash 9.0.2 exits without a word while it
# gathers their task table (it reads the ELF -d 31 conversions).
SIDGROUP_DUMPS=(ksid-elf ksid-flat-zstd-d17)

sidgroup_key() { # GROUP DUMP
	step_key "sidgroups.sh" "$(group_key "$1" "$2")" "$(cat "$LAB/sid/versions.txt")"
}

sidgroup_one() { # GROUP DUMP
	local group=$1 name=$2 crash real=$LAB scratch e
	crash=$(sid_tool_version crash)
	[[ -n $crash ]] || die "sidgroups: no crash version in $LAB/sid/versions.txt"
	scratch=$(mktemp -d "$LAB/tmp-sidgroup.XXXXXX")
	# shellcheck disable=SC2064 # this scratch lab, whatever happens
	trap "rm -rf '$scratch'" EXIT
	for e in "$real"/*; do
		[[ $(basename "$e") == ref ]] || ln -s "$e" "$scratch/"
	done
	local from=$scratch/ref/$name/crash-8.0.6-groups/$group to=$real/ref/$name/$crash-groups/$group f try
	# crash 9.0.2 now and then hands gdb a whole line, redirection and all,
	# and gdb fails it ("gdb request failed: p/x (unsigned long)&schedule
	# + 4 > .../vars/3.txt"): another run of the group gets it right, and
	# a failure that names no redirection is the command's own.
	for try in 1 2 3 4; do
		(
			LAB=$scratch
			crash_run() {
				local out=$1 vmlinux=$2
				shift 2
				with_timeout 900 "$SID/usr/lib64/ld-linux-x86-64.so.2" --library-path "$SID/usr/lib/x86_64-linux-gnu" \
					"$SID/usr/bin/crash" --no_modules -s "$vmlinux" "$@" >"$out" 2>&1
			}
			record_group "$group" "$name"
		)
		grep -rqs "gdb request failed: .* > $scratch/" "$from" || break
		log "sidgroups: $group on $name: crash took a redirection for the command (run $try)"
	done
	[[ -d $from ]] || die "sidgroups: $group on $name recorded nothing"
	for f in "$from/commands.txt" "$from/vars/commands.txt"; do
		[[ -f $f ]] && sed -i "s|$from/|$to/|" "$f"
	done
	# sys prints the files' paths: the real lab's, as crash was given.
	{ grep -rlF "$scratch/" "$from" || true; } | xargs -r sed -i "s|$scratch/|$real/|g"
	rm -rf "$to"
	mkdir -p "$(dirname "$to")"
	mv "$from" "$to"
}

# sidgroups_all: every group on every SIDGROUP_DUMPS dump whose references
# are missing or stale, two at a time.
sidgroups_all() {
	local g name todo=()
	local -a groups=("$@")
	if ((${#groups[@]} == 0)); then
		for g in "$LABSRC"/crash-groups/*.cmds; do
			groups+=("$(basename "$g" .cmds)")
		done
	fi
	for g in "${groups[@]}"; do
		for name in "${SIDGROUP_DUMPS[@]}"; do
			[[ -n $(awk -F'\t' -v n="$name" '$1 == n' "$LAB/manifest.tsv") ]] || continue
			[[ $(cat "$LAB/stamps/sidgroup-$g-$name" 2>/dev/null) == "$(sidgroup_key "$g" "$name")" ]] || todo+=("$g $name")
		done
	done
	((${#todo[@]} > 0)) || return 0
	log "recording ${#todo[@]} crash command groups with sid's crash"
	local t0=$SECONDS
	printf '%s\n' "${todo[@]}" | xargs -P 2 -L 1 bash "$LABSRC/sidgroups.sh" --one
	printf '%s\t%s\t%ss\t%s\n' "$(date -u +%FT%TZ)" "sidgroups(${#todo[@]})" "$((SECONDS - t0))" - >>"$TIMINGS"
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
	if [[ ${1:-} == --one ]]; then
		t0=$SECONDS
		key=$(sidgroup_key "$2" "$3")
		sidgroup_one "$2" "$3"
		echo "$key" >"$LAB/stamps/sidgroup-$2-$3"
		log "sid crash group $2 for $3 in $((SECONDS - t0))s"
		exit 0
	fi
	if [[ $# -eq 0 ]]; then
		sidgroups_all
		exit 0
	fi
	group=$1
	shift
	[[ $# -eq 0 ]] || SIDGROUP_DUMPS=("$@")
	sidgroups_all "$group"
fi
