#!/bin/sh
# Regenerates tiny.elf from tiny.c and tiny.lds (Debian 12: gcc 12.2,
# binutils 2.40). -O1 keeps add_twice inlined with line information;
# -nostdlib keeps the file small.
set -e
cd "$(dirname "$0")"
gcc -g -gdwarf-5 -O1 -fno-pie -no-pie -nostdlib -static -fcf-protection=none \
	-Wl,--build-id=sha1 -Wl,-T,tiny.lds -o tiny.elf tiny.c
