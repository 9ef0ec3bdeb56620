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
