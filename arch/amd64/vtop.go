package amd64

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/vmcoretools/vmcore/arch"
)

// crash's vtop on x86_64: which kernel addresses it walks, its user walk
// (x86_64_uvtop_level4) and the flag names of x86_64_translate_pte.

// Sizes and bounds of the x86_64 regions (arch/x86/include/asm/
// pgtable_64_types.h) whose addresses crash translates with the page
// tables rather than by the linear formulas.
const (
	vmallocSize4L = 32 << 40
	vmallocSize5L = 12800 << 40
	vmemmapSize   = 1 << 40 // crash's VMEMMAP_END - VMEMMAP_VADDR, 4-level
	modulesEnd    = 0xffffffffff000000
	cpuEntryArea  = 0xfffffe0000000000
	cpuEntryEnd   = 0xfffffe7fffffffff
	vsyscallStart = 0xffffffffff600000
	vsyscallEnd   = 0xffffffffff601000

	// The end of user space (crash's USERSPACE_TOP), 4- and 5-level.
	userSpaceTop   = 0x0000800000000000
	userSpaceTop5L = 0x0100000000000000

	pteProtNone = 1 << 8 // _PAGE_PROTNONE: the GLOBAL bit in a non-present entry
)

var pteFlags = []struct {
	bit  uint64
	name string
}{
	{1 << 0, "PRESENT"}, {1 << 1, "RW"}, {1 << 2, "USER"}, {1 << 3, "PWT"}, {1 << 4, "PCD"},
	{1 << 5, "ACCESSED"}, {1 << 6, "DIRTY"}, {ptePSE, "PSE"}, {pteProtNone, "PROTNONE"}, {1 << 8, "GLOBAL"}, {1 << 63, "NX"},
}

// KernelAddr is crash's IS_KVADDR: at or above the direct map's base.
func (s Space) KernelAddr(vaddr uint64) bool {
	base, ok := s.PageOffset()
	return ok && vaddr >= base
}

// UserAddr is an address below the top of user space.
func (s Space) UserAddr(vaddr uint64) bool {
	if s.levels == 5 {
		return vaddr < userSpaceTop5L
	}
	return vaddr < userSpaceTop
}

// TopTable is init_top_pgt's address in the kernel image mapping.
func (s Space) TopTable() uint64 { return s.pgd - s.physBase + StartKernelMap }

// walked reports whether crash translates vaddr through the page tables
// (x86_64_IS_VMALLOC_ADDR: vmalloc, vmemmap, modules, the CPU entry area,
// vsyscall); other kernel addresses it translates by formula.
func (s Space) walked(vaddr uint64, variable func(string) (uint64, bool)) bool {
	vmalloc, ok := variable("vmalloc_base")
	if !ok || vmalloc == 0 {
		return true // without the vmlinux's layout, walk everything
	}
	size := uint64(vmallocSize4L)
	if s.levels == 5 {
		size = vmallocSize5L
	}
	vmemmap, _ := variable("vmemmap_base")
	switch {
	case vaddr >= vmalloc && vaddr-vmalloc < size,
		vmemmap != 0 && vaddr >= vmemmap && vaddr-vmemmap < vmemmapSize,
		vaddr >= StartKernelMap+(1<<30) && vaddr <= modulesEnd,
		vaddr >= cpuEntryArea && vaddr <= cpuEntryEnd,
		vaddr >= vsyscallStart && vaddr < vsyscallEnd:
		return true
	}
	return false
}

// KernelRegions: the direct map (page_offset_base), vmalloc space
// (vmalloc_base; modules lie above the image, in vmalloc's areas),
// vmemmap (vmemmap_base) and the image (__START_KERNEL_map), as crash's
// x86_64_get_kvaddr_ranges orders them.
func (s Space) KernelRegions(variable func(string) (uint64, bool)) []arch.KernelRegion {
	var out []arch.KernelRegion
	if base, ok := s.PageOffset(); ok {
		out = append(out, arch.KernelRegion{Kind: arch.RegionDirect, Start: base})
	}
	if v, ok := variable("vmalloc_base"); ok && v != 0 {
		out = append(out, arch.KernelRegion{Kind: arch.RegionVmalloc, Start: v})
	}
	if v, ok := variable("vmemmap_base"); ok && v != 0 {
		out = append(out, arch.KernelRegion{Kind: arch.RegionPageArray, Start: v})
	}
	out = append(out, arch.KernelRegion{Kind: arch.RegionImage, Start: StartKernelMap})
	slices.SortFunc(out, func(a, b arch.KernelRegion) int { return cmp.Compare(a.Start, b.Start) })
	return out
}

// VtopKernel walks the kernel's tables for vaddr; outside the regions
// crash walks, the physical address is the image's or the direct map's
// linear one.
func (s Space) VtopKernel(vaddr uint64, variable func(string) (uint64, bool)) arch.Translation {
	steps, paddr, size, err := s.Trace(vaddr)
	tr := arch.Translation{Steps: steps, Phys: paddr, Size: size, Mapped: err == nil}
	if err != nil && !isNotMapped(err) {
		tr.Err = err
	}
	if !s.walked(vaddr, variable) {
		tr.Mapped, tr.Linear = true, true
		if vaddr >= StartKernelMap {
			tr.Phys = vaddr - StartKernelMap + s.physBase
		} else {
			tr.Phys = vaddr - s.pageOffset
		}
	}
	return tr
}

func isNotMapped(err error) bool {
	return errors.Is(err, ErrNotMapped) || errors.Is(err, ErrNonCanonical)
}

// VtopUser walks the tables of the address space whose mm->pgd is root
// for vaddr as crash's x86_64_uvtop_level4: each entry is shown without
// the memory-encryption bit, and a PMD or PTE marked PROTNONE counts as
// present.
func (s Space) VtopUser(root, vaddr uint64) (arch.Translation, error) {
	top, _, err := s.Translate(root)
	if err != nil {
		return arch.Translation{}, fmt.Errorf("mm_struct pgd %x: %w", root, err)
	}
	read := func(paddr uint64) (uint64, error) {
		var b [8]byte
		if _, err := s.mem.ReadAt(b[:], int64(paddr)); err != nil {
			return 0, err
		}
		return binary.LittleEndian.Uint64(b[:]), nil
	}
	return walkUserTables(read, top, s.levels, s.smeMask, vaddr)
}

// walkUserTables is VtopUser's walk from the top table at physical
// address top, with read giving the 64-bit entry at a physical address.
func walkUserTables(read func(paddr uint64) (uint64, error), top uint64, levels int, sme, vaddr uint64) (arch.Translation, error) {
	names := []string{"PGD", "PUD", "PMD", "PTE"}
	if levels == 5 {
		names = []string{"PGD", "P4D", "PUD", "PMD", "PTE"}
	}
	table := top
	var r arch.Translation
	for i, name := range names {
		shift := uint(12 + 9*(len(names)-1-i))
		at := table&pteAddrMask + 8*((vaddr>>shift)&511)
		raw, err := read(at)
		if err != nil {
			return r, fmt.Errorf("read error: physical address: %x  type: %q: %w", at, strings.ToLower(name)+" page", err)
		}
		ent := raw &^ sme
		r.Steps = append(r.Steps, arch.Step{Level: name, EntryAddr: at, Entry: ent})
		present := ent&ptePresent != 0
		if name == "PMD" || name == "PTE" {
			present = ent&(ptePresent|pteProtNone) != 0
		}
		if !present {
			if name == "PTE" {
				r.NotPresent = ent
			}
			return r, nil
		}
		if name == "PTE" || (name == "PUD" || name == "PMD") && ent&ptePSE != 0 {
			r.Size = uint64(1) << shift
			r.Mapped = true
			r.Phys = ent&pteAddrMask + vaddr&(r.Size-1)
			return r, nil
		}
		table = ent & pteAddrMask
	}
	return r, nil // not reached: the PTE level ends the loop
}

// EntryPhys is the page frame an entry points to.
func (Space) EntryPhys(entry uint64) uint64 { return entry & pteAddrMask }

// EntryFlags names an entry's flags as crash's x86_64_translate_pte: PSE
// only in a present entry, PROTNONE (the GLOBAL bit) only in one that is
// not.
func (Space) EntryFlags(pte uint64) []string {
	var flags []string
	for _, f := range pteFlags {
		if pte&f.bit != 0 && (f.bit != ptePSE || pte&ptePresent != 0) && (f.name != "PROTNONE" || pte&ptePresent == 0) {
			flags = append(flags, f.name)
		}
	}
	return flags
}

// PageStruct is the struct page of paddr's page in the vmemmap array
// (vmemmap_base).
func (s Space) PageStruct(paddr, pageSize uint64, variable func(string) (uint64, bool)) (uint64, bool) {
	base, ok := variable("vmemmap_base")
	if !ok || base == 0 || pageSize == 0 {
		return 0, false
	}
	return base + paddr/PageSize4K*pageSize, true
}

// PageStructPhys is the physical address of the page a struct page in
// the vmemmap array describes.
func (s Space) PageStructPhys(page, pageSize uint64, variable func(string) (uint64, bool)) (uint64, bool) {
	base, ok := variable("vmemmap_base")
	if !ok || base == 0 || pageSize == 0 || page < base {
		return 0, false
	}
	return (page - base) / pageSize * PageSize4K, true
}
