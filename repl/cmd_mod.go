package repl

import (
	"fmt"
	"sort"
	"strconv"

	"github.com/vmcoretools/vmcore/value"
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
		Run:          runMod,
	})
}

type moduleRow struct {
	addr, base, size uint64
	name             string
}

// maxModules bounds the module list walk against a corrupt list.
const maxModules = 1 << 14

func runMod(c *Context, args []string) error {
	if len(args) > 0 {
		return usagef("options of crash's mod (-s, -S, -d, -t ...) are not supported yet")
	}
	vals, err := c.Session.Values()
	if err != nil {
		return err
	}
	head, ok := c.Session.Symbols.LookupSymbol("modules")
	if !ok {
		return fmt.Errorf("the kernel has no module list (symbol modules)")
	}
	mods, err := vals.ListEntries(head, "struct module", "list", maxModules)
	if err != nil {
		return fmt.Errorf("walking the module list: %w", err)
	}
	var rows []moduleRow
	for _, m := range mods {
		if err := c.Stopped(); err != nil {
			return err
		}
		row := moduleRow{addr: m.Addr}
		nameV, err := m.Member("name")
		if err == nil {
			row.name, err = nameV.CString(64)
		}
		if err != nil {
			return fmt.Errorf("module at %x: %w", m.Addr, err)
		}
		row.base, row.size, err = moduleCore(m)
		if err != nil {
			return fmt.Errorf("module %s at %x: %w", row.name, m.Addr, err)
		}
		rows = append(rows, row)
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].addr < rows[j].addr })
	nameW, sizeW := len("NAME"), len("SIZE")
	for _, r := range rows {
		nameW = max(nameW, len(r.name))
		sizeW = max(sizeW, len(strconv.FormatUint(r.size, 10)))
	}
	// Kernels from 6.4 keep a module's regions in mem[]; crash then heads
	// the column TEXT_BASE.
	baseHead := "BASE"
	if len(mods) > 0 {
		if _, err := mods[0].Member("core_layout"); err != nil {
			baseHead = "TEXT_BASE"
		}
	}
	fmt.Fprintf(c.Out, "%s  %-*s  %s  %*s  OBJECT FILE\n", centerIn("MODULE", 16, false), nameW, "NAME", centerIn(baseHead, 16, false), sizeW, "SIZE")
	for _, r := range rows {
		kallsyms := ""
		if c.Session.moduleSymbols[r.addr] > 0 {
			kallsyms = "  [CONFIG_KALLSYMS]" // crash: symbols from the module's own table
		}
		fmt.Fprintf(c.Out, "%16x  %-*s  %16x  %*d  (not loaded)%s\n", r.addr, nameW, r.name, r.base, sizeW, r.size, kallsyms)
	}
	return nil
}

// moduleCore returns the base and size of a module's core: core_layout
// before 6.4, the mem[] regions (text base, summed sizes) since.
func moduleCore(m value.Value) (base, size uint64, err error) {
	if cl, err := m.Member("core_layout"); err == nil {
		b, err := cl.Member("base")
		if err != nil {
			return 0, 0, err
		}
		if base, err = b.Uint(); err != nil {
			return 0, 0, err
		}
		sz, err := cl.Member("size")
		if err != nil {
			return 0, 0, err
		}
		size, err = sz.Uint()
		return base, size, err
	}
	// 6.4+: struct module_memory mem[MOD_MEM_NUM_TYPES]; MOD_TEXT is 0 and
	// the core regions come before MOD_INIT_TEXT (4).
	for i := 0; i < 4; i++ {
		r, err := m.Member(fmt.Sprintf("mem[%d]", i))
		if err != nil {
			return 0, 0, err
		}
		sz, err := r.Member("size")
		if err != nil {
			return 0, 0, err
		}
		n, err := sz.Uint()
		if err != nil {
			return 0, 0, err
		}
		size += n
		if i == 0 {
			b, err := r.Member("base")
			if err != nil {
				return 0, 0, err
			}
			if base, err = b.Uint(); err != nil {
				return 0, 0, err
			}
		}
	}
	return base, size, nil
}
