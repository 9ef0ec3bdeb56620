package dwarfsym

import (
	"debug/dwarf"
	"debug/elf"
	"io"

	"github.com/vmcoretools/vmcore/ktype"
)

// Member is a struct or union member found by path; see ktype.Member.
type Member = ktype.Member

// Declare renders a C declaration; see ktype.Declare.
func Declare(t dwarf.Type, name string) string { return ktype.Declare(t, name) }

// WriteLayout prints a struct's layout as crash's struct -o; see
// ktype.WriteLayout.
func WriteLayout(w io.Writer, t dwarf.Type, hex bool) error { return ktype.WriteLayout(w, t, hex) }

// Strip removes typedefs and qualifiers; see ktype.Strip.
func Strip(t dwarf.Type) dwarf.Type { return ktype.Strip(t) }

// FieldBits returns where a struct field starts; see ktype.FieldBits.
func FieldBits(f *dwarf.StructField) (byteOff, bitOff int64) { return ktype.FieldBits(f) }

// FindMember resolves a member path; see ktype.FindMember.
func FindMember(t dwarf.Type, path string) (Member, error) { return ktype.FindMember(t, path) }

// Source returns the vmlinux as a ktype.Source: its DWARF types and
// variables and its ELF symbol table (with the modules' symbols added by
// AddModuleSymbols), relocated. This is what the kernel views read types
// through; the kernel's own BTF is the other implementation.
func (f *File) Source() ktype.Source { return source{f} }

type source struct{ f *File }

func (s source) Type(name string) (dwarf.Type, error) { return s.f.Type(name) }

func (s source) Variable(name string) (*ktype.Variable, error) {
	v, err := s.f.Variable(name)
	if err != nil {
		return nil, err
	}
	return &ktype.Variable{Name: v.Name, Addr: v.Addr, PerCPU: v.PerCPU, Type: v.Type}, nil
}

func (s source) Lookup(name string) (ktype.Symbol, bool) {
	sym, ok := s.f.Lookup(name)
	return sym.ktype(), ok
}

func (s source) SymbolAt(addr uint64) (ktype.Symbol, uint64, bool) {
	sym, off, ok := s.f.SymbolAt(addr)
	return sym.ktype(), off, ok
}

func (s source) Relocation() uint64 { return s.f.Relocation() }

func (s Symbol) ktype() ktype.Symbol {
	k := ktype.Symbol{Name: s.Name, Addr: s.Addr, Size: s.Size, PerCPU: s.PerCPU, Module: s.Module}
	if s.Name != "" {
		k.Kind = s.Kind()
	}
	switch s.Type {
	case elf.STT_FUNC:
		k.Type = ktype.SymFunc
	case elf.STT_OBJECT:
		k.Type = ktype.SymObject
	}
	return k
}
