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
name; for an address, the symbol containing it and the offset into it.
Text symbols are followed by their source file and line.

  ffffffff810c6b60 (T) schedule kernel/sched/core.c: 6654`,
		Args:         ArgSymbol,
		NeedsVMLinux: true,
		Run:          runSym,
	})
}

func runSym(c *Context, args []string) error {
	if len(args) == 0 {
		return usagef("need a symbol or an address")
	}
	s := c.Session
	for _, a := range args {
		if err := c.Stopped(); err != nil {
			return err
		}
		if v, ok := parseHex(a); ok && len(a) >= 8 {
			sym, off, ok := s.Debug.SymbolAt(v)
			if !ok {
				fmt.Fprintf(c.Out, "sym: %x: no symbol contains this address\n", v)
				continue
			}
			name := sym.Name
			if off != 0 {
				name = fmt.Sprintf("%s+%d", sym.Name, off)
			}
			line := ""
			if symbolTypeChar(sym)|0x20 == 't' {
				line = s.symLine(v)
			}
			fmt.Fprintf(c.Out, "%x (%c) %s%s\n", v, symbolTypeChar(sym), name, line)
			continue
		}
		syms := s.Debug.LookupAll(a)
		if len(syms) == 0 {
			return fmt.Errorf("%s: symbol not found", a)
		}
		for _, sym := range syms {
			line := ""
			if symbolTypeChar(sym)|0x20 == 't' {
				line = s.symLine(sym.Addr)
			}
			fmt.Fprintf(c.Out, "%x (%c) %s%s\n", sym.Addr, symbolTypeChar(sym), sym.Name, line)
		}
	}
	return nil
}
