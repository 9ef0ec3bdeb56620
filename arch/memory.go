package arch

import (
	"errors"
	"io"

	"github.com/vmcoretools/vmcore/elfcore"
	"github.com/vmcoretools/vmcore/physmem"
	"github.com/vmcoretools/vmcore/vmcoreinfo"
)

// Errors of address translation that every architecture's errors match
// with errors.Is.
var (
	// ErrNotMapped: an entry on the way through the page tables is not
	// present.
	ErrNotMapped = errors.New("not mapped")
	// ErrInvalidAddress: the address cannot be translated on this
	// machine at all (x86_64: not canonical for the paging mode).
	ErrInvalidAddress = errors.New("not a valid virtual address on this machine")
)

// Memory is the address-translation part of an Arch.
type Memory interface {
	// KernelSpace prepares the translation of the kernel's virtual
	// addresses of a dump from its physical memory and VMCOREINFO; the
	// error names what VMCOREINFO lacks or which table cannot be read.
	KernelSpace(mem physmem.Reader, info *vmcoreinfo.Info) (KernelSpace, error)
	// LayoutFromCPU finds, for a dump without VMCOREINFO (QEMU's
	// dump-guest-memory without -device vmcoreinfo), where the kernel was
	// loaded, from a CPU's saved control registers and the vmlinux's
	// unrelocated symbols (symbol), and returns the VMCOREINFO lines that
	// describe it to KernelSpace.
	LayoutFromCPU(mem physmem.Reader, cpu *elfcore.QEMUCPUState, symbol func(name string) (uint64, bool)) (*Layout, error)
}

// Layout is a kernel's placement in memory derived from a CPU's state.
type Layout struct {
	// KASLR is the distance the kernel image was moved at boot.
	KASLR uint64
	// VMCOREINFO holds the architecture's lines of the note, as the
	// kernel would have written them ("KERNELOFFSET=...", ...).
	VMCOREINFO []string
}

// KernelSpace is a dump's kernel virtual memory: reads, translation, and
// the walk of an address as the machine's page tables give it.
type KernelSpace interface {
	// ReadVirt reads kernel virtual memory, as io.ReaderAt does; an error
	// names the address and why (not mapped, or a page the dump lacks).
	ReadVirt(p []byte, vaddr uint64) (int, error)
	// ReaderAt is ReadVirt as an io.ReaderAt (offset = int64(vaddr)).
	ReaderAt() io.ReaderAt
	// Translate returns the physical address of vaddr and the size of
	// the page that maps it.
	Translate(vaddr uint64) (paddr, size uint64, err error)
	// Walk translates through the page tables alone and returns every
	// entry read on the way, named as the machine names its levels.
	Walk(vaddr uint64) (steps []Step, paddr, size uint64, err error)
	// UserWalk walks a process's page tables (root: the kernel virtual
	// address of its top table, mm->pgd) for a user address.
	UserWalk(root, vaddr uint64) (paddr, size uint64, err error)
	// PhysToDirect is the kernel's direct-map address of a physical one;
	// false beyond what the direct map can cover.
	PhysToDirect(paddr uint64) (uint64, bool)
	// KernelOffset is the KASLR offset of the kernel image.
	KernelOffset() uint64
	// PageSize is the base page size.
	PageSize() uint64
	// Vtop: the walk of an address as crash's vtop shows it.
	Vtop
}

// Step is one page-table entry read during a walk.
type Step struct {
	Level     string // the level's name as the machine's manuals and crash name it
	EntryAddr uint64 // physical address of the entry
	Entry     uint64 // its value
}
