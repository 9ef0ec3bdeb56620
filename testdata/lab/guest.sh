# Step functions: kernel download, busybox initramfs, QEMU runs.
# Sourced by build.sh.

# Modules the guest needs, in load order: virtio disks for the capture
# kernel, and qemu_fw_cfg, through which the kernel hands its VMCOREINFO to
# QEMU's -device vmcoreinfo (without it QEMU warns "guest note is not
# present"). Missing ones are skipped, so one list serves 6.1 and 6.12.
GUEST_MODULES=(virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci virtio_blk qemu_fw_cfg)

# choose_kernel SERIES: records in $LAB/kernel-SERIES.env the newest ABI of a
# Debian cloud kernel series on the mirror; once chosen it stays (the .debs
# are kept), so a rebuild does not depend on what the mirror keeps.
choose_kernel() {
	local series=$1 env=$LAB/kernel-$1.env img dbg
	[[ -f $env ]] && return 0
	apt-get update -qq
	case $series in
	6.1)
		img=$(apt-cache depends linux-image-cloud-amd64 | sed -n 's/^ *Depends: \(linux-image-6\.1\.0-[0-9]*-cloud-amd64\)$/\1/p' | head -1)
		[[ -n $img ]] || die "no linux-image-6.1.0-*-cloud-amd64 on the mirror"
		dbg=$img-dbg
		;;
	6.12)
		local signed
		signed=$(apt-cache depends linux-image-6.12-cloud-amd64 | sed -n 's/^ *Depends: \(linux-image-6\.12\..*-cloud-amd64\)$/\1/p' | head -1)
		[[ -n $signed ]] || die "no linux-image-6.12.*-cloud-amd64 on the mirror"
		img=$signed-unsigned
		dbg=$signed-dbg
		;;
	*) die "unknown kernel series $series" ;;
	esac
	local kver=${img#linux-image-}
	kver=${kver%-unsigned}
	printf 'KSERIES=%s\nKIMG_PKG=%s\nKDBG_PKG=%s\nKVER=%s\n' "$series" "$img" "$dbg" "$kver" >"$env"
	log "kernel $series: $img + $dbg"
}

kernel_dir() { echo "$LAB/kernel/$1"; }

fetch_kernel() {
	local series=$1
	# shellcheck disable=SC1090
	source "$LAB/kernel-$series.env"
	local kd
	kd=$(kernel_dir "$series")
	mkdir -p "$LAB/debs/$series"
	(cd "$LAB/debs/$series" && { ls "${KIMG_PKG}"_*.deb >/dev/null 2>&1 || apt-get download "$KIMG_PKG"; } &&
		{ ls "${KDBG_PKG}"_*.deb >/dev/null 2>&1 || apt-get download "$KDBG_PKG"; }) \
		>>"$LAB/logs/apt-kernel.log" 2>&1 || die "apt-get download of $KIMG_PKG/$KDBG_PKG failed"
	rm -rf "$kd"
	mkdir -p "$kd/img" "$kd/dbg"
	dpkg-deb -x "$LAB/debs/$series/${KIMG_PKG}"_*.deb "$kd/img"
	# From the -dbg package only the debuginfo vmlinux is needed.
	dpkg-deb --fsys-tarfile "$LAB/debs/$series/${KDBG_PKG}"_*.deb |
		tar -x -C "$kd/dbg" --wildcards "./usr/lib/debug/boot/vmlinux-*" \
			"./usr/lib/debug/lib/modules/*/kernel/drivers/virtio/*" \
			"./usr/lib/debug/lib/modules/*/kernel/drivers/block/virtio_blk.ko*" 2>/dev/null || true
	local v
	v=$(find "$kd/dbg" -name "vmlinux*" -type f | head -1)
	[[ -n $v ]] || die "no vmlinux in $KDBG_PKG"
	ln -sf "${v#"$kd"/}" "$kd/vmlinux"
	ln -sf "img/boot/vmlinuz-$KVER" "$kd/vmlinuz"
	ln -sf "img/boot/config-$KVER" "$kd/config"
	ln -sf "img/boot/System.map-$KVER" "$kd/System.map"
	echo "$KVER" >"$kd/release"
}

# copy_with_libs ROOT BIN: copies a host binary and the libraries ldd names.
copy_with_libs() {
	local root=$1 bin=$2 lib
	mkdir -p "$root$(dirname "$bin")"
	cp -L "$bin" "$root$bin"
	for lib in $(ldd "$bin" | grep -o '/[^ ]*'); do
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib"
	done
}

build_initramfs() {
	local series=$1 kd st
	kd=$(kernel_dir "$series")
	st=$LAB/initramfs/$series
	rm -rf "$st"
	mkdir -p "$st"/{bin,sbin,proc,sys,dev,tmp,mnt,boot,lab,modules,trixie/lib}
	cp /bin/busybox "$st/bin/busybox"
	ln -s busybox "$st/bin/sh"
	copy_with_libs "$st" /sbin/kexec
	# Trixie's makedumpfile (1.7.6, zstd) runs in the capture kernel through
	# trixie's loader, like on the host.
	cp "$TRIXIE/usr/bin/makedumpfile" "$st/trixie/makedumpfile"
	cp "$TRIXIE/usr/lib64/ld-linux-x86-64.so.2" "$st/trixie/ld.so"
	local lib
	for lib in $("$TRIXIE/usr/lib64/ld-linux-x86-64.so.2" --library-path "$TRIXIE_LIBPATH" --list \
		"$TRIXIE/usr/bin/makedumpfile" | grep -o "$TRIXIE/[^ ]*"); do
		cp -L "$lib" "$st/trixie/lib/"
	done
	printf '#!/bin/sh\nexec /trixie/ld.so --library-path /trixie/lib /trixie/makedumpfile "$@"\n' >"$st/sbin/makedumpfile"
	chmod +x "$st/sbin/makedumpfile"
	local m f
	: >"$st/modules/order"
	for m in "${GUEST_MODULES[@]}"; do
		f=$(find "$kd/img/lib/modules" -name "$m.ko*" | head -1)
		[[ -n $f ]] || continue
		case $f in
		*.ko.xz) xz -dc "$f" >"$st/modules/$m.ko" ;;
		*.ko.zst) zstd -qdc "$f" >"$st/modules/$m.ko" ;;
		*.ko.gz) gzip -dc "$f" >"$st/modules/$m.ko" ;;
		*) cp "$f" "$st/modules/$m.ko" ;;
		esac
		echo "$m" >>"$st/modules/order"
	done
	cp "$LABSRC/guest/init" "$st/init"
	chmod +x "$st/init"
	# What the capture kernel writes with makedumpfile -F besides /proc/vmcore.
	echo "flat-lzo-d31:-l,-d,31 flat-zstd-d17:-z,-d,17" >"$st/lab/capture-flat"
	(cd "$st" && find . -path ./boot -prune -o -print | cpio -o -H newc --quiet | gzip -1) >"$LAB/initramfs/$series-capture.cpio.gz"
	cp "$LAB/initramfs/$series-capture.cpio.gz" "$st/boot/capture.cpio.gz"
	cp -L "$kd/vmlinuz" "$st/boot/vmlinuz"
	(cd "$st" && find . | cpio -o -H newc --quiet | gzip -1) >"$LAB/initramfs/$series-main.cpio.gz"
	rm -rf "$st"
}

# The QEMU accelerator: KVM when a probe boot under it reaches /init and
# powers off in time, TCG otherwise. Decided once, recorded in $LAB/accel.
QEMU=qemu-system-x86_64
choose_accel() {
	local series=$1 kd
	kd=$(kernel_dir "$series")
	local accel=tcg
	if [[ -w /dev/kvm ]]; then
		local logf=$LAB/logs/kvm-probe.serial
		rm -f "$logf"
		with_timeout 30 $QEMU -accel kvm -cpu host -smp 2 -m 512M -display none -monitor none -no-reboot \
			-kernel "$kd/vmlinuz" -initrd "$LAB/initramfs/$series-capture.cpio.gz" \
			-append "console=ttyS0 lab=probe" -serial "file:$logf" >"$LAB/logs/kvm-probe.log" 2>&1 || true
		if grep -q 'LAB: power off' "$logf" 2>/dev/null; then accel=kvm; fi
	fi
	echo "$accel" >"$LAB/accel"
	log "accelerator: $accel ($(cat "$LAB/logs/kvm-probe.log" 2>/dev/null | head -2 | tr '\n' ' '))"
}
accel_args() {
	case $(cat "$LAB/accel") in
	kvm) echo -accel kvm -cpu host ;;
	*) echo -accel tcg -cpu max,la57=off ;;
	esac
}

# run_kdump SERIES NAME MEM CRASHKERNEL: one genuine kdump: the guest boots
# with crashkernel=, loads the capture kernel, runs the workload, panics; the
# capture kernel writes /proc/vmcore and makedumpfile -F streams to an ext4
# virtio disk, which debugfs then reads on the host (no loop mount needed).
run_kdump() {
	local series=$1 name=$2 mem=$3 ck=$4 kd out
	kd=$(kernel_dir "$series")
	# Built aside and renamed at the end: tests may be reading the old run.
	out=$LAB/dumps/$name.new
	rm -rf "$out"
	mkdir -p "$out"
	local disk=$LAB/tmp-$name.img
	rm -f "$disk"
	truncate -s 3G "$disk"
	mkfs.ext4 -q -F -O ^metadata_csum_seed "$disk"
	local t0=$SECONDS
	# shellcheck disable=SC2046
	with_timeout 300 $QEMU $(accel_args) -smp 2 -m "$mem" -display none -monitor none -no-reboot \
		-kernel "$kd/vmlinuz" -initrd "$LAB/initramfs/$series-main.cpio.gz" \
		-append "console=ttyS0 crashkernel=$ck panic=5 lab=kdump" \
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
