package repl

import (
	"debug/dwarf"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"

	"github.com/vmcoretools/vmcore/dwarfsym"
	"github.com/vmcoretools/vmcore/kbtf"
	"github.com/vmcoretools/vmcore/vmcore"
)

// kernelInfo is what commands read of the kernel's types and symbols:
// the debuginfo vmlinux's DWARF and ELF symbols (a *dwarfsym.File), or
// without it the kernel's own BTF and kallsyms (btfInfo). Line tables and
// ELF sections exist only in the vmlinux: commands that need them use
// Session.Debug.
type kernelInfo interface {
	// Type is a C type by name, as dwarfsym.File.Type takes it.
	Type(name string) (dwarf.Type, error)
	// Variable is a global or per-CPU variable with its type.
	Variable(name string) (*dwarfsym.Variable, error)
	// Function is a function's address and prototype.
	Function(name string) (*dwarfsym.Function, error)
	// Lookup, LookupAll and SymbolAt find symbols, the modules' too.
	Lookup(name string) (dwarfsym.Symbol, bool)
	LookupAll(name string) []dwarfsym.Symbol
	SymbolAt(addr uint64) (dwarfsym.Symbol, uint64, bool)
	// Symbols lists every symbol, by address.
	Symbols() ([]dwarfsym.Symbol, error)
}

var _ kernelInfo = (*dwarfsym.File)(nil)

// info returns the session's types and symbols: the vmlinux's, or
// without one the dump's own (BTF and kallsyms, read on first use). It is
// never nil: without either, every lookup fails with the reason.
func (s *Session) info() kernelInfo {
	if s.Debug != nil {
		return s.Debug
	}
	s.btfOnce.Do(func() {
		k, err := s.dumpKernel()
		if err != nil {
			s.btf = noInfo{err}
			return
		}
		if k.Source == nil {
			s.btf = noInfo{fmt.Errorf("%w: the kernel model has no type source", ErrNeedsVMLinux)}
			return
		}
		s.btf = &btfInfo{k: k, src: k.Source}
	})
	return s.btf
}

// hasTypes tells whether the session has the kernel's types: from the
// vmlinux, or else from the dump's own BTF.
func (s *Session) hasTypes() bool {
	_, none := s.info().(noInfo)
	return !none
}

// noInfo is a session with neither a vmlinux nor the kernel's BTF.
type noInfo struct{ err error }

func (n noInfo) Type(string) (dwarf.Type, error)                 { return nil, n.err }
func (n noInfo) Variable(string) (*dwarfsym.Variable, error)     { return nil, n.err }
func (n noInfo) Function(string) (*dwarfsym.Function, error)     { return nil, n.err }
func (n noInfo) Lookup(string) (dwarfsym.Symbol, bool)           { return dwarfsym.Symbol{}, false }
func (n noInfo) LookupAll(string) []dwarfsym.Symbol              { return nil }
func (n noInfo) SymbolAt(uint64) (dwarfsym.Symbol, uint64, bool) { return dwarfsym.Symbol{}, 0, false }
func (n noInfo) Symbols() ([]dwarfsym.Symbol, error)             { return nil, n.err }

// btfInfo serves the kernel's own BTF and kallsyms (kbtf.Source) and the
// loaded modules' kallsyms as a kernelInfo.
type btfInfo struct {
	k   *vmcore.Kernel
	src *kbtf.Source

	once   sync.Once
	all    []dwarfsym.Symbol // the kernel's symbols then the modules', by address
	mods   []dwarfsym.Symbol // the modules' symbols, by address
	byName map[string][]int  // indexes into all
}

func (b *btfInfo) Type(name string) (dwarf.Type, error) { return b.src.Type(name) }

func (b *btfInfo) Variable(name string) (*dwarfsym.Variable, error) {
	v, err := b.src.Variable(name)
	if err != nil {
		return nil, err
	}
	sym, _ := b.Lookup(name)
	return &dwarfsym.Variable{Name: v.Name, Addr: v.Addr, PerCPU: v.PerCPU, Type: v.Type, Symbol: sym}, nil
}

func (b *btfInfo) Function(name string) (*dwarfsym.Function, error) {
	sym, ok := b.Lookup(name)
	if !ok {
		return nil, fmt.Errorf("no function %q", name)
	}
	fn := &dwarfsym.Function{Name: name, Addr: sym.Addr, Size: sym.Size, Symbol: sym}
	if ft, ok := b.src.Types().Func(name); ok {
		fn.Type = ft
	}
	return fn, nil
}

func (b *btfInfo) Lookup(name string) (dwarfsym.Symbol, bool) {
	if sym, ok := b.k.Lookup(name); ok {
		return sym, true
	}
	b.index()
	if idx := b.byName[name]; len(idx) > 0 {
		return b.all[idx[0]], true
	}
	return dwarfsym.Symbol{}, false
}

func (b *btfInfo) LookupAll(name string) []dwarfsym.Symbol {
	b.index()
	var out []dwarfsym.Symbol
	for _, i := range b.byName[name] {
		out = append(out, b.all[i])
	}
	// Globals first, as dwarfsym lists them.
	sort.SliceStable(out, func(i, j int) bool { return out[i].Kind() < out[j].Kind() })
	return out
}

func (b *btfInfo) SymbolAt(addr uint64) (dwarfsym.Symbol, uint64, bool) {
	if sym, off, ok := b.k.SymbolAt(addr); ok {
		return sym, off, true
	}
	b.index()
	i := sort.Search(len(b.mods), func(i int) bool { return b.mods[i].Addr > addr }) - 1
	if i < 0 {
		return dwarfsym.Symbol{}, 0, false
	}
	m := b.mods[i]
	if m.Size != 0 && addr-m.Addr >= m.Size {
		return dwarfsym.Symbol{}, 0, false
	}
	return m, addr - m.Addr, true
}

func (b *btfInfo) Symbols() ([]dwarfsym.Symbol, error) {
	b.index()
	return b.all, nil
}

// index lists the kernel's kallsyms (each sized to the next address, as
// kbtf.Source gives them) and the modules' symbols, once.
func (b *btfInfo) index() {
	b.once.Do(func() {
		b.all, _ = b.k.Symbols() // kallsyms: by address, never an error
		mods, bySym, _ := moduleSymbols(b.k.Values)
		for _, m := range mods {
			b.mods = append(b.mods, bySym[m.Addr]...)
		}
		sort.SliceStable(b.mods, func(i, j int) bool { return b.mods[i].Addr < b.mods[j].Addr })
		b.all = append(b.all, b.mods...)
		b.byName = make(map[string][]int, len(b.all))
		for i, s := range b.all {
			b.byName[s.Name] = append(b.byName[s.Name], i)
		}
	})
}

// errNoType tells whether err says that a global's type is unknown
// without the vmlinux (the kernel's BTF types only per-CPU variables).
func errNoType(err error) bool { return errors.Is(err, kbtf.ErrNoType) }

// untypedGlobal is what p and whatis say of a global whose type is unknown
// without the vmlinux: its name and address, and what to use instead.
func untypedGlobal(name string, addr uint64) error {
	return fmt.Errorf("%s (at %#x): %w", name, addr, kbtf.ErrNoType)
}

// dumpSymbols are a session's symbols without a vmlinux: those VMCOREINFO
// lists, and on a miss the kernel's kallsyms and the modules' symbols
// (read on first need, with the kernel's BTF: see info).
type dumpSymbols struct {
	s  *Session
	vi *vmcoreinfoSymbols

	namesOnce sync.Once
	names     []string
}

func (ds *dumpSymbols) LookupSymbol(name string) (uint64, bool) {
	if a, ok := ds.vi.LookupSymbol(name); ok {
		return a, true
	}
	sym, ok := ds.s.info().Lookup(name)
	return sym.Addr, ok
}

func (ds *dumpSymbols) SymbolAt(addr uint64) (string, uint64, bool) {
	if sym, off, ok := ds.s.info().SymbolAt(addr); ok {
		return sym.Name, off, true
	}
	return ds.vi.SymbolAt(addr)
}

func (ds *dumpSymbols) SymbolNames(prefix string, max int) []string {
	ds.namesOnce.Do(func() {
		b, ok := ds.s.info().(*btfInfo)
		if !ok {
			ds.names = ds.vi.sorted
			return
		}
		// The kernel's kallsyms names, without building the symbol
		// index (completion starts with the prompt: keep it light).
		syms := b.src.Symbols().Symbols
		ds.names = make([]string, len(syms))
		for i := range syms {
			ds.names[i] = syms[i].Name
		}
		sort.Strings(ds.names)
		ds.names = slices.Compact(ds.names)
	})
	return prefixed(ds.names, prefix, max)
}

func (ds *dumpSymbols) TypeNames(string, int) []string { return nil }
