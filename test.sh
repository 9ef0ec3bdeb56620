#!/usr/bin/env bash
# Sets up and runs every test on a fresh Debian 12 machine (as root):
#  1. builds the real-kernel lab (installs its Debian packages, downloads the
#     kernels, boots them in QEMU, makes real kdumps and the reference tools'
#     outputs); cached outside the checkout, so a second run does nothing;
#  2. runs go vet, the hermetic tests, and the real-dump tests against the lab.
# VMCORE_LAB_DIR overrides where the lab lives; VMCORE_SKIP_LAB=1 runs the
# hermetic tier alone (the real-dump tests then say they were not run).
set -euo pipefail
cd "$(dirname "$0")"
export PATH=$PATH:/usr/local/go/bin
if [[ ${VMCORE_SKIP_LAB:-0} != 1 ]]; then
	VMCORE_LAB=$(bash testdata/lab/build.sh | tail -n 1)
	export VMCORE_LAB
	# gdb and addr2line judge the vmlinux line lookups (dwarfsym's lab
	# test): crash takes its lines from gdb. Not a lab package, so that
	# adding it rebuilds nothing there.
	command -v gdb >/dev/null && command -v addr2line >/dev/null ||
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q gdb binutils >/dev/null
	echo "real-kernel lab: $VMCORE_LAB"
fi
gofmt_out=$(gofmt -l $(git ls-files '*.go'))
if [[ -n $gofmt_out ]]; then
	echo "gofmt would change:"; echo "$gofmt_out"; exit 1
fi
go vet ./...
# Every GOOS/GOARCH Go supports, without cgo (386 and arm included).
bash .ci/crossbuild.sh
# The real-dump tests of a package can take minutes on this 2-core machine
# (they compare every page of 800 MB dumps, and run crash for reference).
go test -count=1 -timeout 60m ./...
# The fleet module (its own go.mod: NATS stays out of the vmcore binary).
(cd fleet && go vet ./... && go test -count=1 -timeout 30m ./...)
if [[ ${VMCORE_SKIP_LAB:-0} != 1 ]]; then
	# Finding the vmlinux through a real debuginfod server on loopback.
	bash vmcore/testdata/debuginfod.sh
fi
