#!/usr/bin/env bash
# Builds the real-kernel lab: Debian cloud kernels booted in QEMU, genuine
# kdumps, makedumpfile conversions, QEMU dump-guest-memory dumps, and the
# reference outputs of crash, makedumpfile, vmcore-dmesg and drgn for each.
#
# Needs root on Debian 12 and Debian's package mirror, nothing else. All output
# goes to ${VMCORE_LAB_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/vmcore-lab}; every
# step is keyed (stamps/), so a second run does nothing. Prints the lab's path
# on the last line of stdout. See testdata/lab/README.md.
#
# Usage: build.sh [--only-6.1] [--export]
#   --only-6.1  skips the other kernels (6.12, 5.10, sid's)
#   --export    rewrites the committed copies (testdata/lab/expected/,
#               testdata/demo/) from this lab; otherwise they are written
#               only where missing
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$LABSRC/tools.sh"
source "$LABSRC/guest.sh"
source "$LABSRC/convert.sh"
[[ -f $LABSRC/qemudump.sh ]] && source "$LABSRC/qemudump.sh"
[[ -f $LABSRC/record.sh ]] && source "$LABSRC/record.sh"
[[ -f $LABSRC/record_groups.sh ]] && source "$LABSRC/record_groups.sh"
[[ -f $LABSRC/demo.sh ]] && source "$LABSRC/demo.sh"
[[ -f $LABSRC/smp.sh ]] && source "$LABSRC/smp.sh"
source "$LABSRC/kinds.sh"
source "$LABSRC/nmi.sh"
source "$LABSRC/kernels.sh"
source "$LABSRC/sidwriters.sh"
source "$LABSRC/sidref.sh"
source "$LABSRC/sidgroups.sh"
source "$LABSRC/summary.sh"

ONLY61=0
EXPORT=0
for arg in "$@"; do
	case $arg in
	--only-6.1) ONLY61=1 ;;
	--export) EXPORT=1 ;;
	*) die "usage: build.sh [--only-6.1] [--export]" ;;
	esac
done
export EXPORT
[[ $(id -u) == 0 ]] || die "run as root (apt-get install, apt-get download)"

T0=$SECONDS
exec 3>&1 1>>"$LAB/logs/build.log" 2> >(tee -a "$LAB/logs/build.log" >&2)
log "lab: $LAB"

run_step host-packages "$(step_key tools.sh "${HOST_PACKAGES[*]}")" install_host_packages
# Host packages may vanish between runs; re-check cheaply every time.
[[ -z $(host_packages_missing) ]] || install_host_packages
run_step trixie-tools "$(step_key tools.sh "${TRIXIE_PACKAGES[*]}")" build_trixie_root
TOOLS_KEY=$(cat "$LAB/stamps/trixie-tools")

# kernel_lab SERIES PREFIX MEM CRASHKERNEL FULL: one kernel's kdump,
# conversions, QEMU dumps. FULL=0 makes a smaller set (the second kernel).
kernel_lab() {
	local series=$1 p=$2 mem=$3 ck=$4 full=$5
	local -a conv=() qruns=(live panic novmci)
	if [[ $full == 0 ]]; then
		conv=(kdump-zlib-d31 kdump-lzo-d31 kdump-zstd-d31 elf-d31)
		qruns=(panic)
	fi
	choose_kernel "$series"
	local k_kernel k_initrd k_kdump k_conv
	k_kernel=$(step_key "" "$(cat "$LAB/kernel-$series.env")")
	run_step "kernel-$series" "$k_kernel" fetch_kernel "$series"
	k_initrd=$(step_key "guest.sh guest/init" "$k_kernel" "$TOOLS_KEY")
	run_step "initramfs-$series" "$k_initrd" build_initramfs "$series"
	[[ -f $LAB/accel ]] || choose_accel "$series"
	k_kdump=$(step_key "guest.sh" "$k_initrd" "$mem" "$ck")
	run_step "kdump-$series" "$k_kdump" run_kdump "$series" "$p-kdump" "$mem" "$ck"
	k_conv=$(step_key "convert.sh lib.sh" "$k_kdump" "${conv[*]}")
	run_step "register-$series" "$k_conv" register_kdump_run "$series" "$p-kdump" "$p"
	run_step "convert-$series" "$k_conv" convert_dumps "$series" "$p-kdump" "$p" "${conv[@]}"
	# Snappy depends on the project's writer; its step is re-tried until it ran.
	if [[ $(cat "$LAB/dumps/$p-kdump/conv/snappy.status" 2>/dev/null) != "done" ]]; then
		convert_snappy "$series" "$p-kdump" "$p"
	fi
	if declare -F run_qemu_dumps >/dev/null; then
		run_step "qemudump-$series" "$(step_key "qemudump.sh guest.sh" "$k_initrd" "${qruns[*]}")" \
			run_qemu_dumps "$series" "$p" "${qruns[@]}"
	fi
}

kernel_lab 6.1 k61 1G 256M 1
[[ $ONLY61 == 1 ]] || kernel_lab 6.12 k612 1G 256M 0
if [[ $ONLY61 == 0 ]]; then
	extra_kernels_lab
	run_step sid-tools "$(step_key "" "${SID_PACKAGES[*]}")" build_sid_root
	sid_writers_lab
fi
if declare -F smp_lab >/dev/null; then
	smp_lab 6.1 k61smp
	[[ $ONLY61 == 1 ]] || smp_lab 6.12 k612smp
fi
[[ $ONLY61 == 1 ]] || kinds_lab 6.12 k612
[[ $ONLY61 == 1 ]] || nmi_lab 6.12 k612nmi
if declare -F make_demo >/dev/null; then
	run_step demo "$(step_key "demo.sh guest.sh" "$(cat "$LAB/stamps/initramfs-6.1")")" make_demo
fi
write_manifest
if declare -F record_all >/dev/null; then
	record_all
	summarize_refs
fi
# Sid's crash, makedumpfile and drgn on the extra kernels' dumps.
[[ $ONLY61 == 1 ]] || sidref_all
if declare -F record_groups >/dev/null; then
	record_groups
fi
# Sid's crash on the same groups, for the newest kernel.
[[ $ONLY61 == 1 ]] || sidgroups_all
if declare -F export_demo >/dev/null; then
	export_demo
fi

log "lab built in $((SECONDS - T0))s: $LAB (manifest: $LAB/manifest.tsv)"
echo "$LAB" >&3
