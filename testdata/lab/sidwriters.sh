# Step functions: today's dump writers on sid's kernel (kernels.sh), keyed on
# this file alone so that editing kernels.sh makes no new dumps. Sourced by
# build.sh after kernels.sh.
#
# Today's dump writers. Sid's QEMU (11.x), in a root of its own
# ($LAB/sid/qemu-root, run through sid's loader), takes dump-guest-memory of
# one stopped, panicked sid guest in every format it offers: ELF, and the
# kdump formats (zlib, lzo, snappy) both as a flattened stream (the default)
# and reassembled (-R, QEMU 8.2+: a plain kdump file). Sid's makedumpfile
# converts the sid kdump's /proc/vmcore (sid_conversions). Each is checked
# page by page against its ELF twin by the lab tests, like the others.
SID_QEMU_PACKAGES=(qemu-system-x86)
QROOT=$LAB/sid/qemu-root
qemu_sid() {
	"$SID/usr/lib64/ld-linux-x86-64.so.2" --library-path "$QROOT/usr/lib/x86_64-linux-gnu" \
		"$QROOT/usr/bin/qemu-system-x86_64" -L "$QROOT/usr/share/qemu" "$@"
}

# build_suite_root SUITE ROOT PACKAGES...: the hard-dependency closure of
# PACKAGES from SUITE, unpacked into ROOT.
build_suite_root() {
	local suite=$1 root=$2; shift 2
	suite_apt_update "$suite"
	rm -rf "$root" "$root.debs"
	mkdir -p "$root" "$root.debs"
	local pkgs
	pkgs=$(suite_apt_cache "$suite" depends --recurse --no-recommends --no-suggests --no-conflicts \
		--no-breaks --no-replaces --no-enhances "$@" 2>/dev/null | grep -E '^[a-z0-9]' | sort -u)
	# Virtual packages have nothing to download; apt says so and goes on.
	# shellcheck disable=SC2086
	(cd "$root.debs" && suite_apt "$suite" download $pkgs >>"$LAB/logs/apt-$suite.log" 2>&1) || true
	local d
	for d in "$root.debs"/*.deb; do dpkg-deb -x "$d" "$root"; done
}

build_sid_qemu_root() {
	build_suite_root sid "$QROOT" "${SID_QEMU_PACKAGES[@]}"
	qemu_sid --version | head -1 >"$LAB/sid/qemu-version.txt" ||
		die "sid's QEMU does not run from its root (see $LAB/logs/apt-sid.log)"
	log "sid's QEMU: $(cat "$LAB/sid/qemu-version.txt")"
}

# sid_qemu_dumps SERIES PREFIX: the panicked guest and its dumps, registered
# as PREFIX-<format>, e.g. qsid-sidqemu-panic-zlib-R.
sid_qemu_dumps() {
	local series=$1 p=$2 kd out run=${2}
	kd=$(kernel_dir "$series")
	out=$LAB/dumps/$run.new
	rm -rf "$out"
	mkdir -p "$out"
	local sock=$LAB/tmp-$run.sock
	rm -f "$sock"
	with_timeout 400 "$SID/usr/lib64/ld-linux-x86-64.so.2" --library-path "$QROOT/usr/lib/x86_64-linux-gnu" \
		"$QROOT/usr/bin/qemu-system-x86_64" -L "$QROOT/usr/share/qemu" \
		-accel tcg -cpu max,la57=off -smp 2 -m 512M -display none -no-reboot -device vmcoreinfo \
		-kernel "$kd/vmlinuz" -initrd "$LAB/initramfs/$series-capture.cpio.gz" \
		-append "console=ttyS0 lab=panic" -monitor "unix:$sock,server,nowait" \
		-serial "file:$out/serial.log" >"$out/qemu.log" 2>&1 &
	local qpid=$!
	if ! wait_serial "$out/serial.log" 'end Kernel panic' 240; then
		kill "$qpid" 2>/dev/null || true
		wait "$qpid" || true
		die "sid QEMU run $run: the guest never panicked (see $out/serial.log, $out/qemu.log)"
	fi
	sleep 2
	local -a cmds=(stop "dump-guest-memory $out/elf")
	local f
	for f in zlib lzo snappy; do
		cmds+=("dump-guest-memory -${f:0:1} $out/kdump-$f" "dump-guest-memory -${f:0:1} -R $out/kdump-$f-R")
	done
	with_timeout 300 /usr/bin/python3 "$LABSRC/hmp.py" "$sock" "${cmds[@]}" "info status" quit \
		>"$out/hmp.log" 2>&1 || log "hmp session of $run failed (see $out/hmp.log)"
	local n=50
	while kill -0 "$qpid" 2>/dev/null && ((n-- > 0)); do sleep 0.2; done
	kill "$qpid" 2>/dev/null || true
	wait "$qpid" || true
	rm -f "$sock"
	chmod a+r "$out"/*
	cp "$kd/release" "$out/release"
	[[ -s $out/elf ]] || die "sid QEMU run $run: no ELF dump (see $out/hmp.log)"
	rm -rf "$LAB/dumps/$run"
	mv "$out" "$LAB/dumps/$run"
	local v d=dumps/$run what="a panicked guest (-device vmcoreinfo, sysrq-c, no kdump)"
	v=$(sed 's/QEMU emulator version //' "$LAB/sid/qemu-version.txt")
	register_dump "$p-elf" qemu-elf none 0 "$series" "$d/elf" - "QEMU $v (sid) dump-guest-memory of $what"
	for f in zlib lzo snappy; do
		[[ -s $LAB/$d/kdump-$f ]] && register_dump "$p-$f" qemu-kdump-flat "$f" 1 "$series" "$d/kdump-$f" "$p-elf" \
			"QEMU $v (sid) dump-guest-memory -${f:0:1} of $what (same stopped state as $p-elf)"
		[[ -s $LAB/$d/kdump-$f-R ]] && register_dump "$p-$f-R" qemu-kdump "$f" 1 "$series" "$d/kdump-$f-R" "$p-elf" \
			"QEMU $v (sid) dump-guest-memory -${f:0:1} -R of $what (same stopped state as $p-elf)"
	done
	return 0
}

# sid_conversions SERIES RUN PREFIX: sid's makedumpfile on the kdump's
# /proc/vmcore: -c, -l, -z and -E at -d 31, registered as
# PREFIX-mdf<version digits>-<name>, e.g. ksid-mdf178-kdump-zlib-d31.
SID_CONVERSIONS=(
	"kdump-zlib-d31	kdump	zlib	31	-c -d 31"
	"kdump-lzo-d31	kdump	lzo	31	-l -d 31"
	"kdump-zstd-d31	kdump	zstd	31	-z -d 31"
	"elf-d31	elf	none	31	-E -d 31"
)
sid_conversions() {
	local series=$1 run=$2 p=$3 v line name format comp level args
	v=$(sid_tool_version makedumpfile)
	local src=$LAB/dumps/$run/vmcore out=$LAB/dumps/$run/conv-sid
	rm -rf "$out"
	mkdir -p "$out"
	for line in "${SID_CONVERSIONS[@]}"; do
		IFS=$'\t' read -r name format comp level args <<<"$line"
		# shellcheck disable=SC2086
		sid_run /usr/bin/makedumpfile --message-level 22 $args "$src" "$out/$name" >"$out/$name.log" 2>&1 ||
			die "sid's makedumpfile $args failed (see $out/$name.log)"
		register_dump "$p-mdf${v//[!0-9]/}-$name" "$format" "$comp" "$level" "$series" "dumps/$run/conv-sid/$name" "$p-elf" \
			"host: $v (sid) $args dumps/$run/vmcore"
	done
	chmod a+r "$out"/*
}

# sid_writers_lab: the steps above, keyed on the sid kernel's initramfs and
# kdump and on sid's tools.
sid_writers_lab() {
	run_step sid-qemu-root "$(step_key "" "${SID_QEMU_PACKAGES[*]}")" build_sid_qemu_root
	local k
	k=$(step_key "sidwriters.sh hmp.py" "$(cat "$LAB/stamps/initramfs-sid")" "$(cat "$LAB/sid/qemu-version.txt")")
	run_step qemudump-sid-sidqemu "$k" sid_qemu_dumps sid qsid-sidqemu-panic
	k=$(step_key "sidwriters.sh" "$(cat "$LAB/stamps/kdump-sid")" "$(cat "$LAB/sid/versions.txt")")
	run_step convert-sid-mdf "$k" sid_conversions sid ksid-kdump ksid
}
