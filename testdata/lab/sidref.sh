# Sid's reference tools on the dumps of the extra kernels (kernels.sh):
#   ref/<dump>/crash-<9.x>/<command>.txt     record.sh's crash command set
#   ref/<dump>/makedumpfile-<1.7.x>-dump-dmesg.txt
#   ref/<dump>/drgn-<0.x>/{tasks,dmesg,stacks}.txt   drgn_ref.py
#   ref/<dump>/drgn-<0.x>-views/*.txt        drgn_views.py: the truth of
#                                            mod, runq, files, vm and vtop
#                                            where crash cannot read a kernel
#   ref/<dump>/sid-status.tsv                tool, command, exit, seconds
# Each dump is recorded again when its manifest row, its files, this script,
# drgn_ref.py, drgn_views.py or sid's tool versions change. Sourced by
# build.sh after kernels.sh; also run as `bash sidref.sh --one DUMP`.

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
	set -euo pipefail
	source "$(dirname "$0")/lib.sh"
	source "$LABSRC/record.sh"
	source "$LABSRC/kernels.sh"
fi

sidref_one() {
	local name=$1 REF=$LAB/ref/$1 files vmlinux f
	local -a paths=()
	files=$(manifest_field "$name" 6)
	vmlinux=$LAB/$(manifest_field "$name" 7)
	for f in ${files//,/ }; do paths+=("$LAB/$f"); done
	local crash mdf drgn
	crash=$(sid_tool_version crash) mdf=$(sid_tool_version makedumpfile) drgn=$(sid_tool_version drgn)
	# makedumpfile will not overwrite its output: the old one goes first.
	rm -rf "${REF:?}/$crash" "${REF:?}/$drgn" "${REF:?}/$drgn-views" "$REF/$mdf-dump-dmesg.txt"
	mkdir -p "$REF/$crash"
	printf 'tool\tcommand\texit\tseconds\n' >"$REF/sid-status.tsv"
	local line file cmd cmds=$REF/$crash/commands.txt
	: >"$cmds"
	for line in "${CRASH_COMMANDS[@]}"; do
		IFS=$'\t' read -r file cmd <<<"$line"
		echo "$cmd > $REF/$crash/$file.txt" >>"$cmds"
	done
	echo exit >>"$cmds"
	local -a ld=("$SID/usr/lib64/ld-linux-x86-64.so.2" --library-path "$SID/usr/lib/x86_64-linux-gnu")
	local t0=$SECONDS rc=0
	with_timeout 900 "${ld[@]}" "$SID/usr/bin/crash" -s "$vmlinux" "${paths[@]}" <"$cmds" \
		>"$REF/$crash/session.txt" 2>&1 || rc=$?
	printf '%s\t%s\t%s\t%s\n' "$crash" session "$rc" "$((SECONDS - t0))" >>"$REF/sid-status.tsv"
	# crash 9.0.2 stops on 7.x in its module setup ("invalid structure
	# member offset: module_num_gpl_syms"); --no_modules reads the rest.
	# It now and then hands gdb a whole line, redirection and all ("gdb
	# request failed: rd ... > .../rd-jiffies_64.txt"): another run gets it
	# right (sidgroups.sh does the same).
	local try opt=()
	grep -q "module_num_gpl_syms" "$REF/$crash/session.txt" && opt=(--no_modules)
	for try in 1 2 3 4; do
		((${#opt[@]} > 0)) || grep -rqs "gdb request failed: .* > $REF/$crash/" "$REF/$crash" || break
		t0=$SECONDS rc=0
		with_timeout 900 "${ld[@]}" "$SID/usr/bin/crash" "${opt[@]}" -s "$vmlinux" "${paths[@]}" <"$cmds" \
			>"$REF/$crash/session.txt" 2>&1 || rc=$?
		printf '%s\t%s\t%s\t%s\n' "$crash" "session ${opt[*]} (run $((try + 1)))" "$rc" "$((SECONDS - t0))" >>"$REF/sid-status.tsv"
		grep -rqs "gdb request failed: .* > $REF/$crash/" "$REF/$crash" || break
	done
	t0=$SECONDS rc=0
	with_timeout 300 "${ld[@]}" "$SID/usr/bin/makedumpfile" --dump-dmesg "${paths[0]}" "$REF/$mdf-dump-dmesg.txt" \
		>"$REF/$mdf-dump-dmesg.log" 2>&1 || rc=$?
	printf '%s\t%s\t%s\t%s\n' "$mdf" --dump-dmesg "$rc" "$((SECONDS - t0))" >>"$REF/sid-status.tsv"
	local py
	for py in drgn_ref drgn_views; do
		local dir=$REF/$drgn
		[[ $py == drgn_views ]] && dir=$REF/$drgn-views
		t0=$SECONDS rc=0
		with_timeout 600 env PYTHONHOME="$SID/usr" PYTHONDONTWRITEBYTECODE=1 "${ld[@]}" "$SID/usr/bin/python3" \
			"$LABSRC/$py.py" "$vmlinux" "$dir" "${paths[0]}" >"$dir.log" 2>&1 || rc=$?
		printf '%s\t%s\t%s\t%s\n' "$drgn" "$py" "$rc" "$((SECONDS - t0))" >>"$REF/sid-status.tsv"
	done
	# Empty outputs of failed runs say nothing (status.tsv keeps the
	# verdict); only this script's own files are pruned.
	find "$REF/$crash" "$REF/$drgn" "$REF/$drgn-views" "$REF/$mdf-dump-dmesg.txt" -type f -empty -delete 2>/dev/null || true
}

sidref_key() { step_key "sidref.sh drgn_ref.py drgn_views.py" "$(ref_key "$1")" "$(cat "$LAB/sid/versions.txt")"; }

# sidref_all: every dump of the extra kernels whose sid references are
# missing or stale, two at a time.
sidref_all() {
	local name todo=()
	for name in $(awk -F'\t' 'NR > 1 && ($5 == "5.10" || $5 == "sid") { print $1 }' "$LAB/manifest.tsv"); do
		[[ $(cat "$LAB/stamps/sidref-$name" 2>/dev/null) == "$(sidref_key "$name")" ]] || todo+=("$name")
	done
	((${#todo[@]} > 0)) || return 0
	log "recording sid's tools on ${#todo[@]} dumps"
	local t0=$SECONDS
	printf '%s\n' "${todo[@]}" | xargs -P 2 -I{} bash "$LABSRC/sidref.sh" --one {}
	printf '%s\t%s\t%ss\t%s\n' "$(date -u +%FT%TZ)" "sidref(${#todo[@]})" "$((SECONDS - t0))" - >>"$TIMINGS"
}

if [[ ${BASH_SOURCE[0]} == "$0" && ${1:-} == --one ]]; then
	t0=$SECONDS
	sidref_one "$2"
	sidref_key "$2" >"$LAB/stamps/sidref-$2"
	log "sid's tools on $2 in $((SECONDS - t0))s"
fi
