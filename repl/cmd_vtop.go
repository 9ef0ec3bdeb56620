package repl

import (
	"fmt"
	"io"
	"strings"

	"github.com/vmcoretools/vmcore/arch"
	"github.com/vmcoretools/vmcore/kmem"
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
	var vals *value.Context
	if c.Session.hasTypes() {
		if vals, err = c.Session.Values(); err != nil {
			return err
		}
	}
	mem := kmem.New(ks, vals)
	pageHeader := false // crash prints the struct page header once a command
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
		var tr *kmem.Translation
		if !user {
			// With -c crash walks the task's tables, which map the
			// kernel as the kernel's own do: the same output.
			tr = mem.VtopKernel(vaddr)
		} else {
			tk := task
			if tk == nil {
				if tk, err = c.Session.CurrentTask(); err != nil {
					return fmt.Errorf("%x is a user address, translated in the current task's address space (-k takes it as a kernel address): %w", vaddr, err)
				}
			}
			if vals == nil {
				return fmt.Errorf("%x is a user address: its translation needs the vmlinux (the task's mm and mappings)", vaddr)
			}
			if tr, err = mem.VtopUser(tk, vaddr); err != nil {
				return err
			}
		}
		if err := writeVtop(c.Out, ks, tr, &pageHeader); err != nil {
			return err
		}
	}
	return nil
}

// writeVtop prints crash's vtop of one address.
func writeVtop(w io.Writer, ks arch.KernelSpace, tr *kmem.Translation, pageHeader *bool) error {
	if tr.User {
		return writeVtopUser(w, ks, tr, pageHeader)
	}
	fmt.Fprintf(w, "%-16s  %-16s\n", "VIRTUAL", "PHYSICAL")
	if tr.NotKernel {
		fmt.Fprintf(w, "%-8x  (not a kernel virtual address)\n\n", tr.Address)
		return nil
	}
	if tr.Walk.Err != nil {
		// A page table the dump does not hold: say so after what was read.
		defer fmt.Fprintf(w, "(page table not readable: %v)\n", tr.Walk.Err)
	}
	if tr.Walk.Mapped {
		fmt.Fprintf(w, "%-16x  %-16x\n\n", tr.Address, tr.Walk.Phys)
	} else {
		fmt.Fprintf(w, "%-16x  %s\n\n", tr.Address, "(not mapped)")
	}
	if steps := tr.Walk.Steps; len(steps) > 0 {
		fmt.Fprintf(w, "PGD DIRECTORY: %x\n", tr.TopTable)
		fmt.Fprintf(w, "PAGE DIRECTORY: %x\n", steps[0].Entry)
		for _, st := range steps[1:] {
			fmt.Fprintf(w, "   %s: %x => %x\n", st.Level, st.EntryAddr, st.Entry)
		}
		if tr.Leaf != nil {
			if big := hugeName(ks, tr.Walk.Size); big != "" {
				fmt.Fprintf(w, "  PAGE: %x  (%s)\n\n", tr.Leaf.Phys, big)
			} else {
				fmt.Fprintf(w, "  PAGE: %x\n\n", tr.Leaf.Phys)
			}
			writePTE(w, tr.Leaf)
		}
	}
	fmt.Fprintln(w)
	writePageLine(w, tr.Page, pageHeader)
	return nil
}

// hugeName is crash's name of a page larger than the base page ("2MB",
// "1GB"), "" for a base page.
func hugeName(ks arch.KernelSpace, size uint64) string {
	switch {
	case size <= ks.PageSize():
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
func writePTE(w io.Writer, l *kmem.Leaf) {
	pteHex := fmt.Sprintf("%x", l.Entry)
	physHex := fmt.Sprintf("%x", l.Phys)
	len1 := max(len(pteHex), len("PTE"))
	len2 := max(len(physHex), len("PHYSICAL"))
	fmt.Fprintf(w, "%s  %s  FLAGS\n", centerIn("PTE", len1, false), centerIn("PHYSICAL", len2, false))
	fmt.Fprintf(w, "%s  %s  (%s)\n", centerIn(pteHex, len1, true), centerIn(physHex, len2, true), strings.Join(l.Flags, "|"))
}

// writePageLine prints crash's struct page line (dump_mem_map for one
// address): the page's address, the physical address, mapping, index,
// reference count and flags with their names. Without the struct page
// (no vmlinux) nothing is printed.
func writePageLine(w io.Writer, p *kmem.Page, header *bool) {
	if p == nil {
		return
	}
	if !*header {
		fmt.Fprintln(w, "      PAGE       PHYSICAL      MAPPING       INDEX CNT FLAGS")
		*header = true
	}
	line := fmt.Sprintf("%-16x %8x %16x %8x %2d %x", p.Addr, p.Phys, p.Mapping, p.Index, p.Count, p.Flags)
	if len(p.FlagNames) > 0 {
		line += " " + strings.Join(p.FlagNames, ",")
	}
	fmt.Fprintln(w, line)
}

// writeVtopUser prints crash's vtop of a user address (do_vtop with
// x86_64_uvtop_level4): the translation, the walk of the task's own page
// tables, the mapping that holds the address, and the struct page line.
// An address no mapping holds is "not accessible", as crash checks the
// mappings before walking.
func writeVtopUser(w io.Writer, ks arch.KernelSpace, tr *kmem.Translation, pageHeader *bool) error {
	fmt.Fprintf(w, "%-10s  %-16s\n", "VIRTUAL", "PHYSICAL")
	if tr.Mapping == nil {
		fmt.Fprintf(w, "%-10x  (not accessible)\n\n", tr.Address)
		return nil
	}
	if tr.Walk.Mapped {
		fmt.Fprintf(w, "%-10x  %-16x\n\n", tr.Address, tr.Walk.Phys)
	} else {
		fmt.Fprintf(w, "%-10x  (not mapped)\n\n", tr.Address)
	}
	for _, st := range tr.Walk.Steps {
		fmt.Fprintf(w, "   %s: %x => %x\n", st.Level, st.EntryAddr, st.Entry)
	}
	if tr.Leaf != nil {
		switch big := hugeName(ks, tr.Walk.Size); {
		case big != "" && tr.ZeroPage && tr.Walk.Size < 1<<30:
			fmt.Fprintf(w, "  PAGE: %x  (%s, ZERO PAGE)\n\n", tr.Leaf.Phys, big)
		case big != "":
			fmt.Fprintf(w, "  PAGE: %x  (%s)\n\n", tr.Leaf.Phys, big)
		case tr.ZeroPage:
			fmt.Fprintf(w, "  PAGE: %x  (ZERO PAGE)\n\n", tr.Leaf.Phys)
		default:
			fmt.Fprintf(w, "  PAGE: %x  \n\n", tr.Leaf.Phys)
		}
		writePTE(w, tr.Leaf)
	} else if tr.Walk.NotPresent != 0 {
		// A swap (or migration) entry: crash names the swap device and
		// offset, which is not done here.
		return fmt.Errorf("%x: the page-table entry %x is a swap entry, which is not decoded yet", tr.Address, tr.Walk.NotPresent)
	}
	fmt.Fprintln(w)
	m := tr.Mapping
	fmt.Fprintf(w, "%s %s %s  FLAGS FILE\n", centerIn("VMA", 16, false), centerIn("START", 10, true), centerIn("END", 10, true))
	fmt.Fprintf(w, "%s %10x %10x %6x %s\n", centerIn(fmt.Sprintf("%x", m.VMA), 16, false), m.Start, m.End, m.Flags, m.Path)
	if tr.File != "" {
		fmt.Fprintf(w, "\nFILE: %s  OFFSET: %x\n", tr.File, tr.FileOffset)
	}
	fmt.Fprintln(w)
	writePageLine(w, tr.Page, pageHeader)
	return nil
}
