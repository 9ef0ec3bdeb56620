package repl

import (
	"fmt"
)

func init() {
	register(&Command{
		Name:    "sym",
		Usage:   "[symbol | vaddr] ...",
		Summary: "translate a symbol to its virtual address, or vice-versa",
		Help: `For a symbol name, prints its address, its nm-style type letter and the
name; for an address, the symbol at or below it (as crash: however far)
and the offset into it. Code addresses are followed by their source file,
joined to the compilation directory as gdb shows it, and line:

  ffffffff908114f0 (T) schedule debian/build/build_amd64_none_cloud-amd64/kernel/sched/core.c: 6654

An unknown name lists the symbols containing it ("possible alternatives").`,
		Args:         ArgSymbol,
		NeedsVMLinux: true,
		FromBTF:      true,
		Run:          runSym,
	})
}

func runSym(c *Context, args []string) error {
	if len(args) == 0 {
		return usagef("need a symbol or an address")
	}
	s := c.Session
	t := s.crashSymbols()
	var failed error
	for _, a := range args {
		if err := c.Stopped(); err != nil {
			return err
		}
		named := t.named(a)
		if v, ok := parseHex(a); ok && len(named) == 0 {
			// crash: a number outside the symbols' range is refused; any
			// inside is named by the symbol below it.
			sym, off, ok := t.search(v)
			if !ok {
				fmt.Fprintf(c.Out, "sym: invalid address: %s\n", a)
				failed = ErrReported
				continue
			}
			s.showSymbol(c.Out, sym, off)
			continue
		}
		if len(named) == 0 {
			fmt.Fprintf(c.Out, "symbol not found: %s\npossible alternatives:\n", a)
			if s.querySymbols(c.Out, a, "  ") == 0 {
				fmt.Fprintf(c.Out, "  (none found)\n")
			}
			failed = ErrReported
			continue
		}
		for _, sym := range named {
			s.showSymbol(c.Out, sym, 0)
		}
	}
	return failed
}
