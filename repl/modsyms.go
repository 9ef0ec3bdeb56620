package repl

import (
	"github.com/vmcoretools/vmcore/dwarfsym"
	"github.com/vmcoretools/vmcore/module"
	"github.com/vmcoretools/vmcore/value"
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
	mods, bySym, listErr := moduleSymbols(vals)
	counts := map[uint64]int{}
	for _, m := range mods {
		if syms := bySym[m.Addr]; len(syms) > 0 {
			s.Debug.AddModuleSymbols(m.Name, syms)
			counts[m.Addr] = len(syms)
		}
	}
	return counts, listErr
}

// moduleSymbols lists the loaded modules (those before a bad one, with the
// list's error) and each one's symbols from its own table, by module
// address, each symbol's Kind its kallsyms letter and Module its module's
// name. A module without a table is left out of the map.
func moduleSymbols(vals *value.Context) ([]module.Module, map[uint64][]dwarfsym.Symbol, error) {
	mods, listErr := module.List(vals)
	bySym, _ := module.ReadSymbols(vals, mods)
	out := map[uint64][]dwarfsym.Symbol{}
	for _, m := range mods {
		for _, sym := range bySym[m.Addr] {
			ds := dwarfsym.KallsymsSymbol(sym.Name, sym.Addr, sym.Size, sym.Kind)
			ds.Module = m.Name
			out[m.Addr] = append(out[m.Addr], ds)
		}
	}
	return mods, out, listErr
}
