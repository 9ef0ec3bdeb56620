package dwarfsym

import (
	"debug/dwarf"
	"errors"
	"fmt"
	"strings"
)

// NotFoundError reports a name the file does not define.
type NotFoundError struct {
	What string // "type", "variable", "function"
	Name string
}

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("dwarfsym: no %s named %q in the vmlinux", e.What, e.Name)
}

// ErrNotFound matches every *NotFoundError with errors.Is.
var ErrNotFound = errors.New("dwarfsym: not found")

func (e *NotFoundError) Is(target error) bool { return target == ErrNotFound }

// typeAt decodes the type entry at off (a .debug_info offset) under its
// unit's type-cache lock.
func (f *File) typeAt(off uint64) (dwarf.Type, error) {
	d, base, mu, err := f.unitDWARF(off)
	if err != nil {
		return nil, err
	}
	mu.Lock()
	defer mu.Unlock()
	t, err := d.Type(dwarf.Offset(off - base))
	if err != nil {
		return nil, fmt.Errorf("dwarfsym: type at .debug_info offset %#x: %w", off, err)
	}
	return t, nil
}

// entryAt reads the entry at off with debug/dwarf. Offsets inside the
// entry are relative to its unit's view; entryOff converts them back.
func (f *File) entryAt(off uint64) (*dwarf.Entry, uint64, error) {
	d, base, _, err := f.unitDWARF(off)
	if err != nil {
		return nil, 0, err
	}
	r := d.Reader()
	r.Seek(dwarf.Offset(off - base))
	e, err := r.Next()
	if err != nil {
		return nil, 0, fmt.Errorf("dwarfsym: entry at .debug_info offset %#x: %w", off, err)
	}
	if e == nil {
		return nil, 0, &FormatError{".debug_info", off, "no entry"}
	}
	return e, base, nil
}

// Type returns the C type of that name, spelled as in C or as crash accepts
// it: "struct task_struct", "union thread_union", "enum pid_type", a typedef
// such as "pid_t", a base type such as "unsigned long", any of those followed
// by "*"s, or a bare tag name such as "task_struct" (tried as struct, union,
// typedef, enum, then base type).
func (f *File) Type(name string) (dwarf.Type, error) {
	name = strings.TrimSpace(name)
	stars := 0
	for strings.HasSuffix(name, "*") {
		stars++
		name = strings.TrimSpace(name[:len(name)-1])
	}
	t, err := f.namedType(name)
	if err != nil {
		return nil, err
	}
	for ; stars > 0; stars-- {
		t = &dwarf.PtrType{CommonType: dwarf.CommonType{ByteSize: f.ptrSize()}, Type: t}
	}
	return t, nil
}

func (f *File) ptrSize() int64 {
	if f.elf.Class == 1 { // ELFCLASS32
		return 4
	}
	return 8
}

func (f *File) namedType(name string) (dwarf.Type, error) {
	x, err := f.index()
	if err != nil {
		return nil, err
	}
	var kinds []dieKind
	bare := name
	switch {
	case strings.HasPrefix(name, "struct "):
		kinds, bare = []dieKind{kindStruct}, strings.TrimSpace(name[7:])
	case strings.HasPrefix(name, "union "):
		kinds, bare = []dieKind{kindUnion}, strings.TrimSpace(name[6:])
	case strings.HasPrefix(name, "enum "):
		kinds, bare = []dieKind{kindEnum}, strings.TrimSpace(name[5:])
	default:
		kinds = []dieKind{kindTypedef, kindBase, kindStruct, kindUnion, kindEnum}
	}
	// A bare name is most often a struct in kernel use (crash: "struct
	// task_struct" and "task_struct" both work), but a typedef of the same
	// name wins, as in C.
	if r, ok := x.findDef(kinds, bare); ok {
		return f.typeAt(r.off)
	}
	return nil, &NotFoundError{"type", name}
}

// Variable is a global or per-CPU variable.
type Variable struct {
	Name   string
	Addr   uint64 // relocated; for a per-CPU variable, the offset in each CPU's area
	PerCPU bool
	Type   dwarf.Type
	Symbol Symbol
}

// Variable returns the variable of that name with its type (from its
// definition or any extern declaration) and address (from the symbol
// table).
func (f *File) Variable(name string) (*Variable, error) {
	x, err := f.index()
	if err != nil {
		return nil, err
	}
	r, ok := x.find(kindVar, name, true)
	if !ok {
		return nil, &NotFoundError{"variable", name}
	}
	e, base, err := f.entryAt(r.off)
	if err != nil {
		return nil, err
	}
	t, err := f.entryType(e, base)
	if err != nil {
		return nil, fmt.Errorf("dwarfsym: variable %s: %w", name, err)
	}
	if r.decl && t.Size() < 0 {
		// "extern struct x arr[];" has no size; the definition has.
		if d, ok := x.find(kindVar, name, false); ok && !d.decl {
			if e, base, err := f.entryAt(d.off); err == nil {
				if dt, err := f.entryType(e, base); err == nil {
					t = dt
				}
			}
		}
	}
	v := &Variable{Name: name, Type: t}
	if s, ok := f.Lookup(name); ok {
		v.Symbol, v.Addr, v.PerCPU = s, s.Addr, s.PerCPU
		return v, nil
	}
	return nil, fmt.Errorf("dwarfsym: variable %s has a type but no symbol (optimised out, or an extern never defined)", name)
}

// entryType follows DW_AT_type, through DW_AT_specification and
// DW_AT_abstract_origin when the entry has none of its own.
func (f *File) entryType(e *dwarf.Entry, base uint64) (dwarf.Type, error) {
	for range 4 {
		if off, ok := e.Val(dwarf.AttrType).(dwarf.Offset); ok {
			return f.typeAt(base + uint64(off))
		}
		next, ok := e.Val(dwarf.AttrSpecification).(dwarf.Offset)
		if !ok {
			next, ok = e.Val(dwarf.AttrAbstractOrigin).(dwarf.Offset)
		}
		if !ok {
			return nil, errors.New("entry has no DW_AT_type")
		}
		var err error
		if e, base, err = f.entryAt(base + uint64(next)); err != nil {
			return nil, err
		}
	}
	return nil, errors.New("DW_AT_specification chain too long")
}

// Function is a function with its DWARF prototype.
type Function struct {
	Name   string
	Addr   uint64 // relocated entry address
	Size   uint64
	Type   *dwarf.FuncType // nil when DWARF has no prototype
	Symbol Symbol
}

// Function returns the function of that name: its address from the symbol
// table and its prototype from DWARF.
func (f *File) Function(name string) (*Function, error) {
	s, ok := f.Lookup(name)
	if !ok {
		return nil, &NotFoundError{"function", name}
	}
	fn := &Function{Name: name, Addr: s.Addr, Size: s.Size, Symbol: s}
	x, err := f.index()
	if err != nil {
		return fn, nil
	}
	r, ok := x.find(kindFunc, name, true)
	if !ok {
		return fn, nil
	}
	e, base, err := f.entryAt(r.off)
	if err != nil {
		return fn, nil
	}
	ft, err := f.funcType(e, base)
	if err == nil {
		fn.Type = ft
	}
	return fn, nil
}

// funcType builds a prototype from a subprogram entry and its parameters.
func (f *File) funcType(e *dwarf.Entry, base uint64) (*dwarf.FuncType, error) {
	d, _, _, err := f.unitDWARF(base + uint64(e.Offset))
	if err != nil {
		return nil, err
	}
	ft := &dwarf.FuncType{}
	ft.ByteSize = -1
	if _, ok := e.Val(dwarf.AttrType).(dwarf.Offset); ok {
		if ft.ReturnType, err = f.entryType(e, base); err != nil {
			return nil, err
		}
	} else {
		ft.ReturnType = &dwarf.VoidType{}
	}
	if !e.Children {
		return ft, nil
	}
	r := d.Reader()
	r.Seek(e.Offset)
	r.Next()
	for {
		c, err := r.Next()
		if err != nil || c == nil || c.Tag == 0 {
			break
		}
		switch c.Tag {
		case dwarf.TagFormalParameter:
			pt, err := f.entryType(c, base)
			if err != nil {
				return nil, err
			}
			ft.ParamType = append(ft.ParamType, pt)
		case dwarf.TagUnspecifiedParameters:
			ft.ParamType = append(ft.ParamType, &dwarf.DotDotDotType{})
		}
		if c.Children {
			r.SkipChildren()
		}
	}
	return ft, nil
}

// Offset is FindMember's byte offset alone: offsetof(typ, path).
func (f *File) Offset(typ, path string) (int64, error) {
	t, err := f.Type(typ)
	if err != nil {
		return 0, err
	}
	m, err := FindMember(t, path)
	if err != nil {
		return 0, err
	}
	return m.Offset, nil
}

// Sizeof returns the size of the named type in bytes.
func (f *File) Sizeof(typ string) (int64, error) {
	t, err := f.Type(typ)
	if err != nil {
		return 0, err
	}
	n := t.Size()
	if n < 0 {
		return 0, fmt.Errorf("dwarfsym: %s has no size (incomplete type)", typ)
	}
	return n, nil
}
