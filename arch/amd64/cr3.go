package amd64

import (
	"fmt"

	"github.com/vmcoretools/vmcore/physmem"
)

// CR3Table is the physical address of the top-level page table in a CR3
// value: bits 12..51, without the PCID (bits 0..11) and the no-flush bit 63.
func CR3Table(cr3 uint64) uint64 { return cr3 & pteAddrMask }

// CR4LA57 is CR4's 5-level paging bit.
const CR4LA57 = 1 << 12

// WalkFrom translates vaddr through the page tables rooted at physical
// address pgd with 4 or 5 levels, reading them from mem. It serves dumps
// without VMCOREINFO: the kernel's layout (KASLR offset, phys_base) must
// first be found from a CPU's registers, before a Translator can be made.
// Nothing is cached between calls; each walk reads at most five tables.
func WalkFrom(mem physmem.Reader, pgd uint64, levels int, vaddr uint64) (paddr, size uint64, err error) {
	if levels != 4 && levels != 5 {
		return 0, 0, fmt.Errorf("amd64: %d paging levels (4 or 5)", levels)
	}
	t := &Translator{mem: mem, pgd: pgd, levels: levels, imageSize: kernelImageSizeDefault,
		tables: make(map[uint64]*[512]uint64)}
	return t.Walk(vaddr)
}
