package repl

import (
	"errors"
	"fmt"

	"github.com/vmcoretools/vmcore/arch/amd64"
)

func init() {
	register(&Command{
		Name:    "vtop",
		Usage:   "[-k] address ...",
		Summary: "virtual to physical",
		Help: `Translates kernel virtual addresses (the direct map, the kernel image,
vmalloc space: anything the kernel page tables map) to physical addresses
by walking the page tables found through VMCOREINFO; no vmlinux is needed.
Prints crash's VIRTUAL/PHYSICAL lines and the size of the page that maps
the address. User addresses need a task context (not available yet).

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
	for _, o := range opts {
		if o.name == "u" || o.name == "c" {
			return fmt.Errorf("-%s: user address translation needs a task context, which is not available yet", o.name)
		}
	}
	if len(rest) == 0 {
		return usagef("need an address")
	}
	t, err := c.Session.Translator()
	if err != nil {
		return err
	}
	for _, a := range rest {
		if err := c.Stopped(); err != nil {
			return err
		}
		vaddr, err := c.Session.parseAddress(a)
		if err != nil {
			return err
		}
		fmt.Fprintf(c.Out, "%-16s  %-16s\n", "VIRTUAL", "PHYSICAL")
		if vaddr < kernelHalf {
			fmt.Fprintf(c.Out, "%-16x  (not a kernel virtual address)\n\n", vaddr)
			continue
		}
		paddr, size, err := t.Translate(vaddr)
		if err != nil {
			var te *amd64.TranslateError
			if errors.Is(err, amd64.ErrNonCanonical) {
				fmt.Fprintf(c.Out, "%-16x  (not a kernel virtual address)\n\n", vaddr)
				continue
			}
			if errors.As(err, &te) && errors.Is(err, amd64.ErrNotMapped) {
				fmt.Fprintf(c.Out, "%-16x  (not mapped)\n\n", vaddr)
				fmt.Fprintf(c.Out, "  %s entry not present: %x\n\n", te.Level, te.Entry)
				continue
			}
			fmt.Fprintf(c.Out, "%-16x  (page table not readable)\n\n", vaddr)
			return err
		}
		fmt.Fprintf(c.Out, "%-16x  %-16x\n\n", vaddr, paddr)
		page := paddr &^ (size - 1)
		switch size {
		case amd64.PageSize1G:
			fmt.Fprintf(c.Out, "  PAGE: %x  (1GB)\n", page)
		case amd64.PageSize2M:
			fmt.Fprintf(c.Out, "  PAGE: %x  (2MB)\n", page)
		default:
			fmt.Fprintf(c.Out, "  PAGE: %x\n", page)
		}
		if _, err := c.Session.Dump.ReadPhys(make([]byte, 1), paddr); err != nil {
			fmt.Fprintf(c.Out, "  (the dump does not hold this page: %v)\n", err)
		}
		fmt.Fprintln(c.Out)
	}
	return nil
}

// kernelHalf is the lowest x86_64 kernel address with 4-level paging; with
// 5 levels the kernel half starts lower still, so this errs on the safe side.
const kernelHalf = 0xff00000000000000
