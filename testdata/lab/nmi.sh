# Step functions: the NMI run. One more genuine kdump, of a machine whose
# panic NMI finds another CPU on the first instruction of entry_SYSCALL_64:
# kernel code still on the user's stack, where crash's bt shows the entry
# frame and then the user registers at the top of the task's stack. By
# chance an NMI rarely lands there; QEMU's gdb stub makes it certain:
#   1. guest/init-nmi runs system calls in a loop on CPU 1 and, pinned to
#      CPU 0, panics 15 s later;
#   2. gdb breaks on entry_SYSCALL_64 on CPU 1 (all CPUs stop), then
#      resumes CPU 0 alone (scheduler-locking) up to the instruction after
#      nmi_shootdown_cpus sends its NMI, which is now pending on CPU 1;
#   3. gdb detaches and every CPU runs: CPU 1 takes the NMI before its
#      first instruction, and the kdump goes on as in the other runs.
# Registered as PREFIX-elf, PREFIX-flat-* and PREFIX-kdump-zstd-d31.
# Sourced by build.sh.

build_nmi_initramfs() { # SERIES
	local series=$1 st=$LAB/initramfs/$1-nmi
	rm -rf "$st"
	mkdir -p "$st"
	cp "$LABSRC/guest/init-nmi" "$st/init"
	chmod +x "$st/init"
	{
		cat "$LAB/initramfs/$series-main.cpio.gz"
		(cd "$st" && find . | cpio -o -H newc --quiet | gzip -1)
	} >"$LAB/initramfs/$series-nmi.cpio.gz"
	rm -rf "$st"
}

# nmi_gdb_script ENTRY POSTSEND: gdb's commands for steps 2 and 3.
nmi_gdb_script() {
	cat <<G
set pagination off
set confirm off
target remote 127.0.0.1:$NMI_GDB_PORT
hbreak *$1 thread 2
continue
info threads
delete
hbreak *$2 thread 1
set scheduler-locking on
thread 1
continue
info threads
delete
set scheduler-locking off
detach
G
}

NMI_GDB_PORT=47123

run_nmi_kdump() { # SERIES NAME
	local series=$1 name=$2 kd out disk
	kd=$(kernel_dir "$series")
	command -v gdb >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q gdb >/dev/null
	out=$LAB/dumps/$name.new
	rm -rf "$out"
	mkdir -p "$out"
	# Where nmi_shootdown_cpus has sent its NMI: the instruction after
	# its call of apic_send_IPI_allbutself, as an offset into the function.
	local off
	off=$(gdb -batch -ex 'disassemble nmi_shootdown_cpus' "$kd/vmlinux" 2>/dev/null |
		awk '/call.*<apic_send_IPI_allbutself>/ { getline; sub(/.*<\+/, ""); sub(/>.*/, ""); print; exit }')
	[[ -n $off ]] || die "kdump $name: no call of apic_send_IPI_allbutself in nmi_shootdown_cpus"
	disk=$LAB/tmp-$name.img
	rm -f "$disk"
	truncate -s 3G "$disk"
	mkfs.ext4 -q -F -O ^metadata_csum_seed "$disk"
	local t0=$SECONDS
	# shellcheck disable=SC2046
	with_timeout 400 $QEMU $(accel_args) -smp 2 -m 1G -display none -monitor none -no-reboot \
		-kernel "$kd/vmlinuz" -initrd "$LAB/initramfs/$series-nmi.cpio.gz" \
		-append "console=ttyS0 crashkernel=256M panic=5 lab=kdump-nmi" \
		-drive "file=$disk,if=virtio,format=raw" -gdb "tcp:127.0.0.1:$NMI_GDB_PORT" \
		-serial "file:$out/serial.log" >"$out/qemu.log" 2>&1 &
	local qpid=$!
	wait_serial "$out/serial.log" 'LAB: nmi-ready' 240 || { kill "$qpid"; die "kdump $name: the guest never got ready (see $out/serial.log)"; }
	local entry nsc
	entry=$(awk '/LAB-SYM: .* entry_SYSCALL_64/ { print $2 }' "$out/serial.log" | tr -d '\r')
	nsc=$(awk '/LAB-SYM: .* nmi_shootdown_cpus/ { print $2 }' "$out/serial.log" | tr -d '\r')
	[[ -n $entry && -n $nsc ]] || { kill "$qpid"; die "kdump $name: the guest printed no symbol addresses"; }
	nmi_gdb_script "0x$entry" "$(printf '0x%x' $((0x$nsc + off)))" >"$out/gdb.cmds"
	with_timeout 120 gdb -batch -x "$out/gdb.cmds" >"$out/gdb.log" 2>&1 || log "gdb exited with $? (see $out/gdb.log)"
	wait "$qpid" || log "qemu exited with $? (see $out/qemu.log)"
	echo "$((SECONDS - t0))" >"$out/qemu-seconds"
	grep -q 'Thread 2 hit Breakpoint 1,' "$out/gdb.log" &&
		grep -q 'Thread 1 hit Breakpoint 2,' "$out/gdb.log" ||
		die "kdump $name: gdb did not stop the CPUs as planned (see $out/gdb.log)"
	grep -q 'LAB: capture done' "$out/serial.log" || die "kdump $name: capture kernel did not finish (see $out/serial.log)"
	local f
	for f in $(debugfs -R 'ls -p /' "$disk" 2>/dev/null | awk -F/ '$6 != "" && $6 != "." && $6 != ".." && $6 != "lost+found" {print $6}'); do
		debugfs -R "dump /$f $out/$f" "$disk" >/dev/null 2>&1
	done
	rm -f "$disk"
	[[ -s $out/vmcore ]] || die "kdump $name: no vmcore saved"
	cp "$kd/release" "$out/release"
	rm -rf "$LAB/dumps/$name"
	mv "$out" "$LAB/dumps/$name"
}

# nmi_lab SERIES PREFIX: the run, its captured files and one conversion.
nmi_lab() {
	local series=$1 p=$2 k
	k=$(step_key "nmi.sh guest/init-nmi" "$(cat "$LAB/stamps/initramfs-$series")")
	run_step "initramfs-$series-nmi" "$k" build_nmi_initramfs "$series"
	run_step "kdump-$series-nmi" "$k" run_nmi_kdump "$series" "$p-kdump"
	k=$(step_key "nmi.sh convert.sh lib.sh" "$k")
	run_step "register-$series-nmi" "$k" register_kdump_run "$series" "$p-kdump" "$p"
	run_step "convert-$series-nmi" "$k" convert_dumps "$series" "$p-kdump" "$p" kdump-zstd-d31
}
