# Shared by the bench scripts (sourced): where the lab is, and how to run
# the trixie tools it unpacked (crash 8.0.6, makedumpfile 1.7.6) through
# trixie's own loader, as testdata/lab/lib.sh does.
LAB=${VMCORE_LAB:-${VMCORE_LAB_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/vmcore-lab}}
TRIXIE=$LAB/trixie/root
trixie_cmd() { # BIN: the argv prefix that runs a trixie binary
	printf '%s\0' "$TRIXIE/usr/lib64/ld-linux-x86-64.so.2" --library-path "$TRIXIE/usr/lib/x86_64-linux-gnu" "$TRIXIE$1"
}
mapfile -d '' crash_cmd < <(trixie_cmd /usr/bin/crash)
mdf() { "$TRIXIE/usr/lib64/ld-linux-x86-64.so.2" --library-path "$TRIXIE/usr/lib/x86_64-linux-gnu" "$TRIXIE/usr/bin/makedumpfile" "$@"; }
