package ktype

import (
	"debug/dwarf"
	"fmt"
)

// Source is where the kernel views find types, global variables and
// symbols. A debuginfo vmlinux implements it (dwarfsym.File.Source); the
// kernel's own BTF and kallsyms are the other implementation. Types are
// debug/dwarf's: a common model that both DWARF and BTF map onto.
//
// The views read kernel structures only by type and member name through a
// Source (Offset, Sizeof, FindMember); they take no offset from anywhere
// else.
type Source interface {
	// Type returns the C type of that name: "struct task_struct",
	// "union thread_union", "enum pid_type", a typedef ("pid_t"), a
	// base type ("unsigned long"), any of those followed by "*"s, or a
	// bare tag ("task_struct": struct, union, typedef, enum, base type).
	Type(name string) (dwarf.Type, error)
	// Variable returns a global or per-CPU variable with its type and
	// relocated address.
	Variable(name string) (*Variable, error)
	// Lookup returns a symbol by name, relocated.
	Lookup(name string) (Symbol, bool)
	// SymbolAt names the symbol holding addr and the offset into it.
	SymbolAt(addr uint64) (sym Symbol, off uint64, ok bool)
	// Relocation is the KASLR offset applied to the source's addresses.
	Relocation() uint64
}

// Variable is a global or per-CPU variable.
type Variable struct {
	Name   string
	Addr   uint64 // relocated; for a per-CPU variable, the offset in each CPU's area
	PerCPU bool
	Type   dwarf.Type
}

// SymType tells code from data.
type SymType uint8

// Symbol types.
const (
	SymOther  SymType = iota
	SymFunc           // code (nm T/t)
	SymObject         // data (nm D/d/B/b/R/r)
)

// Symbol is a kernel or module symbol.
type Symbol struct {
	Name   string
	Addr   uint64 // relocated; for a per-CPU symbol, the offset in each CPU's area
	Size   uint64 // 0 when unknown
	Type   SymType
	Kind   byte   // nm(1) letter, as crash's sym prints it
	PerCPU bool   // in .data..percpu
	Module string // the module it belongs to; "" for the kernel image
}

// Offset is offsetof(typ, path) in src: "struct task_struct", "se.on_rq".
func Offset(src Source, typ, path string) (int64, error) {
	m, err := MemberOf(src, typ, path)
	return m.Offset, err
}

// MemberOf finds the member at path in the named type.
func MemberOf(src Source, typ, path string) (Member, error) {
	if src == nil {
		return Member{}, fmt.Errorf("ktype: no type source for %s.%s", typ, path)
	}
	t, err := src.Type(typ)
	if err != nil {
		return Member{}, err
	}
	return FindMember(t, path)
}

// Sizeof is sizeof(typ) in src.
func Sizeof(src Source, typ string) (int64, error) {
	if src == nil {
		return 0, fmt.Errorf("ktype: no type source for sizeof(%s)", typ)
	}
	t, err := src.Type(typ)
	if err != nil {
		return 0, err
	}
	n := t.Size()
	if n < 0 {
		return 0, fmt.Errorf("ktype: %s has no size (incomplete type)", typ)
	}
	return n, nil
}
