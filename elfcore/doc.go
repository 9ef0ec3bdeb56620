// Package elfcore reads Linux kernel crash dumps stored as ELF core files:
// the kernel's own /proc/vmcore, `makedumpfile -E` output and QEMU's
// `dump-guest-memory`, in ELF64 and ELF32, little and big endian.
//
// Such a file describes physical memory: each PT_LOAD segment maps a range
// of physical addresses (p_paddr) to file bytes, with p_memsz-p_filesz bytes
// of zeros after the stored part, and PT_NOTE segments carry per-CPU
// registers (NT_PRSTATUS), QEMU's CPU state and the VMCOREINFO text. File
// exposes the segments, every note of every PT_NOTE, and a ReadAt over
// physical addresses that satisfies physmem.Reader and tells holes, the end
// of memory and data cut off by truncation apart with *physmem.Error.
//
// The package parses the headers itself instead of using debug/elf because
// debug/elf does not follow e_phnum == PN_XNUM to section header 0, which
// dumps of machines with more than 65535 memory ranges rely on. Every size
// read from the file is checked against the file size before it is used, so
// a corrupt or hostile file yields a *FormatError, not a panic or a huge
// allocation.
//
// The note decoders (ParseNotes, DecodePRStatus, DecodeQEMUCPUState) take
// plain bytes so that the kdump reader, whose sub-header carries the same
// ELF notes, shares them. The package knows ELF and register layouts, not
// kernel data structures.
package elfcore
