// Package fakekernel builds synthetic kernels for the tests of the kernel
// views (module, sched, system): C types laid out as a compiler would, a
// type source serving them (as DWARF or BTF would, through ktype.Source),
// global and per-CPU variables, symbols, and sparse kernel memory written
// by member path.
package fakekernel

import (
	"debug/dwarf"
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/vmcoretools/vmcore/ktype"
	"github.com/vmcoretools/vmcore/value"
)

// Base types.
var (
	U8   = base("unsigned char", 1, false)
	U16  = base("short unsigned int", 2, false)
	U32  = base("unsigned int", 4, false)
	U64  = base("long unsigned int", 8, false)
	I32  = base("int", 4, true)
	I64  = base("long int", 8, true)
	Char = &dwarf.CharType{BasicType: dwarf.BasicType{CommonType: dwarf.CommonType{ByteSize: 1, Name: "char"}}}
	Void = &dwarf.VoidType{}
)

func base(name string, size int64, signed bool) dwarf.Type {
	b := dwarf.BasicType{CommonType: dwarf.CommonType{ByteSize: size, Name: name}}
	if signed {
		return &dwarf.IntType{BasicType: b}
	}
	return &dwarf.UintType{BasicType: b}
}

// M is a member of that name and type.
func M(name string, t dwarf.Type) F { return F{Name: name, Type: t} }

// Ptr is a pointer to t.
func Ptr(t dwarf.Type) *dwarf.PtrType {
	return &dwarf.PtrType{CommonType: dwarf.CommonType{ByteSize: 8}, Type: t}
}

// Array is t[n].
func Array(t dwarf.Type, n int64) *dwarf.ArrayType {
	return &dwarf.ArrayType{CommonType: dwarf.CommonType{ByteSize: n * t.Size()}, Type: t, Count: n}
}

// F is a member: its name and type.
type F struct {
	Name string
	Type dwarf.Type
}

func align(t dwarf.Type) int64 {
	switch u := ktype.Strip(t).(type) {
	case *dwarf.StructType:
		a := int64(1)
		for _, f := range u.Field {
			a = max(a, align(f.Type))
		}
		return a
	case *dwarf.ArrayType:
		return align(u.Type)
	}
	if s := t.Size(); s > 0 && s <= 8 {
		return s
	}
	return 8
}

// Struct lays out a struct ("struct" or "union" kind) as a compiler
// would: each member at its natural alignment. A member whose Type is nil
// refers to the struct itself (through Ptr(nil), see Self).
func Struct(kind, name string, fields ...F) *dwarf.StructType {
	st := &dwarf.StructType{Kind: kind, StructName: name}
	var off, size int64
	a := int64(1)
	for _, f := range fields {
		t := f.Type
		if p, ok := t.(*dwarf.PtrType); ok && p.Type == nil {
			t = Ptr(st)
		}
		al := align(t)
		a = max(a, al)
		if kind == "union" {
			st.Field = append(st.Field, &dwarf.StructField{Name: f.Name, Type: t})
			size = max(size, t.Size())
			continue
		}
		off = (off + al - 1) / al * al
		st.Field = append(st.Field, &dwarf.StructField{Name: f.Name, Type: t, ByteOffset: off})
		off += t.Size()
	}
	if kind != "union" {
		size = off
	}
	st.ByteSize = (size + a - 1) / a * a
	return st
}

// Self is a pointer to the struct being built (for Struct's fields).
func Self() *dwarf.PtrType { return &dwarf.PtrType{CommonType: dwarf.CommonType{ByteSize: 8}} }

// Enum is an enum type with its values, in order from 0.
func Enum(name string, values ...string) *dwarf.EnumType {
	et := &dwarf.EnumType{EnumName: name, CommonType: dwarf.CommonType{ByteSize: 4}}
	for i, v := range values {
		et.Val = append(et.Val, &dwarf.EnumValue{Name: v, Val: int64(i)})
	}
	return et
}

// Kernel is a synthetic kernel: types, variables, symbols and memory.
type Kernel struct {
	Types   map[string]dwarf.Type
	Vars    map[string]*ktype.Variable
	Symbols []ktype.Symbol
	Mem     Memory
	// PerCPUBase is each CPU's per-CPU area (Context.PerCPUOffset).
	PerCPUBase []uint64
	// C reads the kernel.
	C    *value.Context
	next uint64
}

// Base is where the kernel's memory starts.
const Base = 0xffff888000000000

// New returns an empty kernel with ncpu CPUs (each given a per-CPU area).
func New(ncpu int) *Kernel {
	k := &Kernel{Types: map[string]dwarf.Type{}, Vars: map[string]*ktype.Variable{}, Mem: Memory{}, next: Base}
	for _, t := range []dwarf.Type{U8, U16, U32, U64, I32, I64, Char} {
		k.Types[t.(interface{ Common() *dwarf.CommonType }).Common().Name] = t
	}
	k.C = value.New(k, k.Mem)
	for range ncpu {
		k.PerCPUBase = append(k.PerCPUBase, k.Alloc(1<<16, 4096))
	}
	k.C.PerCPUOffset = func(cpu int) (uint64, error) {
		if cpu < 0 || cpu >= len(k.PerCPUBase) {
			return 0, fmt.Errorf("fakekernel: no CPU %d", cpu)
		}
		return k.PerCPUBase[cpu], nil
	}
	return k
}

// Add registers types under their C names ("struct rq", "enum x").
func (k *Kernel) Add(ts ...dwarf.Type) {
	for _, t := range ts {
		switch u := t.(type) {
		case *dwarf.StructType:
			k.Types[u.Kind+" "+u.StructName] = t
		case *dwarf.EnumType:
			k.Types["enum "+u.EnumName] = t
		default:
			k.Types[t.String()] = t
		}
	}
}

// Type implements ktype.Source.
func (k *Kernel) Type(name string) (dwarf.Type, error) {
	if t, ok := k.Types[name]; ok {
		return t, nil
	}
	if b, ok := strings.CutSuffix(name, "*"); ok {
		t, err := k.Type(strings.TrimSpace(b))
		if err != nil {
			return nil, err
		}
		return Ptr(t), nil
	}
	for _, kw := range []string{"struct ", "union ", "enum "} {
		if t, ok := k.Types[kw+name]; ok {
			return t, nil
		}
	}
	return nil, fmt.Errorf("fakekernel: no type %q", name)
}

// Variable implements ktype.Source.
func (k *Kernel) Variable(name string) (*ktype.Variable, error) {
	if v, ok := k.Vars[name]; ok {
		return v, nil
	}
	return nil, fmt.Errorf("fakekernel: no variable %q", name)
}

// Lookup implements ktype.Source.
func (k *Kernel) Lookup(name string) (ktype.Symbol, bool) {
	for _, s := range k.Symbols {
		if s.Name == name {
			return s, true
		}
	}
	if v, ok := k.Vars[name]; ok {
		return ktype.Symbol{Name: name, Addr: v.Addr, Size: uint64(v.Type.Size()), Type: ktype.SymObject, PerCPU: v.PerCPU}, true
	}
	return ktype.Symbol{}, false
}

// SymbolAt implements ktype.Source over the symbols added with Symbol.
func (k *Kernel) SymbolAt(addr uint64) (ktype.Symbol, uint64, bool) {
	i := sort.Search(len(k.Symbols), func(i int) bool { return k.Symbols[i].Addr > addr })
	if i == 0 {
		return ktype.Symbol{}, 0, false
	}
	s := k.Symbols[i-1]
	if s.Size != 0 && addr >= s.Addr+s.Size {
		return ktype.Symbol{}, 0, false
	}
	return s, addr - s.Addr, true
}

// Relocation implements ktype.Source.
func (k *Kernel) Relocation() uint64 { return 0 }

// Symbol adds a symbol (sorted by address for SymbolAt).
func (k *Kernel) Symbol(s ktype.Symbol) {
	k.Symbols = append(k.Symbols, s)
	sort.SliceStable(k.Symbols, func(i, j int) bool { return k.Symbols[i].Addr < k.Symbols[j].Addr })
}

// Alloc returns zeroed, mapped memory.
func (k *Kernel) Alloc(size, align uint64) uint64 {
	a := (k.next + align - 1) &^ (align - 1)
	k.Mem.Write(a, make([]byte, size))
	k.next = a + size
	return a
}

// New allocates a zeroed object of the named type.
func (k *Kernel) New(typ string) uint64 {
	t, err := k.Type(typ)
	if err != nil {
		panic(err)
	}
	return k.Alloc(uint64(max(t.Size(), 1)), 64)
}

// Var defines a global variable of the named type, zeroed, and returns
// its address.
func (k *Kernel) Var(name, typ string) uint64 {
	t, err := k.Type(typ)
	if err != nil {
		panic(err)
	}
	a := k.Alloc(uint64(max(t.Size(), 1)), 64)
	k.Vars[name] = &ktype.Variable{Name: name, Addr: a, Type: t}
	return a
}

// PerCPUVar defines a per-CPU variable of the named type and returns the
// address of each CPU's instance, by CPU.
func (k *Kernel) PerCPUVar(name, typ string) []uint64 {
	t, err := k.Type(typ)
	if err != nil {
		panic(err)
	}
	var off uint64
	for _, v := range k.Vars {
		if v.PerCPU {
			off = max(off, v.Addr+uint64(v.Type.Size()))
		}
	}
	off = (off + 63) &^ 63
	k.Vars[name] = &ktype.Variable{Name: name, Addr: off, Type: t, PerCPU: true}
	var out []uint64
	for _, b := range k.PerCPUBase {
		out = append(out, b+off)
	}
	return out
}

// Offset is offsetof(typ, path).
func (k *Kernel) Offset(typ, path string) uint64 {
	off, err := ktype.Offset(k, typ, path)
	if err != nil {
		panic(err)
	}
	return uint64(off)
}

// Set writes an integer member (of any size up to 8) of the typ at addr.
func (k *Kernel) Set(addr uint64, typ, path string, v uint64) {
	m, err := ktype.MemberOf(k, typ, path)
	if err != nil {
		panic(err)
	}
	n := m.Type.Size()
	if n <= 0 || n > 8 {
		panic(fmt.Sprintf("fakekernel: %s.%s is %d bytes", typ, path, n))
	}
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], v)
	k.Mem.Write(addr+uint64(m.Offset), b[:n])
}

// SetString writes a NUL-terminated string into a char array member.
func (k *Kernel) SetString(addr uint64, typ, path, s string) {
	off := k.Offset(typ, path)
	k.Mem.Write(addr+off, append([]byte(s), 0))
}

// Put64 writes a 64-bit word.
func (k *Kernel) Put64(addr, v uint64) {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], v)
	k.Mem.Write(addr, b[:])
}

// Get64 reads a 64-bit word.
func (k *Kernel) Get64(addr uint64) uint64 {
	var b [8]byte
	k.Mem.ReadAt(b[:], int64(addr))
	return binary.LittleEndian.Uint64(b[:])
}

// ErrUnmapped is the error of a read of memory never written.
var ErrUnmapped = errors.New("fakekernel: not mapped")

// Memory is sparse kernel memory made of 4 KiB pages; a page never written
// is unmapped.
type Memory map[uint64][]byte

// ReadAt implements io.ReaderAt (offset = address).
func (m Memory) ReadAt(p []byte, off int64) (int, error) {
	a := uint64(off)
	for i := 0; i < len(p); {
		pg, ok := m[(a+uint64(i))&^4095]
		if !ok {
			return i, fmt.Errorf("%w: %#x", ErrUnmapped, a+uint64(i))
		}
		i += copy(p[i:], pg[(a+uint64(i))&4095:])
	}
	return len(p), nil
}

// Write writes b at addr, mapping the pages it needs.
func (m Memory) Write(addr uint64, b []byte) {
	for len(b) > 0 {
		pg, ok := m[addr&^4095]
		if !ok {
			pg = make([]byte, 4096)
			m[addr&^4095] = pg
		}
		n := copy(pg[addr&4095:], b)
		b, addr = b[n:], addr+uint64(n)
	}
}

// Unmap removes the page holding addr.
func (m Memory) Unmap(addr uint64) { delete(m, addr&^4095) }

// ListHead is struct list_head.
var ListHead = Struct("struct", "list_head", M("next", Self()), M("prev", Self()))

// Link links the list_heads at the addresses given into a ring, in order
// (the first is the head).
func (k *Kernel) Link(nodes ...uint64) {
	for i, n := range nodes {
		k.Put64(n, nodes[(i+1)%len(nodes)])
		k.Put64(n+8, nodes[(i+len(nodes)-1)%len(nodes)])
	}
}
