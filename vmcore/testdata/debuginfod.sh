#!/usr/bin/env bash
# Tests FindVmlinux against a real debuginfod: installs Debian's debuginfod
# (and bsdtar, which it needs to read .deb archives), serves the lab's
# linux-image-*-dbg package from a private database on port $PORT, waits
# until the package is indexed, then runs the opt-in Go test that downloads
# the vmlinux by build ID and pairs it with the lab's dumps.
#
# usage: vmcore/testdata/debuginfod.sh   (as root, after testdata/lab/build.sh)
# env:   VMCORE_LAB_DIR, PORT (default 18002), KERNEL (default 6.1)
# debuginfod 0.188 has no option to bind one address; clients here use
# 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/../.."
LAB=${VMCORE_LAB_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/vmcore-lab}
PORT=${PORT:-18002}
KERNEL=${KERNEL:-6.1}
DEBS=$LAB/debs/$KERNEL
ls "$DEBS"/*-dbg_*.deb >/dev/null || { echo "no -dbg package in $DEBS: run testdata/lab/build.sh" >&2; exit 1; }

missing=()
for p in debuginfod libarchive-tools curl; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

work=$(mktemp -d)
debuginfod -p "$PORT" -d "$work/db.sqlite" -U "$DEBS" >"$work/debuginfod.log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -rf "$work"' EXIT
url=http://127.0.0.1:$PORT

# Indexing a 280 MB xz-compressed .deb takes a minute or more.
# metric NAME{LABELS}: the value of one metric (label values may hold spaces).
metric() { curl -sf "$url/metrics" | grep -F "$1 " | awk '{ print $NF }'; }
for ((i = 0; i < 900; i++)); do
	found=$(metric 'found_debuginfo_total{source=".deb archive"}' || true)
	busy=$(metric 'thread_busy{role="scan"}' || true)
	if [[ ${found:-0} -ge 1 && ${busy:-1} == 0 ]]; then
		break
	fi
	kill -0 "$pid" || { cat "$work/debuginfod.log" >&2; exit 1; }
	sleep 1
done
echo "debuginfod: $(metric 'found_debuginfo_total{source=".deb archive"}') debuginfo files indexed after ${i}s"

VMCORE_LAB=$LAB VMCORE_DEBUGINFOD_URL=$url go test -count=1 -v -run 'TestLabDebuginfod' ./vmcore/
