# Step functions: register the dumps a kdump run made, and convert its ELF
# /proc/vmcore on the host with makedumpfile (trixie's 1.7.6: it has zstd).
# Sourced by build.sh.

# register_kdump_run SERIES RUN PREFIX: the files the capture kernel wrote.
register_kdump_run() {
	local series=$1 run=$2 p=$3 d=dumps/$2
	local mk="kdump in QEMU ($(cat "$LAB/accel")), capture kernel"
	register_dump "$p-elf" elf none 0 "$series" "$d/vmcore" - "$mk: cat /proc/vmcore"
	register_dump "$p-flat-lzo-d31" kdump-flat lzo 31 "$series" "$d/flat-lzo-d31" "$p-elf" \
		"$mk: makedumpfile 1.7.6 -F -l -d 31 /proc/vmcore"
	register_dump "$p-flat-zstd-d17" kdump-flat zstd 17 "$series" "$d/flat-zstd-d17" "$p-elf" \
		"$mk: makedumpfile 1.7.6 -F -z -d 17 /proc/vmcore"
}

# The host conversions: NAME FORMAT COMPRESSION LEVEL MAKEDUMPFILE-ARGS.
CONVERSIONS=(
	"kdump-zlib-d31	kdump	zlib	31	-c -d 31"
	"kdump-lzo-d31	kdump	lzo	31	-l -d 31"
	"kdump-zstd-d31	kdump	zstd	31	-z -d 31"
	"kdump-zlib-d0	kdump	zlib	0	-c -d 0"
	"kdump-none-d31	kdump	none	31	-d 31"
	"kdump-none-d0	kdump	none	0	-d 0"
	"elf-d31	elf	none	31	-E -d 31"
	"flat-zlib-d31	kdump-flat	zlib	31	-F -c -d 31"
	"split-lzo-d31	kdump-split	lzo	31	--split -l -d 31"
)

# convert_dumps SERIES RUN PREFIX [NAME...]: all CONVERSIONS, or only the
# named ones (the second kernel gets fewer, to keep the first run short).
convert_dumps() {
	local series=$1 run=$2 p=$3
	shift 3
	local only=" $* "
	local src=$LAB/dumps/$run/vmcore out=$LAB/dumps/$run/conv.new
	rm -rf "$out"
	mkdir -p "$out"
	local line name format comp level args
	for line in "${CONVERSIONS[@]}"; do
		IFS=$'\t' read -r name format comp level args <<<"$line"
		[[ $only == "  " || $only == *" $name "* ]] || continue
		local t0=$SECONDS files
		case $format in
		kdump-split)
			files="dumps/$run/conv/$name.1,dumps/$run/conv/$name.2,dumps/$run/conv/$name.3"
			# shellcheck disable=SC2086
			makedumpfile_trixie --message-level 22 $args "$src" "$out/$name.1" "$out/$name.2" "$out/$name.3" \
				>"$out/$name.log" 2>&1 || die "makedumpfile $args failed (see $out/$name.log)"
			;;
		kdump-flat)
			files=dumps/$run/conv/$name
			# shellcheck disable=SC2086
			makedumpfile_trixie --message-level 22 $args "$src" >"$out/$name" 2>"$out/$name.log" ||
				die "makedumpfile $args failed (see $out/$name.log)"
			;;
		*)
			files=dumps/$run/conv/$name
			# shellcheck disable=SC2086
			makedumpfile_trixie --message-level 22 $args "$src" "$out/$name" >"$out/$name.log" 2>&1 ||
				die "makedumpfile $args failed (see $out/$name.log)"
			;;
		esac
		printf '%s\t%ss\n' "$name" "$((SECONDS - t0))" >>"$out/timings.tsv"
	done
	# The guest's flattened stream, rearranged by makedumpfile -R: must read
	# the same as the stream itself.
	makedumpfile_trixie -R "$out/flat-lzo-d31-R" <"$LAB/dumps/$run/flat-lzo-d31" >"$out/flat-lzo-d31-R.log" 2>&1 ||
		die "makedumpfile -R failed"
	chmod a+r "$out"/*
	rm -rf "$LAB/dumps/$run/conv"
	mv "$out" "$LAB/dumps/$run/conv"
	local line name format comp level args files
	for line in "${CONVERSIONS[@]}"; do
		IFS=$'\t' read -r name format comp level args <<<"$line"
		[[ $only == "  " || $only == *" $name "* ]] || continue
		files=dumps/$run/conv/$name
		[[ $format == kdump-split ]] && files="$files.1,$files.2,$files.3"
		register_dump "$p-$name" "$format" "$comp" "$level" "$series" "$files" "$p-elf" \
			"host: makedumpfile 1.7.6 $args dumps/$run/vmcore"
	done
	register_dump "$p-kdump-lzo-d31-R" kdump lzo 31 "$series" "dumps/$run/conv/flat-lzo-d31-R" "$p-elf" \
		"host: makedumpfile 1.7.6 -R < dumps/$run/flat-lzo-d31"
}

# Snappy: nothing on Debian writes it, so the project's own writer does.
# Runs only once `go run ./cmd/vmcore convert` works; otherwise says so.
vmcore_convert_works() {
	local usage
	usage=$(cd "$REPO" && go run ./cmd/vmcore convert -h 2>&1) || true
	grep -qi 'snappy' <<<"$usage"
}
convert_snappy() {
	local series=$1 run=$2 p=$3 out=$LAB/dumps/$2/conv
	if ! vmcore_convert_works; then
		log "SKIPPED snappy dumps: 'go run ./cmd/vmcore convert' is not there yet"
		echo skipped >"$out/snappy.status"
		return 0
	fi
	local bin=$LAB/bin/vmcore
	mkdir -p "$LAB/bin"
	(cd "$REPO" && go build -o "$bin" ./cmd/vmcore)
	"$bin" convert -f -c snappy "$out/kdump-zlib-d31" "$out/kdump-snappy-d31" >"$out/kdump-snappy-d31.log" 2>&1 ||
		die "vmcore convert -c snappy failed (see $out/kdump-snappy-d31.log)"
	register_dump "$p-kdump-snappy-d31" kdump snappy 31 "$series" "dumps/$run/conv/kdump-snappy-d31" "$p-elf" \
		"host: vmcore convert -c snappy dumps/$run/conv/kdump-zlib-d31 (this project's writer)"
	"$bin" convert -f -c snappy -F "$out/kdump-zlib-d31" "$out/flat-snappy-d31" >"$out/flat-snappy-d31.log" 2>&1 ||
		die "vmcore convert -c snappy -F failed (see $out/flat-snappy-d31.log)"
	register_dump "$p-flat-snappy-d31" kdump-flat snappy 31 "$series" "dumps/$run/conv/flat-snappy-d31" "$p-elf" \
		"host: vmcore convert -c snappy -F dumps/$run/conv/kdump-zlib-d31 (this project's writer)"
	echo done >"$out/snappy.status"
}
