// Package vmcoreinfo parses the VMCOREINFO note that a Linux kernel leaves in
// every crash dump: KEY=VALUE lines naming the kernel release, build ID, page
// size, and the addresses, sizes and member offsets that a reader needs to
// find kernel data without the debuginfo vmlinux (SYMBOL, SIZE, OFFSET,
// LENGTH, NUMBER, CONFIG_*, KERNELOFFSET, CRASHTIME).
//
// The package knows the note's text format and nothing of dump files: the
// format readers hand it the note's bytes.
package vmcoreinfo
