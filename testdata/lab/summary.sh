# summarize_refs: one table of what each reference tool managed on each dump,
# $LAB/ref/summary.tsv (dump, then one column per tool: exit code, or - when
# not run), plus the task counts crash's ps and drgn's task list show and the
# number of workload processes crash's ps finds. Sourced by build.sh.
summarize_refs() {
	local tools=(crash-8.0.6 crash-8.0.2 makedumpfile-1.7.6 vmcore-dmesg drgn-0.0.22
		crash-9.0.2 makedumpfile-1.7.8 drgn-0.3.0) # the last three: sid's (sidref.sh)
	local out=$LAB/ref/summary.tsv name t
	{
		printf 'dump\tformat\tkernel'
		printf '\t%s' "${tools[@]}"
		printf '\tcrash-8.0.6-tasks\tcrash-8.0.6-ps-lab\tdrgn-tasks\n'
		for name in $(awk -F'\t' 'NR > 1 { print $1 }' "$LAB/manifest.tsv"); do
			local ref=$LAB/ref/$name
			[[ -f $ref/status.tsv ]] || continue
			printf '%s\t%s\t%s' "$name" "$(manifest_field "$name" 2)" "$(manifest_field "$name" 5)"
			local v
			for t in "${tools[@]}"; do
				v=$(cat "$ref/status.tsv" "$ref/sid-status.tsv" 2>/dev/null |
					awk -F'\t' -v t="$t" '$1 == t && $3 != 0 { bad = $3 } $1 == t { seen = 1 } END { if (seen) print bad + 0 }' || true)
				printf '\t%s' "${v:--}"
			done
			local ntask=- nlab=- ndrgn=-
			[[ -f $ref/crash-8.0.6/ps.txt ]] && ntask=$(($(grep -c . "$ref/crash-8.0.6/ps.txt") - 1))
			[[ -f $ref/crash-8.0.6/ps-lab.txt ]] && nlab=$(grep -c ' lab-' "$ref/crash-8.0.6/ps-lab.txt" || true)
			if [[ -f $ref/drgn/tasks.txt ]]; then
				ndrgn=$(($(grep -c . "$ref/drgn/tasks.txt") - 1))
				grep -q '^DRGN-ERROR' "$ref/drgn/tasks.txt" && ndrgn=error
			fi
			printf '\t%s\t%s\t%s\n' "$ntask" "$nlab" "$ndrgn"
		done
	} >"$out"
	log "reference summary: $out"
}
