package repl

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"

	"github.com/vmcoretools/vmcore/module"
)

func init() {
	register(&Command{
		Name:    "mod",
		Usage:   "",
		Summary: "module information",
		Help: `Lists the kernel modules loaded at the crash, from the kernel's module
list: the struct module address, the name, the base address of the
module's core (text) and its size, as crash's mod does. Each module's
symbols are read from its own in-memory table when the session opens
("[CONFIG_KALLSYMS]", as in crash), so backtraces, sym and dis name module
code; module debuginfo (crash's mod -s) is not loaded, so OBJECT FILE is
"(not loaded)".`,
		NeedsVMLinux: true,
		FromBTF:      true,
		Run:          runMod,
	})
}

func runMod(c *Context, args []string) error {
	if len(args) > 0 {
		return usagef("options of crash's mod (-s, -S, -d, -t ...) are not supported yet")
	}
	vals, err := c.Session.Values()
	if err != nil {
		return err
	}
	layout, err := module.Layout(vals)
	if err != nil {
		return err
	}
	mods, listErr := c.Session.Modules()
	if listErr != nil && len(mods) == 0 {
		return listErr
	}
	sortModules(mods)
	nameW, sizeW := len("NAME"), len("SIZE")
	for _, m := range mods {
		nameW = max(nameW, len(m.Name))
		sizeW = max(sizeW, len(strconv.FormatUint(m.Size, 10)))
	}
	// Kernels from 6.4 keep a module's regions in mem[]; crash then heads
	// the column TEXT_BASE.
	baseHead := "BASE"
	if layout == module.LayoutMem {
		baseHead = "TEXT_BASE"
	}
	fmt.Fprintf(c.Out, "%s  %-*s  %s  %*s  OBJECT FILE\n", centerIn("MODULE", 16, false), nameW, "NAME", centerIn(baseHead, 16, false), sizeW, "SIZE")
	for _, m := range mods {
		object, kallsyms := m.ObjectFile, ""
		if object == "" {
			object = "(not loaded)"
		}
		if m.KallsymsSymbols > 0 {
			kallsyms = "  [CONFIG_KALLSYMS]" // crash: symbols from the module's own table
		}
		fmt.Fprintf(c.Out, "%16x  %-*s  %16x  %*d  %s%s\n", m.Addr, nameW, m.Name, m.Base, sizeW, m.Size, object, kallsyms)
	}
	return listErr
}

// sortModules puts modules in crash's order: by the base of their core
// text (crash's mod_base: core_layout.base, mem[MOD_TEXT].base from 6.4),
// which is not the order of their struct module when many are loaded.
func sortModules(mods []module.Module) {
	slices.SortStableFunc(mods, func(a, b module.Module) int {
		return cmp.Or(cmp.Compare(a.Base, b.Base), cmp.Compare(a.Addr, b.Addr))
	})
}
