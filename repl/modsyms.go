package repl

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"fmt"

	"github.com/vmcoretools/vmcore/dwarfsym"
	"github.com/vmcoretools/vmcore/value"
)

// Module symbols come from each loaded module's in-memory symbol table
// (struct module.kallsyms: an Elf64_Sym array, its string table and, from
// 4.x on, a type letter per symbol), as crash loads them at start-up and
// marks the module [CONFIG_KALLSYMS] in mod. They are added to the
// vmlinux's table (dwarfsym.File.AddModuleSymbols), so backtraces, sym, dis
// and rd -s name module code and data.

// Bounds against a corrupt module: crash's own limits are similar.
const (
	maxModuleSymbols = 1 << 18
	maxSymbolName    = 512
	maxStrtab        = 16 << 20
	elf64SymSize     = 24
)

// loadModuleSymbols reads every module's symbols and returns how many each
// module gave, by module address. A module whose table cannot be read is
// left out of the map (mod then prints no [CONFIG_KALLSYMS] for it).
func (s *Session) loadModuleSymbols() (map[uint64]int, error) {
	if s.Debug == nil {
		return nil, ErrNeedsVMLinux
	}
	vals, err := s.Values()
	if err != nil {
		return nil, err
	}
	head, ok := s.Debug.Lookup("modules")
	if !ok {
		return nil, fmt.Errorf("the kernel has no module list (symbol modules)")
	}
	mods, err := vals.ListEntries(head.Addr, "struct module", "list", maxModules)
	if err != nil {
		return nil, fmt.Errorf("walking the module list: %w", err)
	}
	counts := map[uint64]int{}
	for _, m := range mods {
		nameV, err := m.Member("name")
		if err != nil {
			continue
		}
		name, err := nameV.CString(64)
		if err != nil {
			continue
		}
		syms, err := readModuleKallsyms(vals, m)
		if err != nil || len(syms) == 0 {
			continue
		}
		s.Debug.AddModuleSymbols(name, syms)
		counts[m.Addr] = len(syms)
	}
	return counts, nil
}

// readModuleKallsyms reads struct mod_kallsyms {symtab, num_symtab, strtab,
// typetab} of one module.
func readModuleKallsyms(vals *value.Context, m value.Value) ([]dwarfsym.Symbol, error) {
	kp, err := m.Member("kallsyms")
	if err != nil {
		return nil, err
	}
	ks, err := kp.Deref()
	if err != nil {
		return nil, err
	}
	field := func(name string) (uint64, error) {
		v, err := ks.Member(name)
		if err != nil {
			return 0, err
		}
		return v.Uint()
	}
	symtab, err := field("symtab")
	if err != nil {
		return nil, err
	}
	n, err := field("num_symtab")
	if err != nil {
		return nil, err
	}
	strtab, err := field("strtab")
	if err != nil {
		return nil, err
	}
	typetab, _ := field("typetab") // 4.6 and later; 0 before
	if n == 0 || n > maxModuleSymbols || symtab == 0 || strtab == 0 {
		return nil, fmt.Errorf("module symbol table of %d entries at %#x", n, symtab)
	}
	raw := make([]byte, n*elf64SymSize)
	if err := vals.Read(raw, symtab, "module symtab"); err != nil {
		return nil, err
	}
	var types []byte
	if typetab != 0 {
		types = make([]byte, n)
		if err := vals.Read(types, typetab, "module typetab"); err != nil {
			types = nil
		}
	}
	le := binary.LittleEndian
	// The names: one read of the string table up to the last name (a
	// module's table is small; a read per name would cost thousands of
	// reads on a machine with many modules), by name when that fails.
	var maxName uint64
	for i := uint64(1); i < n; i++ {
		maxName = max(maxName, uint64(le.Uint32(raw[i*elf64SymSize:])))
	}
	var names []byte
	if size := maxName + maxSymbolName; size <= maxStrtab {
		names = make([]byte, size)
		if err := vals.Read(names, strtab, "module strtab"); err != nil {
			names = nil // e.g. the table ends short of a page the dump lacks
		}
	}
	nameAt := func(off uint64) (string, error) {
		if names != nil {
			b := names[off:min(off+maxSymbolName, uint64(len(names)))]
			if i := bytes.IndexByte(b, 0); i >= 0 {
				return string(b[:i]), nil
			}
		}
		return vals.ReadCString(strtab+off, maxSymbolName, "module symbol name")
	}
	var out []dwarfsym.Symbol
	for i := uint64(1); i < n; i++ { // entry 0 is the null symbol
		e := raw[i*elf64SymSize:]
		info := e[4]
		shndx := le.Uint16(e[6:])
		addr := le.Uint64(e[8:])
		size := le.Uint64(e[16:])
		if shndx == uint16(elf.SHN_UNDEF) || addr == 0 {
			continue
		}
		name, err := nameAt(uint64(le.Uint32(e[0:])))
		if err != nil || name == "" {
			continue
		}
		letter := byte('t')
		if types != nil {
			letter = types[i]
		} else if elf.ST_TYPE(info) == elf.STT_OBJECT {
			letter = 'd'
		}
		// The kernel's typetab letter is lower case for every section
		// symbol; crash capitalises the global ones (exported symbols).
		if elf.ST_BIND(info) != elf.STB_LOCAL && letter >= 'a' && letter <= 'z' {
			letter -= 'a' - 'A'
		}
		out = append(out, moduleSymbol(name, addr, size, letter))
	}
	return out, nil
}

// moduleSymbol makes a symbol whose Kind is the kallsyms type letter.
func moduleSymbol(name string, addr, size uint64, letter byte) dwarfsym.Symbol {
	s := dwarfsym.Symbol{Name: name, Addr: addr, Size: size, Bind: elf.STB_GLOBAL}
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
	default:
		s.Section = ".text"
	}
	return s
}
