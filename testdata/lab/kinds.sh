# Step functions: the crash-kind runs. The other runs all die by sysrq-c;
# these die the other ways a fleet sees, each through a kernel mechanism the
# guest's own tools provoke (guest/init-kinds): a hung task
# (kernel.hung_task_panic), an out-of-memory panic (vm.panic_on_oom) and the
# death of init.
# Each is a genuine kdump like the others (its initramfs is the lab's own with
# guest/init-kinds appended as /init), with the capture kernel's files and one
# host conversion, for `vmcore triage` to classify on every format.
# Sourced by build.sh.

# KINDS: the kinds made on each kernel series given to kinds_lab.
KINDS=(hung oom init)

build_kinds_initramfs() { # SERIES
	local series=$1 st=$LAB/initramfs/$1-kinds
	rm -rf "$st"
	mkdir -p "$st"
	cp "$LABSRC/guest/init-kinds" "$st/init"
	chmod +x "$st/init"
	{
		cat "$LAB/initramfs/$series-main.cpio.gz"
		(cd "$st" && find . | cpio -o -H newc --quiet | gzip -1)
	} >"$LAB/initramfs/$series-kinds.cpio.gz"
	rm -rf "$st"
}

# run_kind_kdump SERIES KIND NAME: one kdump of a machine dying of KIND,
# saved to dumps/NAME as run_kdump saves its run.
run_kind_kdump() {
	local series=$1 kind=$2 name=$3 kd out disk
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
	with_timeout 600 $QEMU $(accel_args) -smp 2 -m 1G -display none -monitor none -no-reboot \
		-kernel "$kd/vmlinuz" -initrd "$LAB/initramfs/$series-kinds.cpio.gz" \
		-append "console=ttyS0 crashkernel=256M panic=5 lab=kind-$kind" \
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
	echo "$kind" >"$out/kind"
	cp "$kd/release" "$out/release"
	rm -rf "$LAB/dumps/$name"
	mv "$out" "$LAB/dumps/$name"
}

# kinds_lab SERIES PREFIX: every KIND on SERIES, registered as
# PREFIX<kind>-elf, PREFIX<kind>-flat-*, PREFIX<kind>-kdump-zstd-d31 and
# PREFIX<kind>-kdump-lzo-d31-R (e.g. k612hung-elf).
kinds_lab() {
	local series=$1 p=$2 k kind
	k=$(step_key "kinds.sh guest/init-kinds" "$(cat "$LAB/stamps/initramfs-$series")")
	run_step "initramfs-$series-kinds" "$k" build_kinds_initramfs "$series"
	for kind in "${KINDS[@]}"; do
		run_step "kdump-$series-$kind" "$k" run_kind_kdump "$series" "$kind" "$p$kind-kdump"
		local kc
		kc=$(step_key "kinds.sh convert.sh lib.sh" "$k")
		run_step "register-$series-$kind" "$kc" register_kdump_run "$series" "$p$kind-kdump" "$p$kind"
		run_step "convert-$series-$kind" "$kc" convert_dumps "$series" "$p$kind-kdump" "$p$kind" kdump-zstd-d31
	done
}
