# Step functions: host packages (bookworm) and trixie's crash/makedumpfile in
# a private root. Sourced by build.sh.

HOST_PACKAGES=(qemu-system-x86 kexec-tools makedumpfile crash busybox-static
	python3-drgn cpio e2fsprogs zstd xz-utils ca-certificates file)
TRIXIE_PACKAGES=(crash makedumpfile)

host_packages_missing() {
	local p
	for p in "${HOST_PACKAGES[@]}"; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' || echo "$p"
	done
}

install_host_packages() {
	local missing
	missing=$(host_packages_missing)
	[[ -z $missing ]] && return 0
	log "apt-get install $missing"
	apt-get update -qq
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >"$LAB/logs/apt-host.log"
}

# apt options for the private trixie apt: own sources list, own state and
# cache directories, an empty dpkg status, so nothing touches the host's apt.
trixie_apt() {
	local T=$LAB/trixie
	apt-get -o Dir::Etc="$T/etc/apt" -o Dir::Etc::SourceList="$T/etc/apt/sources.list" \
		-o Dir::Etc::SourceParts=/nonexistent -o Dir::Etc::Preferences=/nonexistent \
		-o Dir::Etc::PreferencesParts=/nonexistent \
		-o Dir::State="$T/var/lib/apt" -o Dir::State::status="$T/var/lib/dpkg/status" \
		-o Dir::Cache="$T/var/cache/apt" -o Debug::NoLocking=1 \
		-o APT::Architecture=amd64 -o APT::Architectures=amd64 "$@"
}
trixie_apt_cache() {
	local T=$LAB/trixie
	apt-cache -o Dir::Etc="$T/etc/apt" -o Dir::Etc::SourceList="$T/etc/apt/sources.list" \
		-o Dir::Etc::SourceParts=/nonexistent -o Dir::Etc::Preferences=/nonexistent \
		-o Dir::Etc::PreferencesParts=/nonexistent \
		-o Dir::State="$T/var/lib/apt" -o Dir::State::status="$T/var/lib/dpkg/status" \
		-o Dir::Cache="$T/var/cache/apt" \
		-o APT::Architecture=amd64 -o APT::Architectures=amd64 "$@"
}

build_trixie_root() {
	local T=$LAB/trixie
	rm -rf "$T/root"
	mkdir -p "$T/etc/apt" "$T/var/lib/apt/lists/partial" "$T/var/cache/apt/archives/partial" \
		"$T/var/lib/dpkg" "$T/debs" "$T/root"
	: >"$T/var/lib/dpkg/status"
	echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main" \
		>"$T/etc/apt/sources.list"
	trixie_apt update -qq >"$LAB/logs/apt-trixie.log" 2>&1 || die "trixie apt-get update failed (see $LAB/logs/apt-trixie.log)"
	# The dependency closure of crash and makedumpfile (hard Depends and
	# Pre-Depends only); apt-get download fetches exactly those .debs.
	local pkgs
	pkgs=$(trixie_apt_cache depends --recurse --no-recommends --no-suggests --no-conflicts \
		--no-breaks --no-replaces --no-enhances "${TRIXIE_PACKAGES[@]}" |
		grep -E '^[a-z0-9]' | sort -u)
	# shellcheck disable=SC2086
	(cd "$T/debs" && trixie_apt download $pkgs >>"$LAB/logs/apt-trixie.log" 2>&1) ||
		die "trixie apt-get download failed (see $LAB/logs/apt-trixie.log)"
	local d
	for d in "$T"/debs/*.deb; do dpkg-deb -x "$d" "$T/root"; done
	crash_trixie --version | head -1 >"$T/versions.txt"
	makedumpfile_trixie -v 2>&1 | head -1 >>"$T/versions.txt"
	log "trixie tools: $(tr '\n' ';' <"$T/versions.txt")"
}
