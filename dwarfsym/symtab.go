package dwarfsym

import (
	"bytes"
	"cmp"
	"debug/elf"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
)

// Symbol is one ELF symbol. Addr includes the relocation set by SetRelocation
// (the KASLR offset) unless the symbol is absolute or per-CPU.
type Symbol struct {
	Name    string
	Addr    uint64
	Size    uint64
	Type    elf.SymType
	Bind    elf.SymBind
	Section string // "" for absolute symbols
	PerCPU  bool   // in .data..percpu: Addr plus __per_cpu_offset[cpu] is CPU cpu's instance
	Module  string // the loaded module it belongs to (AddModuleSymbols); "" for the vmlinux's

	SectionFlags elf.SectionFlag // of the symbol's section

	nobits bool // the section has no file contents (.bss and the like)
}

// Kind is the symbol's nm(1) letter, as crash's sym command shows it in
// parentheses: T/t text, D/d data, B/b bss, R/r read-only, A absolute,
// W/w weak; lower case for local symbols.
func (s Symbol) Kind() byte {
	var c byte
	switch {
	case s.Section == "":
		c = 'A'
	case s.SectionFlags&elf.SHF_EXECINSTR != 0:
		c = 'T'
	case s.nobits || strings.HasPrefix(s.Section, ".bss"):
		c = 'B'
	case s.SectionFlags&elf.SHF_WRITE != 0:
		c = 'D'
	default:
		c = 'R'
	}
	if s.Bind == elf.STB_WEAK {
		c = 'W'
	}
	if s.Bind == elf.STB_LOCAL {
		c += 'a' - 'A'
	}
	return c
}

// symEntry is a symbol as the table keeps it: 32 bytes, name as an offset
// into the string table, so that 100k kernel symbols cost no allocations.
type symEntry struct {
	addr    uint64
	size    uint64
	name    uint32
	nameLen uint32
	shndx   uint16
	info    uint8
	flags   uint8
}

const (
	symPerCPU = 1 << iota
	symAbs
)

type symtab struct {
	entries []symEntry // sorted by address, then by name offset
	byAddr  []int32    // indexes of entries usable for address lookup
	strtab  []byte
	shnames []string
	// percpuReloc: per-CPU symbols move with KASLR (the per-CPU section
	// is linked inside the image, not at 0).
	percpuReloc bool

	nameOnce sync.Once
	byName   []int32 // entries sorted by name, then global before local, then address
	lookups  atomic.Int32
}

// scanLookups is how many name lookups are answered by scanning the table
// before it is sorted by name: pairing a dump needs a handful, and a scan
// costs less than a millisecond where the sort costs tens.
const scanLookups = 16

func (t *symtab) name(e *symEntry) string { return string(t.nameBytes(e)) }

// symbols loads the symbol table on first use.
func (f *File) symbols() (*symtab, error) {
	if f.closed.Load() {
		return nil, ErrClosed
	}
	f.symOnce.Do(func() { f.syms, f.symErr = f.loadSymbols() })
	return f.syms, f.symErr
}

func (f *File) loadSymbols() (*symtab, error) {
	var symSec *elf.Section
	for _, s := range f.elf.Sections {
		if s.Type == elf.SHT_SYMTAB {
			symSec = s
			break
		}
	}
	if symSec == nil {
		return nil, fmt.Errorf("dwarfsym: %w", elf.ErrNoSymbols)
	}
	if symSec.Link == 0 || int(symSec.Link) >= len(f.elf.Sections) {
		return nil, &FormatError{symSec.Name, 0, fmt.Sprintf("string table link %d names no section", symSec.Link)}
	}
	data, err := f.section(symSec.Name)
	if err != nil {
		return nil, err
	}
	strtab, err := f.section(f.elf.Sections[symSec.Link].Name)
	if err != nil {
		return nil, err
	}
	t := &symtab{strtab: strtab}
	percpu := -1
	for i, s := range f.elf.Sections {
		t.shnames = append(t.shnames, s.Name)
		if s.Name == ".data..percpu" {
			percpu = i
			// x86-64 linked the per-CPU section at 0 up to 6.12 at
			// least, so a per-CPU symbol is an offset that KASLR does
			// not move; 7.2 links it in the image, and it moves.
			t.percpuReloc = s.Addr != 0
		}
	}
	bo := f.elf.ByteOrder
	var entSize int
	switch f.elf.Class {
	case elf.ELFCLASS64:
		entSize = 24
	case elf.ELFCLASS32:
		entSize = 16
	default:
		return nil, &FormatError{Msg: "unknown ELF class"}
	}
	n := len(data) / entSize
	t.entries = make([]symEntry, 0, n)
	for i := 1; i < n; i++ { // entry 0 is the null symbol
		b := data[i*entSize : (i+1)*entSize]
		var e symEntry
		if entSize == 24 {
			e.name = bo.Uint32(b[0:])
			e.info = b[4]
			e.shndx = bo.Uint16(b[6:])
			e.addr = bo.Uint64(b[8:])
			e.size = bo.Uint64(b[16:])
		} else {
			e.name = bo.Uint32(b[0:])
			e.addr = uint64(bo.Uint32(b[4:]))
			e.size = uint64(bo.Uint32(b[8:]))
			e.info = b[12]
			e.shndx = bo.Uint16(b[14:])
		}
		typ := elf.ST_TYPE(e.info)
		if typ == elf.STT_SECTION || typ == elf.STT_FILE || e.shndx == uint16(elf.SHN_UNDEF) || e.name == 0 || int(e.name) >= len(strtab) {
			continue
		}
		if n := bytes.IndexByte(strtab[e.name:], 0); n >= 0 {
			e.nameLen = uint32(n)
		} else {
			e.nameLen = uint32(len(strtab) - int(e.name))
		}
		// Per-CPU symbols are those inside .data..percpu; markers such as
		// __per_cpu_load carry its index but an address outside it.
		if int(e.shndx) == percpu && e.addr-f.elf.Sections[percpu].Addr < f.elf.Sections[percpu].Size+1 {
			e.flags |= symPerCPU
		}
		if e.shndx == uint16(elf.SHN_ABS) {
			e.flags |= symAbs
		}
		t.entries = append(t.entries, e)
	}
	slices.SortFunc(t.entries, func(a, b symEntry) int {
		if c := cmp.Compare(a.addr, b.addr); c != 0 {
			return c
		}
		return cmp.Compare(a.name, b.name)
	})
	for i := range t.entries {
		e := &t.entries[i]
		if e.flags&(symPerCPU|symAbs) != 0 || int(e.shndx) >= len(f.elf.Sections) {
			continue
		}
		if f.elf.Sections[e.shndx].Flags&elf.SHF_ALLOC == 0 {
			continue
		}
		t.byAddr = append(t.byAddr, int32(i))
	}
	return t, nil
}

// SetRelocation sets the offset added to every relocatable symbol's
// address (the KASLR offset of the running kernel). Absolute symbols are
// not moved, nor are per-CPU ones where the per-CPU section is linked at 0
// (x86-64 up to 6.12 at least), as in the kernel itself.
func (f *File) SetRelocation(off uint64) { f.reloc.Store(off) }

// Relocation is the offset set by SetRelocation.
func (f *File) Relocation() uint64 { return f.reloc.Load() }

func (f *File) symbol(t *symtab, e *symEntry) Symbol {
	s := Symbol{
		Name: t.name(e),
		Addr: e.addr,
		Size: e.size,
		Type: elf.ST_TYPE(e.info),
		Bind: elf.ST_BIND(e.info),
	}
	if e.flags&symAbs == 0 && int(e.shndx) < len(t.shnames) {
		s.Section = t.shnames[e.shndx]
		s.SectionFlags = f.elf.Sections[e.shndx].Flags
		s.nobits = f.elf.Sections[e.shndx].Type == elf.SHT_NOBITS
	}
	s.PerCPU = e.flags&symPerCPU != 0
	if e.flags&symAbs == 0 && (e.flags&symPerCPU == 0 || t.percpuReloc) {
		s.Addr += f.reloc.Load()
	}
	return s
}

// nameBytes is an entry's name without allocating.
func (t *symtab) nameBytes(e *symEntry) []byte {
	return t.strtab[e.name : e.name+e.nameLen]
}

// named returns the entries of that name, globals first.
func (t *symtab) named(name string) []int32 {
	key := []byte(name)
	if t.lookups.Add(1) <= scanLookups {
		var globals, locals []int32
		for i := range t.entries {
			e := &t.entries[i]
			if int(e.nameLen) == len(key) && bytes.Equal(t.nameBytes(e), key) {
				if elf.ST_BIND(e.info) == elf.STB_LOCAL {
					locals = append(locals, int32(i))
				} else {
					globals = append(globals, int32(i))
				}
			}
		}
		return append(globals, locals...)
	}
	t.nameOnce.Do(func() {
		idx := make([]int32, len(t.entries))
		for i := range idx {
			idx[i] = int32(i)
		}
		slices.SortStableFunc(idx, func(i, j int32) int {
			a, b := &t.entries[i], &t.entries[j]
			if c := bytes.Compare(t.nameBytes(a), t.nameBytes(b)); c != 0 {
				return c
			}
			al, bl := elf.ST_BIND(a.info) == elf.STB_LOCAL, elf.ST_BIND(b.info) == elf.STB_LOCAL
			switch {
			case !al && bl:
				return -1
			case al && !bl:
				return 1
			}
			return 0
		})
		t.byName = idx
	})
	lo := sort.Search(len(t.byName), func(i int) bool { return bytes.Compare(t.nameBytes(&t.entries[t.byName[i]]), key) >= 0 })
	hi := lo
	for hi < len(t.byName) && bytes.Equal(t.nameBytes(&t.entries[t.byName[hi]]), key) {
		hi++
	}
	return t.byName[lo:hi]
}

// Lookup returns the symbol of that name: the global one when there are
// several (static functions of the same name in different files), else the
// first by address.
func (f *File) Lookup(name string) (Symbol, bool) {
	t, err := f.symbols()
	if err != nil {
		return Symbol{}, false
	}
	idx := t.named(name)
	if len(idx) == 0 {
		return f.mods.lookup(name)
	}
	return f.symbol(t, &t.entries[idx[0]]), true
}

// LookupAll returns every symbol of that name, globals first, then by
// address.
func (f *File) LookupAll(name string) []Symbol {
	t, err := f.symbols()
	if err != nil {
		return nil
	}
	var out []Symbol
	for _, i := range t.named(name) {
		out = append(out, f.symbol(t, &t.entries[i]))
	}
	if len(out) == 0 {
		if s, ok := f.mods.lookup(name); ok {
			out = append(out, s)
		}
	}
	return out
}

// SymbolAt returns the symbol that contains addr (a relocated address) and
// addr's offset into it: the nearest symbol at or below addr in the same
// section, preferring one whose size covers addr (a function over a local
// label at the same place). ok is false for an address below every symbol or
// past the end of the section of the nearest one.
func (f *File) SymbolAt(addr uint64) (sym Symbol, off uint64, ok bool) {
	sym, off, ok = f.vmlinuxSymbolAt(addr)
	if !ok {
		return f.mods.at(addr)
	}
	return sym, off, ok
}

func (f *File) vmlinuxSymbolAt(addr uint64) (sym Symbol, off uint64, ok bool) {
	t, err := f.symbols()
	if err != nil || len(t.byAddr) == 0 {
		return Symbol{}, 0, false
	}
	a := addr - f.reloc.Load()
	// Last index with entry addr <= a.
	i := sort.Search(len(t.byAddr), func(i int) bool { return t.entries[t.byAddr[i]].addr > a }) - 1
	if i < 0 {
		return Symbol{}, 0, false
	}
	best := &t.entries[t.byAddr[i]]
	// Among symbols at the same address, prefer a sized function or object,
	// then a global.
	start := best.addr
	for j := i; j >= 0 && t.entries[t.byAddr[j]].addr == start; j-- {
		e := &t.entries[t.byAddr[j]]
		if rank(e, a) > rank(best, a) {
			best = e
		}
	}
	// A sized symbol that ends before addr may sit inside a larger one
	// (a label inside a function): look back a little for a cover.
	if best.size != 0 && a-best.addr >= best.size {
		for j, k := i, 0; j >= 0 && k < 64; j, k = j-1, k+1 {
			e := &t.entries[t.byAddr[j]]
			if e.size != 0 && a-e.addr < e.size {
				best = e
				break
			}
		}
	}
	if int(best.shndx) < len(f.elf.Sections) {
		s := f.elf.Sections[best.shndx]
		if a >= s.Addr+s.Size && best.addr != a {
			return Symbol{}, 0, false
		}
	}
	return f.symbol(t, best), a - best.addr, true
}

func rank(e *symEntry, a uint64) int {
	r := 0
	if e.size != 0 && a-e.addr < e.size {
		r += 4
	}
	switch elf.ST_TYPE(e.info) {
	case elf.STT_FUNC, elf.STT_OBJECT:
		r += 2
	}
	if elf.ST_BIND(e.info) != elf.STB_LOCAL {
		r++
	}
	return r
}

// Symbols returns every symbol, by address, the modules' (AddModuleSymbols)
// after the vmlinux's; a listing for sym -l.
func (f *File) Symbols() ([]Symbol, error) {
	t, err := f.symbols()
	if err != nil {
		return nil, err
	}
	out := make([]Symbol, len(t.entries), len(t.entries)+f.ModuleSymbolCount())
	for i := range t.entries {
		out[i] = f.symbol(t, &t.entries[i])
	}
	f.mods.mu.RLock()
	out = append(out, f.mods.byAddr...) // above the vmlinux's, in module space
	f.mods.mu.RUnlock()
	return out, nil
}

// FormatAddr renders addr as crash does in backtraces and rd -s:
// "name+0x1f" (or "name" at offset 0), or the bare hex address when no
// symbol holds it.
func (f *File) FormatAddr(addr uint64) string {
	s, off, ok := f.SymbolAt(addr)
	if !ok {
		return fmt.Sprintf("%#x", addr)
	}
	if off == 0 {
		return s.Name
	}
	return fmt.Sprintf("%s+%#x", s.Name, off)
}

// KallsymsSymbol makes a symbol from a kallsyms entry (the kernel's or a
// module's), whose Kind is the entry's nm letter: T/t text, D/d data, B/b
// bss, R/r read-only data, A/a absolute, W/w and V/v weak, lower case for a
// local symbol. kallsyms keeps no sizes: size is 0 when unknown.
func KallsymsSymbol(name string, addr, size uint64, letter byte) Symbol {
	s := Symbol{Name: name, Addr: addr, Size: size, Bind: elf.STB_GLOBAL}
	upper := letter &^ 0x20
	if letter != upper {
		s.Bind = elf.STB_LOCAL
	}
	switch upper {
	case 'T':
		s.Type, s.Section, s.SectionFlags = elf.STT_FUNC, ".text", elf.SHF_ALLOC|elf.SHF_EXECINSTR
	case 'D':
		s.Type, s.Section, s.SectionFlags = elf.STT_OBJECT, ".data", elf.SHF_ALLOC|elf.SHF_WRITE
	case 'B':
		s.Type, s.Section, s.SectionFlags = elf.STT_OBJECT, ".bss", elf.SHF_ALLOC|elf.SHF_WRITE
	case 'R':
		s.Type, s.Section, s.SectionFlags = elf.STT_OBJECT, ".rodata", elf.SHF_ALLOC
	case 'A':
		s.Type = elf.STT_NOTYPE
	case 'W':
		s.Type, s.Bind, s.Section, s.SectionFlags = elf.STT_FUNC, elf.STB_WEAK, ".text", elf.SHF_ALLOC|elf.SHF_EXECINSTR
	case 'V':
		s.Type, s.Bind, s.Section, s.SectionFlags = elf.STT_OBJECT, elf.STB_WEAK, ".data", elf.SHF_ALLOC|elf.SHF_WRITE
	default:
		s.Section = ".text"
	}
	return s
}
