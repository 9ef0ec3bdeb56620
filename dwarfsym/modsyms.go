package dwarfsym

import (
	"slices"
	"strings"
	"sync"
)

// Module symbols are the symbols of loaded kernel modules, which a vmlinux
// does not have: the caller reads them from the dump (each module's
// in-memory kallsyms) and adds them, as crash does at start-up and gdb's
// add-symbol-file does by hand. Lookup and SymbolAt fall back to them, so
// every user of the symbol table (backtraces, sym, dis, rd -s) names
// module code without knowing where the names came from. Their addresses
// are absolute: SetRelocation does not move them.
type moduleSymbols struct {
	mu     sync.RWMutex
	byAddr []Symbol // sorted by address
	byName map[string]int
}

// AddModuleSymbols adds the symbols of one loaded module. Each symbol's
// Module should name it; Addr is the address in the running kernel.
// Symbols of a module added before are replaced.
func (f *File) AddModuleSymbols(module string, syms []Symbol) {
	m := &f.mods
	m.mu.Lock()
	defer m.mu.Unlock()
	m.byAddr = slices.DeleteFunc(m.byAddr, func(s Symbol) bool { return s.Module == module })
	for _, s := range syms {
		s.Module = module
		m.byAddr = append(m.byAddr, s)
	}
	slices.SortStableFunc(m.byAddr, func(a, b Symbol) int {
		switch {
		case a.Addr < b.Addr:
			return -1
		case a.Addr > b.Addr:
			return 1
		}
		return 0
	})
	m.byName = make(map[string]int, len(m.byAddr))
	for i := len(m.byAddr) - 1; i >= 0; i-- { // the first by address wins, globals over locals
		s := m.byAddr[i]
		if j, ok := m.byName[s.Name]; ok && m.byAddr[j].Bind != 0 && s.Bind == 0 {
			continue // keep a global over a local
		}
		m.byName[s.Name] = i
	}
}

// ModuleSymbolCount is how many module symbols were added.
func (f *File) ModuleSymbolCount() int {
	f.mods.mu.RLock()
	defer f.mods.mu.RUnlock()
	return len(f.mods.byAddr)
}

func (m *moduleSymbols) lookup(name string) (Symbol, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if i, ok := m.byName[name]; ok {
		return m.byAddr[i], true
	}
	return Symbol{}, false
}

// at finds the module symbol containing addr: the nearest at or below it
// whose size covers it (module symbols from kallsyms have sizes from the
// module's ELF symbol table).
func (m *moduleSymbols) at(addr uint64) (Symbol, uint64, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	i, found := slices.BinarySearchFunc(m.byAddr, addr, func(s Symbol, a uint64) int {
		switch {
		case s.Addr < a:
			return -1
		case s.Addr > a:
			return 1
		}
		return 0
	})
	if found {
		for i+1 < len(m.byAddr) && m.byAddr[i+1].Addr == addr {
			i++
		}
	} else {
		i--
	}
	for j := i; j >= 0 && j > i-64; j-- {
		s := m.byAddr[j]
		if addr-s.Addr < max(s.Size, 1) || (s.Size == 0 && j == i && strings.HasPrefix(s.Section, ".text")) {
			return s, addr - s.Addr, true
		}
	}
	return Symbol{}, 0, false
}
