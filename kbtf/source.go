package kbtf

import (
	"debug/dwarf"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/vmcoretools/vmcore/kallsyms"
	"github.com/vmcoretools/vmcore/ktype"
)

// ErrNoType is a global variable whose type the kernel's BTF does not give
// (BTF describes types, functions and the per-CPU variables) and that the
// table of the views' globals lacks: without the vmlinux only its address
// is known.
var ErrNoType = errors.New("its type is unknown without the vmlinux (the kernel's BTF types at most its per-CPU variables): read it with rd ADDRESS, or struct TYPE ADDRESS")

// Source is the kernel's own type and symbol information as a
// ktype.Source: types from its BTF, symbols from its kallsyms table, and
// the types of global variables from BTF (per-CPU ones) or from the table
// of globals the views read (Globals).
type Source struct {
	types *Types
	syms  *kallsyms.Table
	reloc uint64

	once   sync.Once
	sorted []kallsyms.Symbol // by address, each with its end
	ends   []uint64
	// The per-CPU area's bounds as kallsyms gives them: offsets from 0
	// (x86_64 before 6.15: absolute per-CPU symbols) or addresses.
	pcpuStart, pcpuEnd uint64

	// The loaded modules' BTF, read on the first type the kernel's own
	// lacks (SetModules).
	loadModules func() ([]ModuleTypes, []error)
	modsOnce    sync.Once
	mods        []ModuleTypes
	modErrs     []error
}

// ModuleTypes is a loaded module's BTF, split on its kernel's.
type ModuleTypes struct {
	Module string
	Types  *Types
}

// SetModules gives the source the loaded modules' BTF: load is called once,
// on the first type the kernel's own BTF lacks, and returns each module's
// types and the errors of those it could not read. Type then finds a
// module's types (struct virtio_blk) after the kernel's.
func (s *Source) SetModules(load func() ([]ModuleTypes, []error)) { s.loadModules = load }

// Modules returns the loaded modules' BTF (read on first use; nil without
// SetModules) and why any module's could not be read.
func (s *Source) Modules() ([]ModuleTypes, []error) {
	s.modsOnce.Do(func() {
		if s.loadModules != nil {
			s.mods, s.modErrs = s.loadModules()
		}
	})
	return s.mods, s.modErrs
}

var _ ktype.Source = (*Source)(nil)

// NewSource serves types from t and symbols from syms; reloc is the KASLR
// offset (VMCOREINFO's KERNELOFFSET), which the symbols already include.
func NewSource(t *Types, syms *kallsyms.Table, reloc uint64) *Source {
	return &Source{types: t, syms: syms, reloc: reloc}
}

// Types is the BTF the source serves types from.
func (s *Source) Types() *Types { return s.types }

// Symbols is the kernel's symbol table the source serves symbols from.
func (s *Source) Symbols() *kallsyms.Table { return s.syms }

// Type implements ktype.Source: the kernel's type of that name, else the
// first loaded module's that has one (see SetModules).
func (s *Source) Type(name string) (dwarf.Type, error) {
	t, err := s.types.Type(name)
	var nf *NotFoundError
	if err == nil || s.loadModules == nil || !errors.As(err, &nf) {
		return t, err
	}
	mods, _ := s.Modules()
	for _, m := range mods {
		if mt, merr := m.Types.Type(name); merr == nil {
			return mt, nil
		}
	}
	return nil, err
}

// Relocation implements ktype.Source: the KASLR offset.
func (s *Source) Relocation() uint64 { return s.reloc }

func (s *Source) index() {
	s.once.Do(func() {
		s.sorted = append([]kallsyms.Symbol(nil), s.syms.Symbols...)
		sort.SliceStable(s.sorted, func(i, j int) bool { return s.sorted[i].Addr < s.sorted[j].Addr })
		// Each symbol ends where the next higher address begins (the
		// last one at its own address): one pass from the top.
		s.ends = make([]uint64, len(s.sorted))
		for i := len(s.sorted) - 1; i >= 0; i-- {
			switch {
			case i == len(s.sorted)-1:
				s.ends[i] = s.sorted[i].Addr
			case s.sorted[i+1].Addr > s.sorted[i].Addr:
				s.ends[i] = s.sorted[i+1].Addr
			default:
				s.ends[i] = s.ends[i+1]
			}
		}
		if a, ok := s.syms.Lookup("__per_cpu_start"); ok {
			s.pcpuStart = a.Addr
		}
		if b, ok := s.syms.Lookup("__per_cpu_end"); ok {
			s.pcpuEnd = b.Addr
		}
	})
}

// symbol turns a kallsyms entry into a ktype.Symbol: its size is the
// distance to the next symbol's address (kallsyms keeps no sizes).
func (s *Source) symbol(k kallsyms.Symbol, end uint64) ktype.Symbol {
	sym := ktype.Symbol{Name: k.Name, Addr: k.Addr, Kind: k.Type}
	if end > k.Addr {
		sym.Size = end - k.Addr
	}
	switch k.Type | 0x20 {
	case 't', 'w':
		sym.Type = ktype.SymFunc
	case 'd', 'b', 'r', 'v', 'g', 's':
		sym.Type = ktype.SymObject
	}
	if linkerMarker(k.Name) {
		// A bound the linker script defines: no object of its own
		// (the vmlinux gives it no type).
		sym.Type = ktype.SymOther
	}
	if s.pcpuEnd > s.pcpuStart && k.Addr >= s.pcpuStart && k.Addr < s.pcpuEnd {
		// Its address is what the kernel adds __per_cpu_offset[cpu] to:
		// the offset itself with absolute per-CPU symbols.
		sym.PerCPU = true
	}
	return sym
}

// All returns every kallsyms symbol by address, each sized to the next
// higher address as Lookup and SymbolAt size it.
func (s *Source) All() []ktype.Symbol {
	s.index()
	out := make([]ktype.Symbol, len(s.sorted))
	for i, k := range s.sorted {
		out[i] = s.symbol(k, s.ends[i])
	}
	return out
}

// Lookup implements ktype.Source.
func (s *Source) Lookup(name string) (ktype.Symbol, bool) {
	k, ok := s.syms.Lookup(name)
	if !ok {
		return ktype.Symbol{}, false
	}
	s.index()
	i := sort.Search(len(s.sorted), func(i int) bool { return s.sorted[i].Addr >= k.Addr })
	end := uint64(0)
	for ; i < len(s.sorted) && s.sorted[i].Addr == k.Addr; i++ {
		end = s.ends[i]
	}
	return s.symbol(k, end), true
}

// SymbolAt implements ktype.Source: the symbol at or below addr (the last
// of several at one address, as kallsyms lists them), unless addr lies
// past the end of the kernel's last symbol.
func (s *Source) SymbolAt(addr uint64) (ktype.Symbol, uint64, bool) {
	s.index()
	i := sort.Search(len(s.sorted), func(i int) bool { return s.sorted[i].Addr > addr }) - 1
	if i < 0 || i == len(s.sorted)-1 && addr != s.sorted[i].Addr {
		return ktype.Symbol{}, 0, false
	}
	// A linker script's bound shares its address with the object it
	// bounds: the object names the address, as in the vmlinux.
	for j := i - 1; j >= 0 && s.sorted[j].Addr == s.sorted[i].Addr && linkerMarker(s.sorted[i].Name); j-- {
		if !linkerMarker(s.sorted[j].Name) {
			i = j
		}
	}
	k := s.sorted[i]
	if s.pcpuEnd > s.pcpuStart && k.Addr >= s.pcpuStart && k.Addr < s.pcpuEnd && addr >= s.pcpuEnd {
		return ktype.Symbol{}, 0, false
	}
	return s.symbol(k, s.ends[i]), addr - k.Addr, true
}

// Variable implements ktype.Source. Its type comes from BTF (a per-CPU
// variable) or from Globals; a symbol of neither gives an error wrapping
// ErrNoType that names it and its address.
func (s *Source) Variable(name string) (*ktype.Variable, error) {
	sym, ok := s.Lookup(name)
	if !ok {
		return nil, &NotFoundError{"symbol", name}
	}
	v := &ktype.Variable{Name: name, Addr: sym.Addr, PerCPU: sym.PerCPU}
	if t, ok := s.types.Var(name); ok {
		v.Type = t
		return v, nil
	}
	decl, ok := Globals[name]
	if !ok {
		return nil, fmt.Errorf("kbtf: %s (at %#x): %w", name, sym.Addr, ErrNoType)
	}
	t, err := s.declType(decl, sym.Size)
	if err != nil {
		return nil, fmt.Errorf("kbtf: the type of %s (%s): %w", name, decl, err)
	}
	v.Type = t
	return v, nil
}

// declType is the type a Globals declaration names: a type name (as Type
// takes it) with array dimensions; "[]" takes its count from the
// symbol's size, a struct {...} lays out its members in order.
func (s *Source) declType(decl string, symSize uint64) (dwarf.Type, error) {
	decl = strings.TrimSpace(strings.TrimPrefix(decl, "const "))
	if rest, ok := strings.CutPrefix(decl, "volatile "); ok {
		t, err := s.declType(rest, symSize)
		if err != nil {
			return nil, err
		}
		return &dwarf.QualType{CommonType: dwarf.CommonType{ByteSize: t.Size()}, Qual: "volatile", Type: t}, nil
	}
	if body, ok := strings.CutPrefix(decl, "struct {"); ok {
		return s.anonStruct(strings.TrimSuffix(strings.TrimSpace(body), "}"))
	}
	base, dims, _ := strings.Cut(decl, "[")
	t, err := s.types.Type(base)
	if err != nil {
		return nil, err
	}
	if dims == "" {
		return t, nil
	}
	var counts []int64
	for _, d := range strings.Split(strings.TrimSuffix(dims, "]"), "][") {
		if d == "" {
			counts = append(counts, -1)
			continue
		}
		n, err := strconv.ParseInt(d, 10, 64)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("bad dimension %q", d)
		}
		counts = append(counts, n)
	}
	for i := len(counts) - 1; i >= 0; i-- {
		n := counts[i]
		if n < 0 {
			// The count from the symbol's extent: kallsyms has no sizes,
			// but the next symbol bounds this one.
			if es := t.Size(); es > 0 && symSize > 0 {
				n = int64(symSize) / es
			} else {
				n = 0
			}
		}
		size := int64(0)
		if es := t.Size(); es > 0 {
			size = es * n
		}
		t = &dwarf.ArrayType{CommonType: dwarf.CommonType{ByteSize: size}, Type: t, Count: n}
	}
	return t, nil
}

// anonStruct lays out "type name; type name;" with each member at its
// natural alignment, as the compiler does for an unnamed struct.
func (s *Source) anonStruct(body string) (dwarf.Type, error) {
	st := &dwarf.StructType{Kind: "struct"}
	off, align := int64(0), int64(1)
	for _, m := range strings.Split(body, ";") {
		m = strings.TrimSpace(m)
		if m == "" {
			continue
		}
		i := strings.LastIndexByte(m, ' ')
		if i < 0 {
			return nil, fmt.Errorf("bad member %q", m)
		}
		t, err := s.types.Type(m[:i])
		if err != nil {
			return nil, err
		}
		a := alignOf(t)
		off = (off + a - 1) / a * a
		st.Field = append(st.Field, &dwarf.StructField{Name: m[i+1:], Type: t, ByteOffset: off})
		off += t.Size()
		align = max(align, a)
	}
	st.ByteSize = (off + align - 1) / align * align
	return st, nil
}

// alignOf is a type's natural alignment on x86_64: a scalar's size, an
// aggregate's largest member's.
func alignOf(t dwarf.Type) int64 {
	switch u := ktype.Strip(t).(type) {
	case *dwarf.StructType:
		a := int64(1)
		for _, f := range u.Field {
			a = max(a, alignOf(f.Type))
		}
		return a
	case *dwarf.ArrayType:
		return alignOf(u.Type)
	}
	if n := t.Size(); n > 0 && n <= 16 {
		return n
	}
	return 8
}

// linkerMarker tells the symbols the kernel's linker script defines to
// bound sections and tables (__start_BTF, __stop___ex_table, _sdata):
// kallsyms types them as data, the vmlinux as no type.
func linkerMarker(name string) bool {
	switch name {
	case "_text", "_stext", "_etext", "_sdata", "_edata", "_sinittext", "_einittext", "_end", "__bss_start", "__bss_stop",
		"init_thread_union", "init_stack", // INIT_TASK_DATA's, in vmlinux.lds.h
		// x86's vmlinux.lds.S: the init sections' and the lock table's
		// bounds (a 7.2 pointer past __init_end is no "<__init_end+N>").
		"__init_begin", "__init_end", "__smp_locks", "__smp_locks_end", "__nosave_begin", "__nosave_end":
		return true
	}
	return strings.HasPrefix(name, "__start_") || strings.HasPrefix(name, "__stop_") || strings.HasPrefix(name, "__end_") ||
		strings.HasPrefix(name, "__begin_") // 5.10's __begin_sched_classes
}
