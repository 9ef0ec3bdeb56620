package amd64

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"

	"github.com/vmcoretools/vmcore/arch"
	"github.com/vmcoretools/vmcore/physmem"
	"github.com/vmcoretools/vmcore/vmcoreinfo"
)

// StartKernelMap is __START_KERNEL_map: the virtual base of the kernel image
// mapping, which maps the image linearly from physical address phys_base.
const StartKernelMap = 0xffffffff80000000

// Page sizes of the three kinds of leaf mapping.
const (
	PageSize4K = 1 << 12
	PageSize2M = 1 << 21
	PageSize1G = 1 << 30
)

// Page-table entry bits used by the walk.
const (
	ptePresent = 1 << 0
	ptePSE     = 1 << 7 // leaf at PUD (1 GiB) or PMD (2 MiB) level
	// pteAddrMask selects physical address bits 12..51 (__PHYSICAL_MASK_SHIFT
	// is 52 on x86_64); the NX bit 63 and software bits 52..62 fall outside.
	pteAddrMask = 0x000ffffffffff000
)

// Default direct-map bases, used only to name the layout in Describe when
// KASLR is off; the translator always finds the base in the page tables.
const (
	pageOffsetL4 = 0xffff888000000000 // 4.20 and later, 4-level
	pageOffsetL5 = 0xff11000000000000 // 4.20 and later, 5-level
)

// kernelImageSizeDefault bounds the text mapping when VMCOREINFO has no
// NUMBER(KERNEL_IMAGE_SIZE): 1 GiB is the largest the kernel uses (with
// KASLR), and the bound only checks that symbols lie in the image.
const kernelImageSizeDefault = 1 << 30

// Sentinels for errors.Is on translation failures.
var (
	// ErrNotMapped: a page-table entry on the way is not present
	// (arch.ErrNotMapped itself).
	ErrNotMapped = arch.ErrNotMapped
	// ErrNonCanonical: the address is not canonical for the paging mode
	// (it matches arch.ErrInvalidAddress).
	ErrNonCanonical = fmt.Errorf("non-canonical address: %w", arch.ErrInvalidAddress)
)

// levelNames names the paging levels from the top of a 5-level walk.
var levelNames = [5]string{"PGD", "P4D", "PUD", "PMD", "PTE"}

// TranslateError says why a virtual address has no physical address: which
// level of the walk failed and, when the page table itself could not be
// read, the physmem error underneath (errors.Is(err, physmem.ErrExcluded)
// and friends work through it).
type TranslateError struct {
	Vaddr uint64
	Level string // "PGD", "P4D", "PUD", "PMD", "PTE"; empty before the walk
	Entry uint64 // the entry that stopped the walk, when one was read
	Err   error  // ErrNotMapped, ErrNonCanonical, or a wrapped physmem error
}

func (e *TranslateError) Error() string {
	switch {
	case e.Level == "":
		return fmt.Sprintf("virtual address %#x: %v", e.Vaddr, e.Err)
	case errors.Is(e.Err, ErrNotMapped):
		return fmt.Sprintf("virtual address %#x: not mapped (%s entry %#x not present)", e.Vaddr, e.Level, e.Entry)
	default:
		return fmt.Sprintf("virtual address %#x: cannot read %s: %v", e.Vaddr, e.Level, e.Err)
	}
}

func (e *TranslateError) Unwrap() error { return e.Err }

// ReadError reports kernel virtual memory that translated but whose physical
// page the dump cannot supply. It wraps the *physmem.Error.
type ReadError struct {
	Vaddr uint64 // first virtual address not read
	Paddr uint64
	Err   error
}

func (e *ReadError) Error() string {
	return fmt.Sprintf("virtual address %#x (physical %#x): %v", e.Vaddr, e.Paddr, e.Err)
}

func (e *ReadError) Unwrap() error { return e.Err }

// Translator translates x86_64 kernel virtual addresses of one dump. It is
// safe for concurrent use.
type Translator struct {
	mem        physmem.Reader
	physBase   uint64
	kaslr      uint64
	imageSize  uint64
	pgd        uint64 // physical address of the top-level table
	levels     int    // 4 or 5
	smeMask    uint64
	pageOffset uint64
	pageOffOK  bool

	mu     sync.Mutex
	tables map[uint64]*[512]uint64 // page-table pages by physical address
	tlb    map[uint64]tlbEntry     // 4 KiB virtual page -> result
}

type tlbEntry struct{ paddr, size uint64 }

// maxCachedTables bounds the page-table cache (4 KiB each): 4096 tables is
// 16 MiB, far more than any dmesg or task walk needs.
const maxCachedTables = 4096
const maxTLB = 1 << 16

// maxPageOffsetProbes bounds the direct-map search, counting present
// entries visited. Below the direct map a kernel has at most the PTI LDT
// remap (a few entries), so a real search ends within a handful of probes;
// the bound only stops hostile tables.
const maxPageOffsetProbes = 1 << 14

// NewTranslator prepares translation for the dump whose physical memory is
// mem and whose VMCOREINFO is info. It fails with an error naming the missing
// key when VMCOREINFO lacks what is needed, or when the top-level page table
// cannot be read.
func NewTranslator(mem physmem.Reader, info *vmcoreinfo.Info) (*Translator, error) {
	if info == nil {
		return nil, errors.New("amd64: no VMCOREINFO: kernel virtual addresses cannot be translated without it")
	}
	t := &Translator{mem: mem, levels: 4, imageSize: kernelImageSizeDefault}
	if n, ok := info.Number("pgtable_l5_enabled"); ok && n == 1 {
		t.levels = 5
	}
	if n, ok := info.Number("sme_mask"); ok {
		t.smeMask = uint64(n)
	}
	if n, ok := info.Number("KERNEL_IMAGE_SIZE"); ok && n > 0 && n <= 1<<30 {
		t.imageSize = uint64(n)
	}
	t.kaslr, _ = info.KernelOffset()

	var pgdVaddr uint64
	found := false
	for _, name := range []string{"init_top_pgt", "swapper_pg_dir", "init_level4_pgt"} {
		if v, ok := info.Symbol(name); ok {
			pgdVaddr, found = v, true
			break
		}
	}
	if !found {
		return nil, errors.New("amd64: VMCOREINFO has neither SYMBOL(init_top_pgt) nor SYMBOL(swapper_pg_dir)")
	}
	if !t.inImage(pgdVaddr) {
		return nil, fmt.Errorf("amd64: page table symbol %#x is outside the kernel text mapping", pgdVaddr)
	}

	if n, ok := info.Number("phys_base"); ok {
		t.physBase = uint64(n)
	} else if sym, ok := info.Symbol("phys_base"); ok {
		// Kernels before NUMBER(phys_base) existed export the variable's
		// address instead; its value is found by self-consistency.
		pb, err := t.searchPhysBase(sym)
		if err != nil {
			return nil, err
		}
		t.physBase = pb
	} else {
		return nil, errors.New("amd64: VMCOREINFO has no NUMBER(phys_base)")
	}
	t.pgd = pgdVaddr - StartKernelMap + t.physBase
	t.tables = make(map[uint64]*[512]uint64)
	t.tlb = make(map[uint64]tlbEntry)
	if _, err := t.table(t.pgd); err != nil {
		return nil, fmt.Errorf("amd64: reading the top-level page table at physical %#x: %w", t.pgd, err)
	}
	t.pageOffset, t.pageOffOK = t.findPageOffset()
	return t, nil
}

// searchPhysBase finds phys_base on kernels that export only the address of
// the phys_base variable: phys_base is 2 MiB aligned, and the right value is
// the one for which the variable, read through the text mapping, holds that
// very value. Candidates are tried over the first 64 GiB.
func (t *Translator) searchPhysBase(sym uint64) (uint64, error) {
	if !t.inImage(sym) {
		return 0, fmt.Errorf("amd64: SYMBOL(phys_base) %#x is outside the kernel text mapping", sym)
	}
	var b [8]byte
	for pb := uint64(0); pb < 64<<30; pb += PageSize2M {
		if _, err := t.mem.ReadAt(b[:], int64(sym-StartKernelMap+pb)); err != nil {
			if errors.Is(err, physmem.ErrBeyondEnd) {
				break
			}
			continue
		}
		if binary.LittleEndian.Uint64(b[:]) == pb {
			return pb, nil
		}
	}
	return 0, errors.New("amd64: VMCOREINFO has no NUMBER(phys_base) and no 2 MiB-aligned value is consistent with SYMBOL(phys_base)")
}

func (t *Translator) inImage(v uint64) bool {
	return v >= StartKernelMap && v-StartKernelMap < t.imageSize
}

// PhysBase is the physical load address of the kernel image mapping.
func (t *Translator) PhysBase() uint64 { return t.physBase }

// KernelOffset is the KASLR offset of the kernel image (KERNELOFFSET).
func (t *Translator) KernelOffset() uint64 { return t.kaslr }

// Levels is the number of paging levels, 4 or 5.
func (t *Translator) Levels() int { return t.levels }

// PGD is the physical address of the top-level page table.
func (t *Translator) PGD() uint64 { return t.pgd }

// SMEMask is the memory-encryption bit removed from page-table entries.
func (t *Translator) SMEMask() uint64 { return t.smeMask }

// PageOffset is the base of the direct map (page_offset_base). ok is false
// when no kernel address maps physical address 0.
func (t *Translator) PageOffset() (base uint64, ok bool) { return t.pageOffset, t.pageOffOK }

// PhysToDirect returns the direct-map virtual address of a physical address.
func (t *Translator) PhysToDirect(paddr uint64) (uint64, bool) {
	// The direct map covers physical addresses up to MAXMEM: 2^46 bytes
	// with 4-level paging, 2^52 with 5-level.
	maxMem := uint64(1) << 46
	if t.levels == 5 {
		maxMem = 1 << 52
	}
	if paddr >= maxMem {
		return 0, false
	}
	return t.pageOffset + paddr, t.pageOffOK
}

// canonical reports whether v is canonical for the paging mode: the bits
// above the top translated bit (47 or 56) all equal that bit.
func (t *Translator) canonical(v uint64) bool {
	shift := uint(47)
	if t.levels == 5 {
		shift = 56
	}
	top := int64(v) >> shift
	return top == 0 || top == -1
}

// table returns the 512 entries of the page-table page at paddr, from the
// cache when it was read before.
func (t *Translator) table(paddr uint64) (*[512]uint64, error) {
	paddr &^= PageSize4K - 1
	t.mu.Lock()
	tab, ok := t.tables[paddr]
	t.mu.Unlock()
	if ok {
		return tab, nil
	}
	var buf [PageSize4K]byte
	if _, err := t.mem.ReadAt(buf[:], int64(paddr)); err != nil {
		return nil, err
	}
	tab = new([512]uint64)
	for i := range tab {
		tab[i] = binary.LittleEndian.Uint64(buf[i*8:])
	}
	t.mu.Lock()
	if len(t.tables) >= maxCachedTables {
		clear(t.tables)
	}
	t.tables[paddr] = tab
	t.mu.Unlock()
	return tab, nil
}

// entryAddr extracts the physical address an entry points to, without the
// SME bit.
func (t *Translator) entryAddr(e uint64) uint64 { return e &^ t.smeMask & pteAddrMask }

// Translate returns the physical address of kernel virtual address vaddr and
// the size of the page that maps it (4 KiB, 2 MiB or 1 GiB). The error is a
// *TranslateError naming the level where the walk stopped. When a page-table
// page is missing from the dump, addresses of the kernel image and the
// direct map are still translated by formula (reported as 4 KiB pages).
func (t *Translator) Translate(vaddr uint64) (paddr, size uint64, err error) {
	page := vaddr &^ (PageSize4K - 1)
	t.mu.Lock()
	e, ok := t.tlb[page]
	t.mu.Unlock()
	if ok {
		return e.paddr + vaddr&(e.size-1), e.size, nil
	}
	paddr, size, err = t.Walk(vaddr)
	if err != nil {
		p, ok := t.linear(vaddr, err)
		if !ok {
			return 0, 0, err
		}
		return p, PageSize4K, nil
	}
	t.mu.Lock()
	if len(t.tlb) >= maxTLB {
		clear(t.tlb)
	}
	t.tlb[page] = tlbEntry{paddr &^ (size - 1), size}
	t.mu.Unlock()
	return paddr, size, nil
}

// linear translates the two linear kernel mappings by formula when their
// page tables cannot be read (a lost or excluded page-table page in a
// damaged dump): the kernel image (vaddr - __START_KERNEL_map + phys_base)
// and the direct map (vaddr - page_offset_base), as makedumpfile always
// does. An entry found not present is believed, not overridden.
func (t *Translator) linear(vaddr uint64, walkErr error) (uint64, bool) {
	if errors.Is(walkErr, ErrNotMapped) || errors.Is(walkErr, ErrNonCanonical) {
		return 0, false
	}
	if t.inImage(vaddr) {
		return vaddr - StartKernelMap + t.physBase, true
	}
	// Only the direct map's first TiB: the region after it (vmalloc) is
	// not linear, and it starts at least the machine's memory plus KASLR's
	// padding (CONFIG_RANDOMIZE_MEMORY_PHYSICAL_PADDING, 10 TiB by default)
	// above page_offset_base, or 64 TiB above it without KASLR. Which
	// addresses past the memory lie in the direct map is not known here.
	if t.pageOffOK && vaddr >= t.pageOffset && vaddr-t.pageOffset < directMapLinear {
		return vaddr - t.pageOffset, true
	}
	return 0, false
}

// directMapLinear is how far above page_offset_base the formula fallback
// is trusted.
const directMapLinear = 1 << 40

// Walk translates vaddr by reading the page tables, bypassing the cache of
// earlier results (page-table pages are still cached).
func (t *Translator) Walk(vaddr uint64) (paddr, size uint64, err error) {
	return t.walk(vaddr, nil)
}

// Step is one page-table entry read by Trace: the level it belongs to, the
// physical address of the entry, and its value with the memory-encryption
// bit removed. It exists for displays of the walk, such as crash's vtop.
// Levels are named "PGD", "P4D", "PUD", "PMD" and "PTE".
type Step = arch.Step

// Trace walks the page tables for vaddr as Walk does and also returns the
// entries read on the way, the last one being the leaf or the entry found
// not present. It neither reads nor fills the translation cache, so Walk
// and Translate are unaffected by it.
func (t *Translator) Trace(vaddr uint64) (steps []Step, paddr, size uint64, err error) {
	paddr, size, err = t.walk(vaddr, &steps)
	return steps, paddr, size, err
}

// walk is Walk, recording each entry read in steps when steps is not nil.
func (t *Translator) walk(vaddr uint64, steps *[]Step) (paddr, size uint64, err error) {
	if !t.canonical(vaddr) {
		return 0, 0, &TranslateError{Vaddr: vaddr, Err: ErrNonCanonical}
	}
	first := 5 - t.levels // index into levelNames of the top level
	tableAddr := t.pgd
	for lvl := first; lvl < 5; lvl++ {
		shift := uint(12 + 9*(4-lvl))
		idx := (vaddr >> shift) & 511
		tab, err := t.table(tableAddr)
		if err != nil {
			return 0, 0, &TranslateError{Vaddr: vaddr, Level: t.levelName(lvl), Err: err}
		}
		ent := tab[idx]
		if steps != nil {
			base := tableAddr &^ (PageSize4K - 1)
			*steps = append(*steps, Step{Level: t.levelName(lvl), EntryAddr: base + idx*8, Entry: ent &^ t.smeMask})
		}
		if ent&ptePresent == 0 {
			return 0, 0, &TranslateError{Vaddr: vaddr, Level: t.levelName(lvl), Entry: ent, Err: ErrNotMapped}
		}
		if lvl == 4 || ((lvl == 2 || lvl == 3) && ent&ptePSE != 0) {
			size := uint64(1) << shift
			base := t.entryAddr(ent) &^ (size - 1)
			return base | vaddr&(size-1), size, nil
		}
		tableAddr = t.entryAddr(ent)
	}
	return 0, 0, &TranslateError{Vaddr: vaddr, Err: errors.New("page walk did not end")} // not reached
}

// levelName names walk level lvl (0 = the 5-level PGD .. 4 = PTE). With
// 4-level paging the P4D is folded and the top table is the PGD.
func (t *Translator) levelName(lvl int) string {
	if t.levels == 4 && lvl == 1 {
		return "PGD"
	}
	return levelNames[lvl]
}

// findPageOffset locates the direct map. KASLR (kernel_randomize_memory)
// places page_offset_base at a random 1 GiB-aligned address in the kernel
// half, and the direct map is the first region it places, below vmalloc and
// vmemmap; the direct map starts with physical address 0, which it always
// maps (the first megabyte is mapped like the rest of RAM). No other kernel
// mapping below it maps physical 0 (the guard hole is empty, the PTI LDT
// remap maps LDT pages). So the lowest 1 GiB-aligned kernel address whose
// translation is physical 0 is page_offset_base. The scan visits only
// present entries and gives up after maxPageOffsetProbes PUD entries, so
// hostile page tables cannot make it run long.
func (t *Translator) findPageOffset() (uint64, bool) {
	first := 5 - t.levels
	budget := maxPageOffsetProbes
	// The kernel half begins at top-level index 256 in both modes.
	var base uint64
	var found bool
	var scan func(tableAddr uint64, lvl int, prefix uint64) bool
	scan = func(tableAddr uint64, lvl int, prefix uint64) bool {
		tab, err := t.table(tableAddr)
		if err != nil {
			return false
		}
		shift := uint(12 + 9*(4-lvl))
		start := 0
		if lvl == first {
			start = 256
		}
		for i := start; i < 512; i++ {
			ent := tab[i]
			if ent&ptePresent == 0 {
				continue
			}
			v := prefix | uint64(i)<<shift
			if lvl == first {
				v |= ^uint64(0) << (shift + 9) // sign-extend the kernel half
			}
			if budget--; budget < 0 {
				return true // give up; found stays false
			}
			if lvl == 2 { // PUD entry: one 1 GiB-aligned candidate
				if p, _, err := t.Walk(v); err == nil && p == 0 {
					base, found = v, true
					return true
				}
				continue
			}
			if scan(t.entryAddr(ent), lvl+1, v) {
				return true
			}
		}
		return false
	}
	scan(t.pgd, first, 0)
	return base, found
}

// ReadVirt reads len(p) bytes of kernel virtual memory at vaddr, crossing
// pages. It returns n < len(p) only with an error: a *TranslateError when an
// address is not mapped, a *ReadError (wrapping the *physmem.Error) when the
// page is mapped but the dump lacks it.
func (t *Translator) ReadVirt(p []byte, vaddr uint64) (int, error) {
	n := 0
	for n < len(p) {
		va := vaddr + uint64(n)
		pa, size, err := t.Translate(va)
		if err != nil {
			return n, err
		}
		chunk := size - va&(size-1)
		if rest := uint64(len(p) - n); chunk > rest {
			chunk = rest
		}
		m, err := t.mem.ReadAt(p[n:n+int(chunk)], int64(pa))
		n += m
		if err != nil {
			bad := pa + uint64(m)
			var pe *physmem.Error
			if errors.As(err, &pe) {
				bad = pe.Addr
			}
			return n, &ReadError{Vaddr: va + (bad - pa), Paddr: bad, Err: err}
		}
	}
	return n, nil
}

// ReaderAt returns an io.ReaderAt over kernel virtual addresses. Kernel
// addresses exceed math.MaxInt64, so the offset is the address's bits:
// int64(vaddr).
func (t *Translator) ReaderAt() *VirtReader { return &VirtReader{t} }

// VirtReader is an io.ReaderAt over kernel virtual memory.
type VirtReader struct{ t *Translator }

// ReadAt reads at virtual address uint64(off); see Translator.ReadVirt.
func (r *VirtReader) ReadAt(p []byte, off int64) (int, error) {
	return r.t.ReadVirt(p, uint64(off))
}
