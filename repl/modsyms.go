package repl

import (
	"github.com/vmcoretools/vmcore/dwarfsym"
	"github.com/vmcoretools/vmcore/module"
)

// Module symbols come from each loaded module's in-memory symbol table
// (struct module.kallsyms: an Elf64_Sym array, its string table and, from
// 4.x on, a type letter per symbol), as crash loads them at start-up and
// marks the module [CONFIG_KALLSYMS] in mod. They are added to the
// vmlinux's table (dwarfsym.File.AddModuleSymbols), so backtraces, sym, dis
// and rd -s name module code and data.

// loadModuleSymbols reads every module's symbols (module.Symbols) and
// returns how many each module gave, by module address. A module whose
// table cannot be read is left out of the map (mod then prints no
// [CONFIG_KALLSYMS] for it).
func (s *Session) loadModuleSymbols() (map[uint64]int, error) {
	if s.Debug == nil {
		return nil, ErrNeedsVMLinux
	}
	vals, err := s.Values()
	if err != nil {
		return nil, err
	}
	mods, listErr := module.List(vals)         // the modules before a bad one are kept
	bySym, _ := module.ReadSymbols(vals, mods) // a module without a table is left out
	counts := map[uint64]int{}
	for _, m := range mods {
		syms := bySym[m.Addr]
		if len(syms) == 0 {
			continue
		}
		out := make([]dwarfsym.Symbol, len(syms))
		for i, sym := range syms {
			out[i] = dwarfsym.KallsymsSymbol(sym.Name, sym.Addr, sym.Size, sym.Kind)
		}
		s.Debug.AddModuleSymbols(m.Name, out)
		counts[m.Addr] = len(out)
	}
	return counts, listErr
}
