package repl

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/vmcoretools/vmcore/arch/amd64"
	"github.com/vmcoretools/vmcore/value"
)

func init() {
	register(&Command{
		Name:    "vtop",
		Usage:   "[-k] address ...",
		Summary: "virtual to physical",
		Help: `Translates kernel virtual addresses (the direct map, the kernel image,
vmalloc space: anything the kernel page tables map) to physical addresses
and shows the page-table walk as crash does: the PGD, (P4D,) PUD, PMD and
PTE entries read, the leaf's flags, and the struct page of the physical
page (address, mapping, index, count and flags).

The walk needs no vmlinux (the page tables are found through VMCOREINFO);
the struct page line does, and is left out without one. User addresses
need a task context (not available yet).

   -k  the addresses are kernel virtual addresses (the default).`,
		Options: []string{"-k", "-u"},
		Args:    ArgSymbol,
		Run:     runVtop,
	})
}

func runVtop(c *Context, args []string) error {
	opts, rest, err := getopt(args, "kuc", "")
	if err != nil {
		return err
	}
	kernelOnly := false
	for _, o := range opts {
		if o.name == "u" || o.name == "c" {
			return fmt.Errorf("-%s: user address translation needs a task context, which is not available yet", o.name)
		}
		kernelOnly = kernelOnly || o.name == "k"
	}
	if len(rest) == 0 {
		return usagef("need an address")
	}
	t, err := c.Session.Translator()
	if err != nil {
		return err
	}
	layout := c.Session.kernelLayout(t)
	for i, a := range rest {
		if err := c.Stopped(); err != nil {
			return err
		}
		vaddr, err := c.Session.parseAddress(a)
		if err != nil {
			return err
		}
		if !kernelOnly && vaddr < userSpaceTop {
			// crash translates it in the current task's address space.
			return fmt.Errorf("%x is a user address: user address translation needs a task context, which is not available yet (-k takes it as a kernel address)", vaddr)
		}
		if i > 0 {
			fmt.Fprintln(c.Out)
		}
		if err := c.Session.vtopKernel(c.Out, t, layout, vaddr); err != nil {
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
// (crash's USERSPACE_TOP).
const userSpaceTop = 0x0000800000000000

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
		if pte&f.bit != 0 && (f.bit != ptePSE || pte&1 != 0) {
			flags = append(flags, f.name)
		}
	}
	fmt.Fprintf(w, "%s  %s  (%s)\n", centerIn(pteHex, len1, true), centerIn(phys, len2, true), strings.Join(flags, "|"))
}

const ptePSE = 1 << 7

var pteFlags = []struct {
	bit  uint64
	name string
}{
	{1 << 0, "PRESENT"}, {1 << 1, "RW"}, {1 << 2, "USER"}, {1 << 3, "PWT"}, {1 << 4, "PCD"},
	{1 << 5, "ACCESSED"}, {1 << 6, "DIRTY"}, {ptePSE, "PSE"}, {1 << 8, "GLOBAL"}, {1 << 63, "NX"},
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
