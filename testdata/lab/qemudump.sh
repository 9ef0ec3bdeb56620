# Step functions: QEMU dump-guest-memory dumps of a live and of a panicked
# guest with -device vmcoreinfo, and of a panicked guest without it.
# Bookworm's QEMU 7.2 writes its kdump formats as flattened streams and
# answers "not available" for kdump-lzo and kdump-snappy; the answers are kept
# in the run's hmp.log. Sourced by build.sh.

# wait_serial FILE PATTERN SECONDS: waits until the guest's serial log shows
# PATTERN; fails after SECONDS.
wait_serial() {
	local f=$1 pat=$2 n=$(($3 * 5))
	while ((n-- > 0)); do
		grep -q -- "$pat" "$f" 2>/dev/null && return 0
		sleep 0.2
	done
	return 1
}

# qemu_dump_run SERIES RUN MODE VMCOREINFO(yes|no) WAIT-PATTERN: boots the
# guest in MODE (live or panic), waits for WAIT-PATTERN, stops the vCPUs and
# takes every dump-guest-memory format of that one stopped state.
qemu_dump_run() {
	local series=$1 run=$2 mode=$3 vmci=$4 pat=$5 kd out
	kd=$(kernel_dir "$series")
	out=$LAB/dumps/$run.new
	rm -rf "$out"
	mkdir -p "$out"
	local sock=$LAB/tmp-$run.sock
	rm -f "$sock"
	local -a dev=()
	[[ $vmci == yes ]] && dev=(-device vmcoreinfo)
	# shellcheck disable=SC2046
	with_timeout 400 $QEMU $(accel_args) -smp 2 -m 512M -display none -no-reboot "${dev[@]}" \
		-kernel "$kd/vmlinuz" -initrd "$LAB/initramfs/$series-capture.cpio.gz" \
		-append "console=ttyS0 lab=$mode" -monitor "unix:$sock,server,nowait" \
		-serial "file:$out/serial.log" >"$out/qemu.log" 2>&1 &
	local qpid=$!
	if ! wait_serial "$out/serial.log" "$pat" 240; then
		kill "$qpid" 2>/dev/null || true
		wait "$qpid" || true
		die "qemu dump run $run: guest never printed '$pat' (see $out/serial.log)"
	fi
	sleep 2
	with_timeout 300 /usr/bin/python3 "$LABSRC/hmp.py" "$sock" stop \
		"dump-guest-memory $out/elf" \
		"dump-guest-memory -z $out/kdump-zlib" \
		"dump-guest-memory -l $out/kdump-lzo" \
		"dump-guest-memory -s $out/kdump-snappy" \
		"info status" quit >"$out/hmp.log" 2>&1 || log "hmp session of $run failed (see $out/hmp.log)"
	local n=50
	while kill -0 "$qpid" 2>/dev/null && ((n-- > 0)); do sleep 0.2; done
	kill "$qpid" 2>/dev/null || true # QEMU ignored quit: stop it
	wait "$qpid" || true
	rm -f "$sock"
	chmod a+r "$out"/*
	cp "$kd/release" "$out/release"
	[[ -s $out/elf ]] || die "qemu dump run $run: no ELF dump (see $out/hmp.log)"
	rm -rf "$LAB/dumps/$run"
	mv "$out" "$LAB/dumps/$run"
}

register_qemu_run() { # SERIES RUN PREFIX WHAT
	local series=$1 run=$2 p=$3 what=$4 d=dumps/$2 f
	local v
	v=$($QEMU --version | head -1 | sed 's/QEMU emulator version //')
	register_dump "$p-elf" qemu-elf none 0 "$series" "$d/elf" - "QEMU $v dump-guest-memory of $what"
	for f in kdump-zlib kdump-lzo kdump-snappy; do
		[[ -s $LAB/$d/$f ]] || continue
		# QEMU's kdump writer records dump level 1 (DUMP_LEVEL in
		# dump/dump.c: zero pages share one zero page), not 0.
		register_dump "$p-${f#kdump-}" qemu-kdump-flat "${f#kdump-}" 1 "$series" "$d/$f" "$p-elf" \
			"QEMU $v dump-guest-memory -${f:6:1} of $what (same stopped state as $p-elf)"
	done
}

# run_qemu_dumps SERIES PREFIX RUN...: RUN is live, panic or novmci.
run_qemu_dumps() {
	local series=$1 p=$2 q=q${2#k} r
	shift 2
	for r in "$@"; do
		case $r in
		live)
			qemu_dump_run "$series" "$q-live" live yes 'LAB: READY'
			register_qemu_run "$series" "$q-live" "$q-live" "a live guest (-device vmcoreinfo), workload running"
			;;
		panic)
			qemu_dump_run "$series" "$q-panic" panic yes 'end Kernel panic'
			register_qemu_run "$series" "$q-panic" "$q-panic" "a panicked guest (-device vmcoreinfo, sysrq-c, no kdump)"
			;;
		novmci)
			qemu_dump_run "$series" "$q-novmci" panic no 'end Kernel panic'
			register_qemu_run "$series" "$q-novmci" "$q-novmci" "a panicked guest without -device vmcoreinfo"
			;;
		*) die "run_qemu_dumps: unknown run $r" ;;
		esac
	done
}
