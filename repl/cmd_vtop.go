package repl

import (
	"fmt"
	"io"
	"strings"

	"github.com/vmcoretools/vmcore/arch"
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
	layout := c.Session.kernelLayout(ks)
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
		user := userOnly || !kernelOnly && ks.UserAddr(vaddr)
		if i > 0 {
			fmt.Fprintln(c.Out)
		}
		if !user {
			// With -c crash walks the task's tables, which map the
			// kernel as the kernel's own do: the same output.
			if err := c.Session.vtopKernel(c.Out, layout, vaddr); err != nil {
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
		if err := c.Session.vtopUser(c.Out, layout, tk, vaddr); err != nil {
			return err
		}
	}
	return nil
}

// kernelLayout is what vtop needs beyond the machine's address space: the
// kernel variables its rules read (from the vmlinux), and how to find a
// physical page's struct page.
type kernelLayout struct {
	ks arch.KernelSpace

	// From the vmlinux; zero without one.
	maxPFN    uint64
	pageSize  uint64 // sizeof(struct page)
	vals      *value.Context
	flagNames []pageFlagName

	// headerPrinted: crash prints the struct page header once a command.
	headerPrinted bool
}

// variable reads an unsigned kernel variable, false without the vmlinux.
func (l *kernelLayout) variable(name string) (uint64, bool) {
	if l.vals == nil {
		return 0, false
	}
	v, err := l.vals.Var(name)
	if err != nil {
		return 0, false
	}
	u, err := v.Uint()
	return u, err == nil
}

type pageFlagName struct {
	mask uint64
	name string
}

func (s *Session) kernelLayout(ks arch.KernelSpace) *kernelLayout {
	l := &kernelLayout{ks: ks}
	vals, err := s.Values()
	if err != nil {
		return l
	}
	l.vals = vals
	l.maxPFN, _ = l.variable("max_pfn")
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

// vtopKernel prints crash's vtop of one kernel address.
func (s *Session) vtopKernel(w io.Writer, l *kernelLayout, vaddr uint64) error {
	fmt.Fprintf(w, "%-16s  %-16s\n", "VIRTUAL", "PHYSICAL")
	if !l.ks.KernelAddr(vaddr) {
		fmt.Fprintf(w, "%-8x  (not a kernel virtual address)\n\n", vaddr)
		return nil
	}
	tr := l.ks.VtopKernel(vaddr, l.variable)
	if tr.Err != nil {
		// A page table the dump does not hold: say so after what was read.
		defer fmt.Fprintf(w, "(page table not readable: %v)\n", tr.Err)
	}
	if tr.Mapped {
		fmt.Fprintf(w, "%-16x  %-16x\n\n", vaddr, tr.Phys)
	} else {
		fmt.Fprintf(w, "%-16x  %s\n\n", vaddr, "(not mapped)")
	}
	if len(tr.Steps) > 0 {
		fmt.Fprintf(w, "PGD DIRECTORY: %x\n", l.ks.TopTable())
		fmt.Fprintf(w, "PAGE DIRECTORY: %x\n", tr.Steps[0].Entry)
		for _, st := range tr.Steps[1:] {
			fmt.Fprintf(w, "   %s: %x => %x\n", st.Level, st.EntryAddr, st.Entry)
		}
		if tr.Size != 0 { // the walk reached a page
			leaf := tr.Steps[len(tr.Steps)-1].Entry
			base := l.ks.EntryPhys(leaf)
			if big := l.hugeName(tr.Size); big != "" {
				fmt.Fprintf(w, "  PAGE: %x  (%s)\n\n", base, big)
			} else {
				fmt.Fprintf(w, "  PAGE: %x\n\n", base)
			}
			writePTE(w, leaf, base, l.ks.EntryFlags(leaf))
		}
	}
	fmt.Fprintln(w)
	if tr.Mapped {
		s.writePageLine(w, l, tr.Phys)
	}
	return nil
}

// hugeName is crash's name of a page larger than the base page ("2MB",
// "1GB"), "" for a base page.
func (l *kernelLayout) hugeName(size uint64) string {
	switch {
	case size <= l.ks.PageSize():
		return ""
	case size >= 1<<30:
		return fmt.Sprintf("%dGB", size>>30)
	case size >= 1<<20:
		return fmt.Sprintf("%dMB", size>>20)
	}
	return fmt.Sprintf("%dKB", size>>10)
}

// writePTE prints crash's block for a present leaf entry: the entry, the
// physical address it holds and its flags.
func writePTE(w io.Writer, pte, phys uint64, flags []string) {
	pteHex := fmt.Sprintf("%x", pte)
	physHex := fmt.Sprintf("%x", phys)
	len1 := max(len(pteHex), len("PTE"))
	len2 := max(len(physHex), len("PHYSICAL"))
	fmt.Fprintf(w, "%s  %s  FLAGS\n", centerIn("PTE", len1, false), centerIn("PHYSICAL", len2, false))
	fmt.Fprintf(w, "%s  %s  (%s)\n", centerIn(pteHex, len1, true), centerIn(physHex, len2, true), strings.Join(flags, "|"))
}

// writePageLine prints crash's struct page line for the page holding
// paddr (dump_mem_map for one address): the page's address in vmemmap,
// the physical address, mapping, index, reference count and flags with
// their names. It needs the vmlinux; without one nothing is printed.
func (s *Session) writePageLine(w io.Writer, l *kernelLayout, paddr uint64) {
	if l.vals == nil {
		return
	}
	pfn := paddr / l.ks.PageSize()
	if l.maxPFN != 0 && pfn >= l.maxPFN {
		return
	}
	page, ok := l.ks.PageStruct(paddr, l.pageSize, l.variable)
	if !ok {
		return
	}
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
	line := fmt.Sprintf("%-16x %8x %16x %8x %2d %x", page, pfn*l.ks.PageSize(), mapping, index, int32(count), flags)
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
func (s *Session) vtopUser(w io.Writer, l *kernelLayout, tk *tasks.Task, vaddr uint64) error {
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
	mmv, err := l.vals.At("struct mm_struct", tk.MM)
	if err != nil {
		return err
	}
	pgd := member(mmv, "pgd")
	if pgd == 0 {
		return fmt.Errorf("mm_struct %x has no page directory", tk.MM)
	}
	walk, err := l.ks.VtopUser(pgd, vaddr)
	if err != nil {
		return err
	}
	if walk.Mapped {
		fmt.Fprintf(w, "%-10x  %-16x\n\n", vaddr, walk.Phys)
	} else {
		fmt.Fprintf(w, "%-10x  (not mapped)\n\n", vaddr)
	}
	for _, st := range walk.Steps {
		fmt.Fprintf(w, "   %s: %x => %x\n", st.Level, st.EntryAddr, st.Entry)
	}
	if walk.Mapped {
		leaf := walk.Steps[len(walk.Steps)-1].Entry
		base := l.ks.EntryPhys(leaf)
		zero := base == l.zeroPage() || base == l.hugeZeroPage()
		switch big := l.hugeName(walk.Size); {
		case big != "" && zero && walk.Size < 1<<30:
			fmt.Fprintf(w, "  PAGE: %x  (%s, ZERO PAGE)\n\n", base, big)
		case big != "":
			fmt.Fprintf(w, "  PAGE: %x  (%s)\n\n", base, big)
		case zero:
			fmt.Fprintf(w, "  PAGE: %x  (ZERO PAGE)\n\n", base)
		default:
			fmt.Fprintf(w, "  PAGE: %x  \n\n", base)
		}
		writePTE(w, leaf, base, l.ks.EntryFlags(leaf))
	} else if walk.NotPresent != 0 {
		// A swap (or migration) entry: crash names the swap device and
		// offset, which is not done here.
		return fmt.Errorf("%x: the page-table entry %x is a swap entry, which is not decoded yet", vaddr, walk.NotPresent)
	}
	fmt.Fprintln(w)
	s.writeVMA(w, l.vals, vma)
	if !walk.Mapped {
		if file, off, ok := s.vmaFileOffset(l.vals, vma, vaddr); ok {
			fmt.Fprintf(w, "\nFILE: %s  OFFSET: %x\n", file, off)
		}
	}
	fmt.Fprintln(w)
	if walk.Mapped {
		s.writePageLine(w, l, walk.Phys)
	}
	return nil
}

// zeroPage is the physical address of empty_zero_page (crash's
// zero_paddr), or 1 (no page address) when it is not known.
func (l *kernelLayout) zeroPage() uint64 {
	v, err := l.vals.Var("empty_zero_page")
	if err != nil {
		return 1
	}
	p, _, err := l.ks.Translate(v.Addr)
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
		if err != nil || page == 0 {
			return 1
		}
		if p, ok := l.ks.PageStructPhys(page, l.pageSize, l.variable); ok {
			return p
		}
		return 1
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
