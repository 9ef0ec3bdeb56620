# Step functions: the lab's other kernels, beyond bookworm's 6.1 and 6.12:
#   5.10  bullseye's newest cloud kernel (linux-image-5.10.0-*-cloud-amd64),
#         the oldest LTS still in wide use: no kallsyms in VMCOREINFO, the
#         task's `state`, the mm's VMA list, the ORC layout before 6.4;
#   sid   sid's newest cloud kernel (7.x when this was written), chosen by
#         apt at build time, so that the lab follows new releases.
# Each comes from the mirror through a private apt (its own sources list,
# state and cache under $LAB/apt/<suite>/), like trixie's tools, and gets a
# genuine kdump, a few makedumpfile conversions and a QEMU panic dump through
# the same steps as the others (kernel_lab in build.sh). Sid's crash,
# makedumpfile and drgn are unpacked into $LAB/sid/root and run through sid's
# own loader, for the references of the newest kernel (sidref.sh).
# Sourced by build.sh, after guest.sh (whose choose_kernel and fetch_kernel
# it extends to these series).

# The series these steps add, with their suites and manifest prefixes.
EXTRA_SERIES=(5.10 sid)
declare -A SERIES_SUITE=([5.10]=bullseye [sid]=sid)
declare -A SERIES_PREFIX=([5.10]=k510 [sid]=ksid)

# suite_apt SUITE APT-GET-ARGS...: apt-get on a private state for SUITE.
suite_apt_opts() {
	local T=$LAB/apt/$1
	printf '%s\n' -o "Dir::Etc=$T/etc/apt" -o "Dir::Etc::SourceList=$T/etc/apt/sources.list" \
		-o Dir::Etc::SourceParts=/nonexistent -o Dir::Etc::Preferences=/nonexistent \
		-o Dir::Etc::PreferencesParts=/nonexistent \
		-o "Dir::State=$T/var/lib/apt" -o "Dir::State::status=$T/var/lib/dpkg/status" \
		-o "Dir::Cache=$T/var/cache/apt" -o Debug::NoLocking=1 \
		-o APT::Architecture=amd64 -o APT::Architectures=amd64
}
suite_apt() {
	local suite=$1; shift
	local -a o
	mapfile -t o < <(suite_apt_opts "$suite")
	apt-get "${o[@]}" "$@"
}
suite_apt_cache() {
	local suite=$1; shift
	local -a o
	mapfile -t o < <(suite_apt_opts "$suite")
	apt-cache "${o[@]}" "$@"
}
# suite_apt_update SUITE: the private lists, refreshed at most once a build.
suite_apt_update() {
	local suite=$1 T=$LAB/apt/$1
	[[ -f $T/updated.$$ ]] && return 0
	mkdir -p "$T/etc/apt" "$T/var/lib/apt/lists/partial" "$T/var/cache/apt/archives/partial" "$T/var/lib/dpkg"
	[[ -f $T/var/lib/dpkg/status ]] || : >"$T/var/lib/dpkg/status"
	echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian $suite main" \
		>"$T/etc/apt/sources.list"
	suite_apt "$suite" update -qq >"$LAB/logs/apt-$suite.log" 2>&1 ||
		die "$suite apt-get update failed (see $LAB/logs/apt-$suite.log)"
	rm -f "$T"/updated.*
	: >"$T/updated.$$"
}

# Bookworm's series keep guest.sh's own steps.
if declare -F choose_kernel_bookworm >/dev/null || ! declare -F choose_kernel >/dev/null; then
	: # sourced before guest.sh, or a second time
else
	eval "$(declare -f choose_kernel | sed '1s/^choose_kernel/choose_kernel_bookworm/')"
	eval "$(declare -f fetch_kernel | sed '1s/^fetch_kernel/fetch_kernel_bookworm/')"
fi

# choose_kernel SERIES: as guest.sh's, for the extra series too. The env file
# lists every package to fetch (KIMG_PKGS): sid splits the image into
# linux-binary (vmlinuz), linux-modules and linux-base (System.map, config)
# under /usr/lib/modules/RELEASE/.
choose_kernel() {
	local series=$1 env=$LAB/kernel-$1.env
	[[ -n ${SERIES_SUITE[$series]:-} ]] || { choose_kernel_bookworm "$series"; return; }
	[[ -f $env ]] && return 0
	local suite=${SERIES_SUITE[$series]} meta img pkgs dbg
	suite_apt_update "$suite"
	case $series in
	5.10) meta=$(suite_apt_cache "$suite" depends linux-image-cloud-amd64 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-5\.10\.0-[0-9]*-cloud-amd64\)$/\1/p' | head -1) ;;
	sid) meta=$(suite_apt_cache "$suite" depends linux-image-cloud-amd64 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-cloud-amd64\)$/\1/p' | head -1) ;;
	esac
	[[ -n $meta ]] || die "no $series cloud kernel on $suite's mirror"
	img=$meta
	pkgs=$meta-unsigned
	if ! suite_apt_cache "$suite" show "$pkgs" >/dev/null 2>&1; then
		# The image is a metapackage of linux-binary, -modules and -base.
		local kver=${meta#linux-image-}
		pkgs="linux-binary-$kver linux-modules-$kver linux-base-$kver"
	fi
	dbg=$meta-dbg
	local kver=${img#linux-image-}
	printf 'KSERIES=%s\nKSUITE=%s\nKIMG_PKG=%s\nKIMG_PKGS="%s"\nKDBG_PKG=%s\nKVER=%s\n' \
		"$series" "$suite" "$img" "$pkgs" "$dbg" "$kver" >"$env"
	log "kernel $series ($suite): $pkgs + $dbg"
}

fetch_kernel() {
	local series=$1
	[[ -n ${SERIES_SUITE[$series]:-} ]] || { fetch_kernel_bookworm "$series"; return; }
	# shellcheck disable=SC1090
	source "$LAB/kernel-$series.env"
	local kd p
	kd=$(kernel_dir "$series")
	mkdir -p "$LAB/debs/$series"
	for p in $KIMG_PKGS $KDBG_PKG; do
		ls "$LAB/debs/$series/${p}"_*.deb >/dev/null 2>&1 && continue
		suite_apt_update "$KSUITE"
		(cd "$LAB/debs/$series" && suite_apt "$KSUITE" download "$p") >>"$LAB/logs/apt-kernel.log" 2>&1 ||
			die "apt-get download of $p from $KSUITE failed"
	done
	rm -rf "$kd"
	mkdir -p "$kd/img" "$kd/dbg"
	for p in $KIMG_PKGS; do dpkg-deb -x "$LAB/debs/$series/${p}"_*.deb "$kd/img"; done
	dpkg-deb --fsys-tarfile "$LAB/debs/$series/${KDBG_PKG}"_*.deb |
		tar -x -C "$kd/dbg" --wildcards "./usr/lib/debug/boot/vmlinux-*" \
			"./usr/lib/debug/lib/modules/*/vmlinux" \
			"./usr/lib/debug/lib/modules/*/kernel/drivers/virtio/*" \
			"./usr/lib/debug/lib/modules/*/kernel/drivers/block/virtio_blk.ko*" 2>/dev/null || true
	local v
	v=$(find "$kd/dbg" -name "vmlinux*" -type f | head -1)
	[[ -n $v ]] || die "no vmlinux in $KDBG_PKG"
	ln -sf "${v#"$kd"/}" "$kd/vmlinux"
	# Merged-/usr packages put everything under usr/lib/modules/RELEASE;
	# the lab's steps and tests look in img/lib/modules and img/boot.
	if [[ ! -e $kd/img/lib && -d $kd/img/usr/lib/modules ]]; then
		ln -s usr/lib "$kd/img/lib"
	fi
	local m=img/lib/modules/$KVER b=img/boot
	if [[ -f $kd/$b/vmlinuz-$KVER ]]; then
		ln -sf "$b/vmlinuz-$KVER" "$kd/vmlinuz"
		ln -sf "$b/config-$KVER" "$kd/config"
		ln -sf "$b/System.map-$KVER" "$kd/System.map"
	else
		ln -sf "$m/vmlinuz" "$kd/vmlinuz"
		ln -sf "$m/config" "$kd/config"
		ln -sf "$m/System.map" "$kd/System.map"
	fi
	[[ -f $kd/vmlinuz && -f $kd/System.map ]] || die "kernel $series: no vmlinuz or System.map in $KIMG_PKGS"
	echo "$KVER" >"$kd/release"
}

# extra_kernels_lab: each extra series through build.sh's kernel_lab, with the
# second kernel's smaller set of conversions and the QEMU panic dump.
extra_kernels_lab() {
	local s
	for s in "${EXTRA_SERIES[@]}"; do
		kernel_lab "$s" "${SERIES_PREFIX[$s]}" 1G 256M 0
	done
}

# The crash command groups are recorded on a kdump of each extra kernel too.
GROUP_DUMPS+=(k510-elf k510-kdump-lzo-d31)

# Sid's reference tools: crash (9.x), makedumpfile (1.7.8+) and drgn (0.3+,
# python3-drgn), the hard-dependency closure unpacked into $LAB/sid/root and
# run through sid's own loader, like trixie's. Python finds its library and
# drgn through PYTHONHOME.
SID_PACKAGES=(crash makedumpfile python3-drgn)
SID=$LAB/sid/root
sid_run() {
	local bin=$1; shift
	"$SID/usr/lib64/ld-linux-x86-64.so.2" --library-path "$SID/usr/lib/x86_64-linux-gnu" "$SID$bin" "$@"
}
sid_python() { PYTHONHOME=$SID/usr PYTHONDONTWRITEBYTECODE=1 sid_run /usr/bin/python3 "$@"; }

build_sid_root() {
	local T=$LAB/sid
	suite_apt_update sid
	rm -rf "$T/root" "$T/debs"
	mkdir -p "$T/root" "$T/debs"
	local pkgs
	pkgs=$(suite_apt_cache sid depends --recurse --no-recommends --no-suggests --no-conflicts \
		--no-breaks --no-replaces --no-enhances "${SID_PACKAGES[@]}" 2>/dev/null |
		grep -E '^[a-z0-9]' | sort -u)
	# shellcheck disable=SC2086
	(cd "$T/debs" && suite_apt sid download $pkgs >>"$LAB/logs/apt-sid.log" 2>&1) ||
		die "sid apt-get download failed (see $LAB/logs/apt-sid.log)"
	local d
	for d in "$T"/debs/*.deb; do dpkg-deb -x "$d" "$T/root"; done
	# python3 is a symlink to python3.N in the package; keep it relative.
	{
		sid_run /usr/bin/crash --version | grep -m1 '^crash'
		sid_run /usr/bin/makedumpfile -v 2>&1 | head -1
		sid_python -c 'import drgn; print("drgn", drgn.__version__)'
	} >"$T/versions.txt" 2>&1
	log "sid tools: $(tr '\n' ';' <"$T/versions.txt")"
}

# sid_tool_version NAME: the version of sid's crash, makedumpfile or drgn
# (crash-9.0.2, makedumpfile-1.7.8, drgn-0.3.0), from versions.txt.
sid_tool_version() {
	case $1 in
	crash) sed -n 's/^crash \([0-9.]*\).*/crash-\1/p' "$LAB/sid/versions.txt" ;;
	makedumpfile) sed -n 's/^makedumpfile: version \([0-9.]*\).*/makedumpfile-\1/p' "$LAB/sid/versions.txt" ;;
	drgn) sed -n 's/^drgn \([0-9.]*\).*/drgn-\1/p' "$LAB/sid/versions.txt" ;;
	esac
}

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
	k=$(step_key "kernels.sh hmp.py" "$(cat "$LAB/stamps/initramfs-sid")" "$(cat "$LAB/sid/qemu-version.txt")")
	run_step qemudump-sid-sidqemu "$k" sid_qemu_dumps sid qsid-sidqemu-panic
	k=$(step_key "kernels.sh" "$(cat "$LAB/stamps/kdump-sid")" "$(cat "$LAB/sid/versions.txt")")
	run_step convert-sid-mdf "$k" sid_conversions sid ksid-kdump ksid
}
