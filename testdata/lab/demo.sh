# Step function: the small real demo dump committed under testdata/demo/.
# A separate kdump run of the 6.1 kernel with little RAM, converted with
# makedumpfile -z -d 31 (zstd, all excludable pages excluded). Sourced by
# build.sh. The copy into the checkout happens only when testdata/demo has
# no dump yet or when build.sh runs with --export (a rebuilt lab makes a new
# crash, so the committed files would change on every fresh machine).

DEMO_MEM=320M
DEMO_CRASHKERNEL=128M
DEMO_NAME=vmcore-6.1-kdump-zstd-d31

make_demo() {
	run_kdump 6.1 demo61 "$DEMO_MEM" "$DEMO_CRASHKERNEL"
	local d=$LAB/dumps/demo61
	makedumpfile_trixie --message-level 22 -z -d 31 "$d/vmcore" "$d/$DEMO_NAME" >"$d/$DEMO_NAME.log" 2>&1 ||
		die "demo: makedumpfile failed (see $d/$DEMO_NAME.log)"
	local size
	size=$(stat -c %s "$d/$DEMO_NAME")
	((size <= 20 * 1024 * 1024)) || die "demo: $DEMO_NAME is $size bytes, over 20 MiB"
	register_dump demo61-elf elf none 0 6.1 dumps/demo61/vmcore - \
		"kdump in QEMU ($(cat "$LAB/accel")), ${DEMO_MEM} RAM, crashkernel=$DEMO_CRASHKERNEL: cat /proc/vmcore"
	register_dump demo61-kdump-zstd-d31 kdump zstd 31 6.1 "dumps/demo61/$DEMO_NAME" demo61-elf \
		"host: makedumpfile 1.7.6 -z -d 31 dumps/demo61/vmcore (committed as testdata/demo/$DEMO_NAME)"
}

# export_demo: copies the demo dump, its provenance and its small reference
# outputs into testdata/demo/.
export_demo() {
	local d=$LAB/dumps/demo61 dst=$REPO/testdata/demo
	[[ -f $d/$DEMO_NAME ]] || return 0
	if [[ -f $dst/$DEMO_NAME && $EXPORT != 1 ]]; then
		return 0
	fi
	mkdir -p "$dst/expected"
	cp "$d/$DEMO_NAME" "$dst/$DEMO_NAME"
	rm -rf "$dst/expected"
	mkdir -p "$dst/expected"
	local ref=$LAB/ref/demo61-kdump-zstd-d31 f
	for f in makedumpfile-dump-dmesg.txt status.tsv crash-8.0.6/sys.txt crash-8.0.6/log.txt crash-8.0.6/ps.txt \
		crash-8.0.6/bt.txt drgn/tasks.txt drgn/dmesg.txt; do
		[[ -f $ref/$f ]] || continue
		mkdir -p "$dst/expected/$(dirname "$f")"
		sed "s|$LAB/|\$LAB/|g" "$ref/$f" >"$dst/expected/$f"
	done
	# shellcheck disable=SC1090
	source "$LAB/kernel-6.1.env"
	local kdeb
	kdeb=$(basename "$LAB"/debs/6.1/"$KIMG_PKG"_*.deb)
	cat >"$dst/PROVENANCE" <<EOT
$DEMO_NAME: a real kdump of a Debian 12 cloud kernel, made by testdata/lab (demo.sh).
Written by the lab; never edit by hand. Re-made by: testdata/lab/build.sh --export

file:        $DEMO_NAME
size:        $(stat -c %s "$dst/$DEMO_NAME") bytes
sha256:      $(sha256sum "$dst/$DEMO_NAME" | cut -d' ' -f1)
made:        $(date -u -r "$d/$DEMO_NAME" +%FT%TZ)
kernel:      $(cat "$LAB/kernel/6.1/release") from $kdeb (Debian bookworm)
debuginfo:   $KDBG_PKG (not committed; the lab downloads it)
guest:       QEMU $($QEMU --version | head -1 | sed 's/QEMU emulator version //'), $(cat "$LAB/accel"), 2 vCPUs, $DEMO_MEM RAM
             kernel command line: console=ttyS0 crashkernel=$DEMO_CRASHKERNEL panic=5 lab=kdump
crash:       the workload of testdata/lab/guest/init (lab-spin, lab-pipe-reader,
             lab-pipe-writer, lab-sleeper, VMCORE-LAB-MARKER lines), then
             sysrq-c from lab-panic; the capture kernel (kexec -p) saved
             /proc/vmcore ($(stat -c %s "$d/vmcore") bytes, ELF)
conversion:  makedumpfile 1.7.6 (Debian trixie) -z -d 31 vmcore $DEMO_NAME
             (zstd pages; zero, cache, private cache, user and free pages excluded)
expected/:   reference outputs of crash 8.0.6, makedumpfile --dump-dmesg and drgn 0.0.22
             for this file (crash and drgn used the -dbg vmlinux)
EOT
	log "demo dump exported to $dst ($(stat -c %s "$dst/$DEMO_NAME") bytes)"
}
