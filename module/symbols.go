package module

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/vmcoretools/vmcore/ktype"
	"github.com/vmcoretools/vmcore/value"
)

// Bounds against a corrupt symbol table (crash's own limits are similar).
const (
	// MaxSymbols bounds the entries of one module's table.
	MaxSymbols = 1 << 18
	// MaxSymbolName bounds one symbol's name.
	MaxSymbolName = 512
	// maxStrtab bounds the string table read at once.
	maxStrtab = 16 << 20
)

// Elf64SymSize is the size of an Elf64_Sym, the entry of a module's
// in-memory symbol table.
const Elf64SymSize = 24

// Symbols reads a module's own symbol table (struct mod_kallsyms: symtab,
// num_symtab, strtab and, from 4.6, typetab), as crash does at start-up.
// mod is a module List returned (its Addr and Name are used); the symbols
// carry the module's name. Undefined and unnamed entries are left out.
func Symbols(c *value.Context, mod Module) ([]ktype.Symbol, error) {
	m, err := c.At("struct module", mod.Addr)
	if err != nil {
		return nil, err
	}
	kp, err := m.Member("kallsyms")
	if err != nil {
		return nil, err
	}
	ks, err := kp.Deref()
	if err != nil {
		return nil, fmt.Errorf("module %s at %#x: kallsyms: %w", mod.Name, mod.Addr, err)
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
	typetab, _ := field("typetab") // 4.6 and later; absent (0) before
	if n == 0 || n > MaxSymbols || symtab == 0 || strtab == 0 {
		return nil, fmt.Errorf("module %s at %#x: symbol table of %d entries at %#x (strtab %#x)", mod.Name, mod.Addr, n, symtab, strtab)
	}
	raw := make([]byte, n*Elf64SymSize)
	if err := c.Read(raw, symtab, "module symtab"); err != nil {
		return nil, err
	}
	var types []byte
	if typetab != 0 {
		types = make([]byte, n)
		if err := c.Read(types, typetab, "module typetab"); err != nil {
			types = nil // the letters are then told from the ELF types
		}
	}
	// The names: one read of the string table up to the last name (a
	// read per name would cost thousands of reads on a machine with many
	// modules), by name when that fails.
	var maxOff uint64
	for i := uint64(1); i < n; i++ {
		maxOff = max(maxOff, uint64(binary.LittleEndian.Uint32(raw[i*Elf64SymSize:])))
	}
	var names []byte
	if size := maxOff + MaxSymbolName; size <= maxStrtab {
		names = make([]byte, size)
		if err := c.Read(names, strtab, "module strtab"); err != nil {
			names = nil // e.g. the table ends short of a page the dump lacks
		}
	}
	nameAt := func(off uint32) (string, error) {
		if names != nil {
			if s, ok := CString(names, off); ok {
				return s, nil
			}
		}
		return c.ReadCString(strtab+uint64(off), MaxSymbolName, "module symbol name")
	}
	syms, err := ParseSymtab(raw, types, nameAt)
	for i := range syms {
		syms[i].Module = mod.Name
	}
	return syms, err
}

// ReadSymbols reads the symbol table of each module (Symbols), sets its
// KallsymsSymbols, and returns the symbols by module address. A module
// whose table cannot be read has none, and its error is joined into the
// error returned; the others are read all the same.
func ReadSymbols(c *value.Context, mods []Module) (map[uint64][]ktype.Symbol, error) {
	out := map[uint64][]ktype.Symbol{}
	var errs []error
	for i := range mods {
		syms, err := Symbols(c, mods[i])
		if err != nil {
			errs = append(errs, fmt.Errorf("module %s: %w", mods[i].Name, err))
			continue
		}
		mods[i].KallsymsSymbols = len(syms)
		if len(syms) > 0 {
			out[mods[i].Addr] = syms
		}
	}
	return out, errors.Join(errs...)
}

// CString returns the NUL-terminated string at off in a string table, at
// most MaxSymbolName bytes; ok is false when it does not end within them
// or within the table.
func CString(strtab []byte, off uint32) (string, bool) {
	if uint64(off) >= uint64(len(strtab)) {
		return "", false
	}
	b := strtab[off:min(uint64(off)+MaxSymbolName, uint64(len(strtab)))]
	i := bytes.IndexByte(b, 0)
	if i < 0 {
		return "", false
	}
	return string(b[:i]), true
}

// ErrSymtab reports a symbol table whose size is not a whole number of
// Elf64_Sym entries, or larger than MaxSymbols.
var ErrSymtab = errors.New("module: malformed symbol table")

// ParseSymtab decodes a module's in-memory symbol table: raw holds its
// Elf64_Sym entries (little-endian), types its type letters (the kernel's
// typetab, one a symbol; nil when it has none) and name returns the name
// at a string table offset. Entry 0 (the null symbol), undefined symbols,
// symbols at address 0 and symbols whose name cannot be read or is empty
// are left out. The Kind of each symbol is crash's letter: the typetab's,
// upper case for global symbols (or 't'/'d' from the ELF type without a
// typetab).
func ParseSymtab(raw, types []byte, name func(off uint32) (string, error)) ([]ktype.Symbol, error) {
	if len(raw)%Elf64SymSize != 0 || len(raw)/Elf64SymSize > MaxSymbols {
		return nil, fmt.Errorf("%w: %d bytes", ErrSymtab, len(raw))
	}
	n := len(raw) / Elf64SymSize
	if types != nil && len(types) < n {
		types = nil
	}
	le := binary.LittleEndian
	var out []ktype.Symbol
	for i := 1; i < n; i++ {
		e := raw[i*Elf64SymSize:]
		info := e[4]
		shndx := le.Uint16(e[6:])
		addr := le.Uint64(e[8:])
		size := le.Uint64(e[16:])
		if shndx == uint16(elf.SHN_UNDEF) || addr == 0 {
			continue
		}
		nm, err := name(le.Uint32(e[0:]))
		if err != nil || nm == "" {
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
		out = append(out, ktype.Symbol{Name: nm, Addr: addr, Size: size, Kind: letter, Type: symType(letter)})
	}
	return out, nil
}

// symType tells code from data by the nm letter.
func symType(letter byte) ktype.SymType {
	switch letter &^ 0x20 {
	case 'T':
		return ktype.SymFunc
	case 'D', 'B', 'R':
		return ktype.SymObject
	}
	return ktype.SymOther
}
