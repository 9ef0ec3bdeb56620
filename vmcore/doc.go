// Package vmcore is the public entry point for Linux crash dumps: open any
// dump this project reads — an ELF core from /proc/vmcore, makedumpfile -E
// or QEMU dump-guest-memory; a makedumpfile compressed dump, flattened (-F)
// or split (--split); an old DISKDUMP — and read its physical memory, its
// VMCOREINFO and the registers each CPU saved at the crash.
//
// The format is detected from the files' content, never from their names,
// and dumps are opened read-only. Physical reads that the dump cannot serve
// return errors that tell apart pages excluded by the dump level, holes in
// the memory map, pages lost by an incomplete capture, and addresses beyond
// the end of memory (see the physmem package's sentinels, re-exported here).
//
// Kernel views (dmesg, tasks, backtraces) are built on top of Dump by this
// package and its subpackages.
package vmcore
