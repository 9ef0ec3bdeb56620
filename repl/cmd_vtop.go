package repl

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/vmcoretools/vmcore/arch/amd64"
	"github.com/vmcoretools/vmcore/tasks"
	"github.com/vmcoretools/vmcore/value"
)

func init() {
	register(&Command{
		Name:    "vtop",
		Usage:   "[-c [pid | taskp]] [-u|-k] address ...",
		Summary: "virtual to physical",
		Help: `Translates virtual addresses to physical addresses and shows the
page-table walk as crash does: the PGD, (P4D,) PUD, PMD and PTE entries
read, the leaf's flags, and the struct page of the physical page
(address, mapping, index, count and flags).

Kernel addresses (the direct map, the kernel image, vmalloc space:
anything the kernel page tables map) need no vmlinux: the page tables are
found through VMCOREINFO; the struct page line does, and is left out
without one.

User addresses (below the top of user space) are translated in the
address space of the current context's task (see set), or of the task
-c names: the walk of its own page tables (mm->pgd), then the mapping
(vm_area_struct) holding the address with its start, end, flags and file,
and for a page not present, the file and offset it would be read from.
An address no mapping holds is "not accessible". They need the vmlinux.

   -u  the addresses are user virtual addresses.
   -k  the addresses are kernel virtual addresses.
   -c  translate in the address space of this pid or task.`,
		Options: []string{"-k", "-u", "-c"},
		Args:    ArgSymbol,
		Run:     runVtop,
	})
}

func runVtop(c *Context, args []string) error {
	opts, rest, err := getopt(args, "ku", "c")
	if err != nil {
		return err
	}
	var userOnly, kernelOnly bool
	var task *tasks.Task // -c's task
	for _, o := range opts {
		switch o.name {
		case "u":
			userOnly = true
		case "k":
			kernelOnly = true
		case "c":
			tb, err := c.Session.TaskTable()
			if err != nil {
				return err
			}
			ts, _, ok := contextTasks(tb, o.val)
			if !ok {
				return fmt.Errorf("invalid task or pid value: %s", o.val)
			}
			task = ts[0]
		}
	}
	if len(rest) == 0 {
		return usagef("need an address")
	}
	if userOnly && kernelOnly {
		return fmt.Errorf("-u and -k options are mutually exclusive")
	}
	ks, err := c.Session.Translator()
	if err != nil {
		return err
	}
	// crash's vtop layout is x86_64's (its page-table levels, PTE flags
	// and address regions); another machine's needs its own.
	sp, ok := ks.(amd64.Space)
	if !ok {
		return fmt.Errorf("vtop: the page-table display exists for x86_64 only; this dump is %s", c.Session.Dump.Arch())
	}
	t := sp.Translator
	layout := c.Session.kernelLayout(t)
	for i, a := range rest {
		if err := c.Stopped(); err != nil {
			return err
		}
		vaddr, err := c.Session.parseAddress(a)
		if err != nil {
			return err
		}
		// crash's vaddr_type: below the top of user space is a user
		// address, translated in the task's address space.
		user := userOnly || !kernelOnly && vaddr < userTop(t.Levels())
		if i > 0 {
			fmt.Fprintln(c.Out)
		}
		if !user {
			// With -c crash walks the task's tables, which map the
			// kernel as the kernel's own do: the same output.
			if err := c.Session.vtopKernel(c.Out, t, layout, vaddr); err != nil {
				return err
			}
			continue
		}
		tk := task
		if tk == nil {
			if tk, err = c.Session.CurrentTask(); err != nil {
				return fmt.Errorf("%x is a user address, translated in the current task's address space (-k takes it as a kernel address): %w", vaddr, err)
			}
		}
		if err := c.Session.vtopUser(c.Out, t, layout, tk, vaddr); err != nil {
			return err
		}
	}
	return nil
}

// kernelLayout is what vtop needs to know of the kernel's address space
// beyond the page tables: where the regions crash translates by walking
// begin (vmalloc, vmemmap; from the vmlinux's variables), and how to find
// a physical page's struct page.
type kernelLayout struct {
	pageOffset   uint64
	pageOffsetOK bool
	pgdVaddr     uint64 // init_top_pgt, printed as crash's PGD DIRECTORY

	// From the vmlinux; zero without one.
	vmallocBase, vmemmapBase uint64
	maxPFN                   uint64
	pageSize                 uint64 // sizeof(struct page)
	vals                     *value.Context
	flagNames                []pageFlagName

	// headerPrinted: crash prints the struct page header once a command.
	headerPrinted bool
}

type pageFlagName struct {
	mask uint64
	name string
}

// Sizes of the x86_64 regions (arch/x86/include/asm/pgtable_64_types.h)
// whose addresses crash translates with the page tables rather than by
// formula.
const (
	vmallocSize4L = 32 << 40
	vmallocSize5L = 12800 << 40
	vmemmapSize   = 1 << 40 // crash's VMEMMAP_END - VMEMMAP_VADDR, 4-level
	modulesEnd    = 0xffffffffff000000
	cpuEntryArea  = 0xfffffe0000000000
	cpuEntryEnd   = 0xfffffe7fffffffff
	vsyscallStart = 0xffffffffff600000
	vsyscallEnd   = 0xffffffffff601000
)

func (s *Session) kernelLayout(t *amd64.Translator) *kernelLayout {
	l := &kernelLayout{}
	l.pageOffset, l.pageOffsetOK = t.PageOffset()
	if info := s.Dump.Info(); info != nil {
		for _, name := range []string{"init_top_pgt", "swapper_pg_dir", "init_level4_pgt"} {
			if v, ok := info.Symbol(name); ok {
				l.pgdVaddr = v
				break
			}
		}
	}
	vals, err := s.Values()
	if err != nil {
		return l
	}
	l.vals = vals
	read := func(name string) uint64 {
		v, err := vals.Var(name)
		if err != nil {
			return 0
		}
		u, _ := v.Uint()
		return u
	}
	l.vmallocBase = read("vmalloc_base")
	l.vmemmapBase = read("vmemmap_base")
	l.maxPFN = read("max_pfn")
	if n, err := s.Debug.Sizeof("struct page"); err == nil && n > 0 {
		l.pageSize = uint64(n)
	}
	l.flagNames = pageFlagNames(vals)
	return l
}

// pageFlagNames reads the kernel's pageflag_names table (mm/debug.c), the
// names crash prints after a struct page's flags; it ends at a zero mask
// with a NULL name.
func pageFlagNames(vals *value.Context) []pageFlagName {
	arr, err := vals.Var("pageflag_names")
	if err != nil {
		return nil
	}
	elems, err := arr.Elements()
	if err != nil {
		return nil
	}
	var out []pageFlagName
	for _, e := range elems {
		m, err1 := e.Member("mask")
		n, err2 := e.Member("name")
		if err1 != nil || err2 != nil {
			return nil
		}
		mask, _ := m.Uint()
		np, _ := n.Uint()
		if np == 0 {
			break
		}
		name, err := n.CString(64)
		if err != nil {
			return nil
		}
		out = append(out, pageFlagName{mask, name})
	}
	return out
}

// walked reports whether crash translates vaddr through the page tables
// (x86_64_IS_VMALLOC_ADDR: vmalloc, vmemmap, modules, the CPU entry area,
// vsyscall); other kernel addresses it translates by formula and then
// shows the walk.
func (l *kernelLayout) walked(vaddr uint64, levels int) bool {
	if l.vmallocBase == 0 {
		return true // without the vmlinux's layout, walk everything
	}
	size := uint64(vmallocSize4L)
	if levels == 5 {
		size = vmallocSize5L
	}
	switch {
	case vaddr >= l.vmallocBase && vaddr-l.vmallocBase < size,
		l.vmemmapBase != 0 && vaddr >= l.vmemmapBase && vaddr-l.vmemmapBase < vmemmapSize,
		vaddr >= amd64.StartKernelMap+(1<<30) && vaddr <= modulesEnd,
		vaddr >= cpuEntryArea && vaddr <= cpuEntryEnd,
		vaddr >= vsyscallStart && vaddr < vsyscallEnd:
		return true
	}
	return false
}

// vtopKernel prints crash's vtop of one kernel address.
func (s *Session) vtopKernel(w io.Writer, t *amd64.Translator, l *kernelLayout, vaddr uint64) error {
	fmt.Fprintf(w, "%-16s  %-16s\n", "VIRTUAL", "PHYSICAL")
	// crash's IS_KVADDR on x86_64: at or above the direct map's base.
	if !l.pageOffsetOK || vaddr < l.pageOffset {
		fmt.Fprintf(w, "%-8x  (not a kernel virtual address)\n\n", vaddr)
		return nil
	}
	steps, paddr, size, walkErr := t.Trace(vaddr)
	mapped := walkErr == nil
	if !l.walked(vaddr, t.Levels()) {
		// The formula crash uses outside the walked regions.
		mapped = true
		if vaddr >= amd64.StartKernelMap {
			paddr = vaddr - amd64.StartKernelMap + t.PhysBase()
		} else {
			paddr = vaddr - l.pageOffset
		}
	}
	if walkErr != nil && !errors.Is(walkErr, amd64.ErrNotMapped) && !errors.Is(walkErr, amd64.ErrNonCanonical) {
		// A page table the dump does not hold: say so after what was read.
		defer fmt.Fprintf(w, "(page table not readable: %v)\n", walkErr)
	}
	if mapped {
		fmt.Fprintf(w, "%-16x  %-16x\n\n", vaddr, paddr)
	} else {
		fmt.Fprintf(w, "%-16x  %s\n\n", vaddr, "(not mapped)")
	}
	if len(steps) > 0 {
		fmt.Fprintf(w, "PGD DIRECTORY: %x\n", l.pgdVaddr)
		fmt.Fprintf(w, "PAGE DIRECTORY: %x\n", steps[0].Entry)
		for _, st := range steps[1:] {
			fmt.Fprintf(w, "   %s: %x => %x\n", st.Level, st.EntryAddr, st.Entry)
		}
		if walkErr == nil {
			leaf := steps[len(steps)-1].Entry
			base := leaf & physicalPageMask
			switch size {
			case amd64.PageSize1G:
				fmt.Fprintf(w, "  PAGE: %x  (1GB)\n\n", base)
			case amd64.PageSize2M:
				fmt.Fprintf(w, "  PAGE: %x  (2MB)\n\n", base)
			default:
				fmt.Fprintf(w, "  PAGE: %x\n\n", base)
			}
			writePTE(w, leaf)
		}
	}
	fmt.Fprintln(w)
	if mapped {
		s.writePageLine(w, l, paddr)
	}
	return nil
}

// userSpaceTop is the end of x86_64 user space with 4-level paging
// (crash's USERSPACE_TOP); userSpaceTop5L with 5-level paging.
const (
	userSpaceTop   = 0x0000800000000000
	userSpaceTop5L = 0x0100000000000000
)

func userTop(levels int) uint64 {
	if levels == 5 {
		return userSpaceTop5L
	}
	return userSpaceTop
}

// physicalPageMask is crash's PHYSICAL_PAGE_MASK: address bits 12..51.
const physicalPageMask = 0x000ffffffffff000

// writePTE prints crash's x86_64_translate_pte block for a present entry.
func writePTE(w io.Writer, pte uint64) {
	pteHex := fmt.Sprintf("%x", pte)
	phys := fmt.Sprintf("%x", pte&physicalPageMask)
	len1 := max(len(pteHex), len("PTE"))
	len2 := max(len(phys), len("PHYSICAL"))
	fmt.Fprintf(w, "%s  %s  FLAGS\n", centerIn("PTE", len1, false), centerIn("PHYSICAL", len2, false))
	var flags []string
	for _, f := range pteFlags {
		// PSE only in a present entry; PROTNONE (the GLOBAL bit) only
		// in one that is not.
		if pte&f.bit != 0 && (f.bit != ptePSE || pte&1 != 0) && (f.name != "PROTNONE" || pte&1 == 0) {
			flags = append(flags, f.name)
		}
	}
	fmt.Fprintf(w, "%s  %s  (%s)\n", centerIn(pteHex, len1, true), centerIn(phys, len2, true), strings.Join(flags, "|"))
}

const (
	ptePSE      = 1 << 7
	pteProtNone = 1 << 8 // _PAGE_PROTNONE: the GLOBAL bit in a non-present entry
)

var pteFlags = []struct {
	bit  uint64
	name string
}{
	{1 << 0, "PRESENT"}, {1 << 1, "RW"}, {1 << 2, "USER"}, {1 << 3, "PWT"}, {1 << 4, "PCD"},
	{1 << 5, "ACCESSED"}, {1 << 6, "DIRTY"}, {ptePSE, "PSE"}, {pteProtNone, "PROTNONE"}, {1 << 8, "GLOBAL"}, {1 << 63, "NX"},
}

// writePageLine prints crash's struct page line for the page holding
// paddr (dump_mem_map for one address): the page's address in vmemmap,
// the physical address, mapping, index, reference count and flags with
// their names. It needs the vmlinux; without one nothing is printed.
func (s *Session) writePageLine(w io.Writer, l *kernelLayout, paddr uint64) {
	if l.vals == nil || l.vmemmapBase == 0 || l.pageSize == 0 {
		return
	}
	pfn := paddr >> 12
	if l.maxPFN != 0 && pfn >= l.maxPFN {
		return
	}
	page := l.vmemmapBase + pfn*l.pageSize
	pv, err := l.vals.At("struct page", page)
	if err != nil {
		return
	}
	field := func(path string) (uint64, bool) {
		m, err := pv.Member(path)
		if err != nil {
			return 0, false
		}
		u, err := m.Uint()
		return u, err == nil
	}
	flags, ok1 := field("flags")
	mapping, ok2 := field("mapping")
	index, ok3 := field("index")
	count, ok4 := field("_refcount.counter")
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return
	}
	if !l.headerPrinted {
		fmt.Fprintln(w, "      PAGE       PHYSICAL      MAPPING       INDEX CNT FLAGS")
		l.headerPrinted = true
	}
	line := fmt.Sprintf("%-16x %8x %16x %8x %2d %x", page, pfn<<12, mapping, index, int32(count), flags)
	if flags != 0 {
		sep := " "
		for _, f := range l.flagNames {
			if flags&f.mask != 0 {
				line += sep + f.name
				sep = ","
			}
		}
	}
	fmt.Fprintln(w, line)
}

// vtopUser prints crash's vtop of user address vaddr in task tk's address
// space (do_vtop with x86_64_uvtop_level4): the translation, the walk of
// the task's own page tables, the mapping that holds the address, and the
// struct page line. An address no mapping holds is "not accessible", as
// crash checks the mappings before walking.
func (s *Session) vtopUser(w io.Writer, t *amd64.Translator, l *kernelLayout, tk *tasks.Task, vaddr uint64) error {
	if l.vals == nil {
		return fmt.Errorf("%x is a user address: its translation needs the vmlinux (the task's mm and mappings)", vaddr)
	}
	fmt.Fprintf(w, "%-10s  %-16s\n", "VIRTUAL", "PHYSICAL")
	var vma *tasks.VMA
	if tk.MM != 0 {
		vmas, err := tasks.VMAs(l.vals, tk.MM)
		if err != nil {
			return err
		}
		for i := range vmas {
			if vaddr >= vmas[i].Start && vaddr < vmas[i].End {
				vma = &vmas[i]
				break
			}
		}
	}
	if vma == nil {
		fmt.Fprintf(w, "%-10x  (not accessible)\n\n", vaddr)
		return nil
	}
	walk, err := s.userWalk(t, l, tk.MM, vaddr)
	if err != nil {
		return err
	}
	if walk.mapped {
		fmt.Fprintf(w, "%-10x  %-16x\n\n", vaddr, walk.paddr)
	} else {
		fmt.Fprintf(w, "%-10x  (not mapped)\n\n", vaddr)
	}
	for _, st := range walk.steps {
		fmt.Fprintf(w, "   %s: %x => %x\n", st.Level, st.EntryAddr, st.Entry)
	}
	if walk.mapped {
		leaf := walk.steps[len(walk.steps)-1].Entry
		base := leaf & physicalPageMask
		zero := base == l.zeroPage(t) || base == l.hugeZeroPage()
		switch walk.size {
		case amd64.PageSize1G:
			fmt.Fprintf(w, "  PAGE: %x  (1GB)\n\n", base)
		case amd64.PageSize2M:
			mark := ""
			if zero {
				mark = ", ZERO PAGE"
			}
			fmt.Fprintf(w, "  PAGE: %x  (2MB%s)\n\n", base, mark)
		default:
			mark := ""
			if zero {
				mark = "(ZERO PAGE)"
			}
			fmt.Fprintf(w, "  PAGE: %x  %s\n\n", base, mark)
		}
		writePTE(w, leaf)
	} else if walk.pte != 0 {
		// A swap (or migration) entry: crash names the swap device and
		// offset, which is not done here.
		return fmt.Errorf("%x: the page-table entry %x is a swap entry, which is not decoded yet", vaddr, walk.pte)
	}
	fmt.Fprintln(w)
	s.writeVMA(w, l.vals, vma)
	if !walk.mapped {
		if file, off, ok := s.vmaFileOffset(l.vals, vma, vaddr); ok {
			fmt.Fprintf(w, "\nFILE: %s  OFFSET: %x\n", file, off)
		}
	}
	fmt.Fprintln(w)
	if walk.mapped {
		s.writePageLine(w, l, walk.paddr)
	}
	return nil
}

// userTranslation is a walk of a task's page tables for one address.
type userTranslation struct {
	steps  []amd64.Step // the entries read, named as crash names them
	mapped bool
	paddr  uint64
	size   uint64
	pte    uint64 // a PTE found not present (a swap entry when not zero)
}

// userWalk walks the page tables of the address space mm for vaddr as
// crash's x86_64_uvtop_level4: the top table is mm->pgd (a direct-map
// address), each entry is shown without the memory-encryption bit, and a
// PMD or PTE marked PROTNONE counts as present.
func (s *Session) userWalk(t *amd64.Translator, l *kernelLayout, mm, vaddr uint64) (*userTranslation, error) {
	mmv, err := l.vals.At("struct mm_struct", mm)
	if err != nil {
		return nil, err
	}
	pgdV := member(mmv, "pgd")
	if pgdV == 0 {
		return nil, fmt.Errorf("mm_struct %x has no page directory", mm)
	}
	table, _, err := t.Translate(pgdV)
	if err != nil {
		return nil, fmt.Errorf("mm_struct pgd %x: %w", pgdV, err)
	}
	read := func(paddr uint64) (uint64, error) {
		var b [8]byte
		if _, err := s.Dump.ReadPhys(b[:], paddr); err != nil {
			return 0, err
		}
		return binary.LittleEndian.Uint64(b[:]), nil
	}
	return walkUserTables(read, table, t.Levels(), t.SMEMask(), vaddr)
}

// walkUserTables is the walk of userWalk from the top table at physical
// address top, with read giving the 64-bit entry at a physical address.
func walkUserTables(read func(paddr uint64) (uint64, error), top uint64, levels int, sme, vaddr uint64) (*userTranslation, error) {
	names := []string{"PGD", "PUD", "PMD", "PTE"}
	if levels == 5 {
		names = []string{"PGD", "P4D", "PUD", "PMD", "PTE"}
	}
	table := top
	r := &userTranslation{}
	for i, name := range names {
		shift := uint(12 + 9*(len(names)-1-i))
		at := table&physicalPageMask + 8*((vaddr>>shift)&511)
		raw, err := read(at)
		if err != nil {
			return nil, fmt.Errorf("read error: physical address: %x  type: %q: %w", at, strings.ToLower(name)+" page", err)
		}
		ent := raw &^ sme
		r.steps = append(r.steps, amd64.Step{Level: name, EntryAddr: at, Entry: ent})
		present := ent&ptePresent != 0
		if name == "PMD" || name == "PTE" {
			present = ent&(ptePresent|pteProtNone) != 0
		}
		if !present {
			if name == "PTE" {
				r.pte = ent
			}
			return r, nil
		}
		if name == "PTE" || (name == "PUD" || name == "PMD") && ent&ptePSE != 0 {
			r.size = uint64(1) << shift
			r.mapped = true
			r.paddr = ent&physicalPageMask + vaddr&(r.size-1)
			return r, nil
		}
		table = ent & physicalPageMask
	}
	return r, nil // not reached: the PTE level ends the loop
}

const ptePresent = 1 << 0

// zeroPage is the physical address of empty_zero_page (crash's
// zero_paddr), or 1 (no page address) when it is not known.
func (l *kernelLayout) zeroPage(t *amd64.Translator) uint64 {
	v, err := l.vals.Var("empty_zero_page")
	if err != nil {
		return 1
	}
	p, _, err := t.Translate(v.Addr)
	if err != nil {
		return 1
	}
	return p
}

// hugeZeroPage is the physical address of the huge zero page
// (huge_zero_page, or huge_zero_folio since 6.10), or 1 when there is none.
func (l *kernelLayout) hugeZeroPage() uint64 {
	for _, name := range []string{"huge_zero_page", "huge_zero_folio"} {
		v, err := l.vals.Var(name)
		if err != nil {
			continue
		}
		page, err := v.Uint()
		if err != nil || page == 0 || l.pageSize == 0 || page < l.vmemmapBase {
			return 1
		}
		return (page - l.vmemmapBase) / l.pageSize << 12
	}
	return 1
}

// writeVMA prints crash's VMA header and the line of one mapping, as
// vm_area_dump does for a user address.
func (s *Session) writeVMA(w io.Writer, v *value.Context, m *tasks.VMA) {
	fmt.Fprintf(w, "%s %s %s  FLAGS FILE\n", centerIn("VMA", 16, false), centerIn("START", 10, true), centerIn("END", 10, true))
	fmt.Fprintf(w, "%s %10x %10x %6x %s\n", centerIn(fmt.Sprintf("%x", m.Addr), 16, false), m.Start, m.End, m.Flags, vmaPath(v, m))
}

// vmaPath is the path of the file a mapping maps, "" for anonymous memory.
func vmaPath(v *value.Context, m *tasks.VMA) string {
	return tasks.FilePath(v, m.File)
}

// vmaFileOffset is crash's vma_file_offset: the file a page of a file
// mapping comes from and its offset in the file.
func (s *Session) vmaFileOffset(v *value.Context, m *tasks.VMA, vaddr uint64) (string, uint64, bool) {
	path := vmaPath(v, m)
	if path == "" {
		return "", 0, false
	}
	mv, err := v.At("struct vm_area_struct", m.Addr)
	if err != nil {
		return "", 0, false
	}
	pg, err := mv.Member("vm_pgoff")
	if err != nil {
		return "", 0, false
	}
	pgoff, err := pg.Uint()
	if err != nil {
		return "", 0, false
	}
	return path, ((vaddr-m.Start)>>12 + pgoff) << 12, true
}
