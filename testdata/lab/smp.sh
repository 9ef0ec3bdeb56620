# Step functions: the SMP run. One more genuine kdump per kernel, of a machine
# unlike the other runs': four vCPUs of QEMU's qemu64 model (an AMD K8, whose
# idle routine is amd_e400_idle, where the default model halts in
# default_idle), a dozen more modules, and a workload (guest/init-smp) that
# leaves at panic time CPUs busy in user space and in the kernel, one idle,
# and a zombie. The panic stops the other CPUs by NMI wherever they are, so
# bt -a meets NMI frames over user, kernel and idle code. Its initramfs is the
# lab's own with an archive appended (the kernel unpacks both, the later
# winning), so the capture kernel and its /init are the other runs'.
# Sourced by build.sh.

# Modules with no dependencies outside the list, in load order; missing ones
# (built into one kernel, absent from the other) are skipped.
SMP_MODULES=(configfs null_blk dummy loop nbd tun veth brd zsmalloc cdrom isofs crc32_generic fuse)

build_smp_initramfs() { # SERIES
	local series=$1 kd st m f
	kd=$(kernel_dir "$series")
	st=$LAB/initramfs/$series-smp
	rm -rf "$st"
	mkdir -p "$st/modules-smp"
	: >"$st/modules-smp/order"
	for m in "${SMP_MODULES[@]}"; do
		f=$(find "$kd/img/lib/modules" -name "$m.ko*" | head -1)
		[[ -n $f ]] || continue
		case $f in
		*.ko.xz) xz -dc "$f" >"$st/modules-smp/$m.ko" ;;
		*.ko.zst) zstd -qdc "$f" >"$st/modules-smp/$m.ko" ;;
		*.ko.gz) gzip -dc "$f" >"$st/modules-smp/$m.ko" ;;
		*) cp "$f" "$st/modules-smp/$m.ko" ;;
		esac
		echo "$m" >>"$st/modules-smp/order"
	done
	cp "$LABSRC/guest/init-smp" "$st/init"
	chmod +x "$st/init"
	{
		cat "$LAB/initramfs/$series-main.cpio.gz"
		(cd "$st" && find . | cpio -o -H newc --quiet | gzip -1)
	} >"$LAB/initramfs/$series-smp.cpio.gz"
	rm -rf "$st"
}

# smp_cpu_args: the qemu64 model under TCG; under KVM the host's CPU (the
# model matters for the idle routine only where it is emulated).
smp_cpu_args() {
	case $(cat "$LAB/accel") in
	kvm) echo -accel kvm -cpu host ;;
	*) echo -accel tcg -cpu qemu64 ;;
	esac
}

run_smp_kdump() { # SERIES NAME
	local series=$1 name=$2 kd out disk
	kd=$(kernel_dir "$series")
	out=$LAB/dumps/$name.new
	rm -rf "$out"
	mkdir -p "$out"
	disk=$LAB/tmp-$name.img
	rm -f "$disk"
	truncate -s 3G "$disk"
	mkfs.ext4 -q -F -O ^metadata_csum_seed "$disk"
	local t0=$SECONDS
	# shellcheck disable=SC2046
	with_timeout 400 $QEMU $(smp_cpu_args) -smp 4 -m 1G -display none -monitor none -no-reboot \
		-kernel "$kd/vmlinuz" -initrd "$LAB/initramfs/$series-smp.cpio.gz" \
		-append "console=ttyS0 crashkernel=256M panic=5 lab=kdump-smp" \
		-drive "file=$disk,if=virtio,format=raw" \
		-serial "file:$out/serial.log" >"$out/qemu.log" 2>&1 || log "qemu exited with $? (see $out/qemu.log)"
	echo "$((SECONDS - t0))" >"$out/qemu-seconds"
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

# smp_lab SERIES PREFIX: the run, its captured files and one compressed
# conversion, registered as PREFIX-elf, PREFIX-flat-*, PREFIX-kdump-zstd-d31.
smp_lab() {
	local series=$1 p=$2 k
	k=$(step_key "smp.sh guest/init-smp" "$(cat "$LAB/stamps/initramfs-$series")")
	run_step "initramfs-$series-smp" "$k" build_smp_initramfs "$series"
	run_step "kdump-$series-smp" "$k" run_smp_kdump "$series" "$p-kdump"
	k=$(step_key "smp.sh convert.sh lib.sh" "$k")
	run_step "register-$series-smp" "$k" register_kdump_run "$series" "$p-kdump" "$p"
	run_step "convert-$series-smp" "$k" convert_dumps "$series" "$p-kdump" "$p" kdump-zstd-d31
}
