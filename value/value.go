package value

import (
	"debug/dwarf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/vmcoretools/vmcore/ktype"
)

// maxRead bounds one read of memory (a struct, an array, a string): the
// largest kernel structures are tens of KiB; a corrupt type must not make
// us allocate gigabytes.
const maxRead = 16 << 20

// ReadError reports memory that could not be read: where, for which
// expression, and why (wrapping the translator's or the dump's error).
type ReadError struct {
	Addr uint64
	Size int
	Expr string
	Err  error
}

func (e *ReadError) Error() string {
	return fmt.Sprintf("value: cannot read %d bytes at %#x (%s): %v", e.Size, e.Addr, e.Expr, e.Err)
}

func (e *ReadError) Unwrap() error { return e.Err }

// Context joins a kernel's types and symbols with a dump's memory.
type Context struct {
	// Types serves types, variables and symbols by name: a vmlinux's
	// DWARF (dwarfsym.File.Source) or the kernel's own BTF.
	Types ktype.Source
	Mem   io.ReaderAt // kernel virtual memory; offset = int64(vaddr)
	// PerCPUOffset returns the base of a CPU's per-CPU area. Nil means
	// reading the kernel's __per_cpu_offset[cpu].
	PerCPUOffset func(cpu int) (uint64, error)
	ByteOrder    binary.ByteOrder // nil means little-endian
}

// New returns a Context reading types from src and memory from mem.
func New(src ktype.Source, mem io.ReaderAt) *Context {
	return &Context{Types: src, Mem: mem}
}

func (c *Context) order() binary.ByteOrder {
	if c.ByteOrder == nil {
		return binary.LittleEndian
	}
	return c.ByteOrder
}

// Read reads len(p) bytes at addr, naming expr in the error.
func (c *Context) Read(p []byte, addr uint64, expr string) error {
	n, err := c.Mem.ReadAt(p, int64(addr))
	if n == len(p) {
		return nil
	}
	if err == nil {
		err = io.ErrUnexpectedEOF
	}
	return &ReadError{Addr: addr, Size: len(p), Expr: expr, Err: err}
}

// Value is a typed object in kernel memory. Values are small and passed
// by value; reading happens only in the accessors.
type Value struct {
	c    *Context
	Type dwarf.Type
	Addr uint64
	Expr string // how the value was reached, for messages: "init_task.tasks.next"

	bitSize, bitOff int64 // bitfields
	// data holds a constant's bytes (see Constant); nil for objects in
	// memory.
	data []byte
}

// Constant returns a value of type t made of the bytes b instead of
// memory: the result of arithmetic, a cast or &, which has no address.
// Members and formatting work on it as on an object in memory; pointers in
// it are followed into memory as usual.
func (c *Context) Constant(t dwarf.Type, b []byte, expr string) Value {
	return Value{c: c, Type: t, Expr: expr, data: append([]byte{}, b...)}
}

// IsConstant reports whether v was made by Constant rather than read from
// memory.
func (v Value) IsConstant() bool { return v.data != nil }

// Var returns the global variable of that name.
func (c *Context) Var(name string) (Value, error) {
	v, err := c.Types.Variable(name)
	if err != nil {
		return Value{}, err
	}
	if v.PerCPU {
		return Value{}, fmt.Errorf("value: %s is a per-CPU variable; name a CPU (PerCPU)", name)
	}
	return Value{c: c, Type: v.Type, Addr: v.Addr, Expr: name}, nil
}

// PerCPU returns CPU cpu's instance of the per-CPU variable name.
func (c *Context) PerCPU(name string, cpu int) (Value, error) {
	v, err := c.Types.Variable(name)
	if err != nil {
		return Value{}, err
	}
	if !v.PerCPU {
		return Value{}, fmt.Errorf("value: %s is not a per-CPU variable", name)
	}
	base, err := c.cpuBase(cpu)
	if err != nil {
		return Value{}, err
	}
	return Value{c: c, Type: v.Type, Addr: base + v.Addr, Expr: fmt.Sprintf("%s:%d", name, cpu)}, nil
}

func (c *Context) cpuBase(cpu int) (uint64, error) {
	if cpu < 0 {
		return 0, fmt.Errorf("value: negative CPU number %d", cpu)
	}
	if c.PerCPUOffset != nil {
		return c.PerCPUOffset(cpu)
	}
	offs, err := c.Var("__per_cpu_offset")
	if err != nil {
		return 0, fmt.Errorf("value: per-CPU areas: %w", err)
	}
	e, err := offs.Index(cpu)
	if err != nil {
		return 0, err
	}
	return e.Uint()
}

// At returns an object of the named type (as ktype.Source.Type spells it)
// at addr, as crash's "struct task_struct ADDR" does.
func (c *Context) At(typ string, addr uint64) (Value, error) {
	t, err := c.Types.Type(typ)
	if err != nil {
		return Value{}, err
	}
	return Value{c: c, Type: t, Addr: addr, Expr: fmt.Sprintf("(%s *)%#x", ktype.Declare(t, ""), addr)}, nil
}

// Typed returns an object of type t at addr.
func (c *Context) Typed(t dwarf.Type, addr uint64, expr string) Value {
	return Value{c: c, Type: t, Addr: addr, Expr: expr}
}

// ContainerOf returns the typ that contains, at member path member, the
// object at addr: the kernel's container_of(addr, typ, member).
func (c *Context) ContainerOf(addr uint64, typ, member string) (Value, error) {
	t, err := c.Types.Type(typ)
	if err != nil {
		return Value{}, err
	}
	m, err := ktype.FindMember(t, member)
	if err != nil {
		return Value{}, fmt.Errorf("value: container_of(%#x, %s, %s): %w", addr, typ, member, err)
	}
	a := addr - uint64(m.Offset)
	return Value{c: c, Type: t, Addr: a, Expr: fmt.Sprintf("container_of(%#x, %s, %s)", addr, ktype.Declare(t, ""), member)}, nil
}

// Context returns the value's context.
func (v Value) Context() *Context { return v.c }

// Size is the value's size in bytes.
func (v Value) Size() int64 { return v.Type.Size() }

func (v Value) stripped() dwarf.Type { return ktype.Strip(v.Type) }

// Member follows a member path ("se.on_rq", "pids[1].pid", "parent.comm";
// anonymous structs and unions are looked into). Pointers met on the way,
// including v itself, are followed as C's -> does.
func (v Value) Member(path string) (Value, error) {
	for _, part := range strings.Split(path, ".") {
		if _, ok := v.stripped().(*dwarf.PtrType); ok {
			d, err := v.Deref()
			if err != nil {
				return Value{}, err
			}
			d.Expr = v.Expr
			v = d
			v.Expr += "->"
		} else {
			v.Expr += "."
		}
		if strings.HasPrefix(v.Expr, "(") && strings.Count(v.Expr, ".")+strings.Count(v.Expr, "->") == 1 && strings.HasSuffix(v.Expr, ".") {
			v.Expr = strings.TrimSuffix(v.Expr, ".") + "->"
		}
		m, err := ktype.FindMember(v.Type, part)
		if err != nil {
			return Value{}, fmt.Errorf("value: %s: %w", strings.TrimRight(strings.TrimSuffix(v.Expr, "->"), "."), err)
		}
		next := Value{c: v.c, Type: m.Type, Addr: v.Addr + uint64(m.Offset), Expr: v.Expr + part, bitSize: m.BitSize, bitOff: m.BitOffset}
		if v.data != nil {
			size := m.Type.Size()
			if m.BitSize != 0 {
				size = (m.BitOffset + m.BitSize + 7) / 8
			}
			if m.Offset < 0 || size < 0 || m.Offset+size > int64(len(v.data)) {
				return Value{}, fmt.Errorf("value: %s lies outside the constant %s", part, v.Expr)
			}
			next.Addr = 0
			next.data = v.data[m.Offset : m.Offset+size]
		}
		v = next
	}
	return v, nil
}

// Deref follows a pointer.
func (v Value) Deref() (Value, error) {
	pt, ok := v.stripped().(*dwarf.PtrType)
	if !ok {
		return Value{}, fmt.Errorf("value: %s is a %s, not a pointer", v.Expr, ktype.Declare(v.Type, ""))
	}
	p, err := v.Uint()
	if err != nil {
		return Value{}, err
	}
	if p == 0 {
		return Value{}, fmt.Errorf("value: %s is a NULL pointer", v.Expr)
	}
	t := pt.Type
	if t == nil {
		t = &dwarf.VoidType{}
	}
	return Value{c: v.c, Type: t, Addr: p, Expr: "*" + v.Expr}, nil
}

// Index returns element i of an array, or of the array a pointer points
// to. Arrays of known length are bounds-checked.
func (v Value) Index(i int) (Value, error) {
	var elem dwarf.Type
	base := v.Addr
	switch t := v.stripped().(type) {
	case *dwarf.ArrayType:
		if t.Count >= 0 && (i < 0 || int64(i) >= t.Count) {
			return Value{}, fmt.Errorf("value: index %d out of range for %s (%d elements)", i, v.Expr, t.Count)
		}
		elem = t.Type
	case *dwarf.PtrType:
		p, err := v.Uint()
		if err != nil {
			return Value{}, err
		}
		base, elem = p, t.Type
	default:
		return Value{}, fmt.Errorf("value: %s is a %s, neither array nor pointer", v.Expr, ktype.Declare(v.Type, ""))
	}
	if elem == nil {
		return Value{}, fmt.Errorf("value: %s points to void", v.Expr)
	}
	sz := elem.Size()
	if sz <= 0 {
		return Value{}, fmt.Errorf("value: %s: element type %s has no size", v.Expr, ktype.Declare(elem, ""))
	}
	out := Value{c: v.c, Type: elem, Addr: base + uint64(int64(i)*sz), Expr: fmt.Sprintf("%s[%d]", v.Expr, i)}
	if _, isArray := v.stripped().(*dwarf.ArrayType); isArray && v.data != nil {
		if int64(i+1)*sz > int64(len(v.data)) {
			return Value{}, fmt.Errorf("value: index %d outside the constant %s", i, v.Expr)
		}
		out.Addr, out.data = 0, v.data[int64(i)*sz:int64(i+1)*sz]
	}
	return out, nil
}

// ContainerOf treats v as a pointer to (or an embedded instance of) member
// of typ and returns the enclosing typ: container_of(v, typ, member). From
// init_task.tasks.next, ContainerOf("struct task_struct", "tasks") is the
// next task.
func (v Value) ContainerOf(typ, member string) (Value, error) {
	addr := v.Addr
	if _, ok := v.stripped().(*dwarf.PtrType); ok {
		p, err := v.Uint()
		if err != nil {
			return Value{}, err
		}
		addr = p
	}
	out, err := v.c.ContainerOf(addr, typ, member)
	if err != nil {
		return Value{}, err
	}
	out.Expr = fmt.Sprintf("container_of(%s, %s, %s)", v.Expr, typ, member)
	return out, nil
}

// Bytes reads the value's bytes.
func (v Value) Bytes() ([]byte, error) {
	n := v.Type.Size()
	if n < 0 {
		return nil, fmt.Errorf("value: %s has incomplete type %s", v.Expr, ktype.Declare(v.Type, ""))
	}
	if n > maxRead {
		return nil, fmt.Errorf("value: %s is %d bytes, more than the %d-byte read limit", v.Expr, n, maxRead)
	}
	b := make([]byte, n)
	if v.data != nil {
		copy(b, v.data)
		return b, nil
	}
	if err := v.c.Read(b, v.Addr, v.Expr); err != nil {
		return nil, err
	}
	return b, nil
}

// read fills p from the value's bytes at offset 0: its constant bytes, or
// memory at its address.
func (v Value) read(p []byte) error {
	if v.data != nil {
		clear(p)
		copy(p, v.data)
		return nil
	}
	return v.c.Read(p, v.Addr, v.Expr)
}

// Uint reads an integer, enum, bool, pointer or bitfield as unsigned.
func (v Value) Uint() (uint64, error) {
	raw, err := v.rawInt()
	if err != nil {
		return 0, err
	}
	return raw, nil
}

// Int reads an integer as signed (sign-extending signed types and
// bitfields).
func (v Value) Int() (int64, error) {
	raw, err := v.rawInt()
	if err != nil {
		return 0, err
	}
	bits := v.bitSize
	if bits == 0 {
		bits = v.Type.Size() * 8
	}
	if signed(v.stripped()) && bits > 0 && bits < 64 && raw&(1<<(bits-1)) != 0 {
		return int64(raw | ^uint64(0)<<bits), nil
	}
	return int64(raw), nil
}

// Bool reads a value as C truth: non-zero is true.
func (v Value) Bool() (bool, error) {
	u, err := v.Uint()
	return u != 0, err
}

func signed(t dwarf.Type) bool {
	switch t.(type) {
	case *dwarf.IntType:
		return true
	case *dwarf.CharType:
		return true
	case *dwarf.EnumType:
		return false
	}
	return false
}

func (v Value) rawInt() (uint64, error) {
	if v.bitSize != 0 {
		nbytes := (v.bitOff + v.bitSize + 7) / 8
		if nbytes > 8 || v.bitSize > 64 {
			return 0, fmt.Errorf("value: %s: bitfield of %d bits at bit %d spans more than 8 bytes", v.Expr, v.bitSize, v.bitOff)
		}
		b := make([]byte, 8)
		if err := v.read(b[:nbytes]); err != nil {
			return 0, err
		}
		raw := v.c.order().Uint64(b) >> uint(v.bitOff)
		if v.bitSize < 64 {
			raw &= 1<<uint(v.bitSize) - 1
		}
		return raw, nil
	}
	n := v.Type.Size()
	switch v.stripped().(type) {
	case *dwarf.StructType, *dwarf.ArrayType, *dwarf.FuncType, *dwarf.VoidType:
		return 0, fmt.Errorf("value: %s is a %s, not a scalar", v.Expr, ktype.Declare(v.Type, ""))
	}
	var b [8]byte
	switch n {
	case 1, 2, 4, 8:
	default:
		return 0, fmt.Errorf("value: %s: cannot read a %d-byte %s as an integer", v.Expr, n, ktype.Declare(v.Type, ""))
	}
	if err := v.read(b[:n]); err != nil {
		return 0, err
	}
	o := v.c.order()
	switch n {
	case 1:
		return uint64(b[0]), nil
	case 2:
		return uint64(o.Uint16(b[:])), nil
	case 4:
		return uint64(o.Uint32(b[:])), nil
	}
	return o.Uint64(b[:]), nil
}

// ErrNotString is returned by CString for values that are neither char
// arrays nor char pointers.
var ErrNotString = errors.New("value: not a char array or char pointer")

// CString reads a NUL-terminated string: a char array's contents up to the
// first NUL, or the string a char pointer points to, reading at most max
// bytes (max <= 0 means 4096).
func (v Value) CString(max int) (string, error) {
	if max <= 0 {
		max = 4096
	}
	switch t := v.stripped().(type) {
	case *dwarf.ArrayType:
		if !isChar(t.Type) {
			return "", fmt.Errorf("%w: %s is a %s", ErrNotString, v.Expr, ktype.Declare(v.Type, ""))
		}
		n := t.Count
		if n < 0 || n > int64(max) {
			n = int64(max)
		}
		b := make([]byte, n)
		if err := v.c.Read(b, v.Addr, v.Expr); err != nil {
			return "", err
		}
		return cut(b), nil
	case *dwarf.PtrType:
		if !isChar(t.Type) {
			return "", fmt.Errorf("%w: %s is a %s", ErrNotString, v.Expr, ktype.Declare(v.Type, ""))
		}
		p, err := v.Uint()
		if err != nil {
			return "", err
		}
		if p == 0 {
			return "", fmt.Errorf("value: %s is a NULL pointer", v.Expr)
		}
		return v.c.ReadCString(p, max, "*"+v.Expr)
	}
	return "", fmt.Errorf("%w: %s is a %s", ErrNotString, v.Expr, ktype.Declare(v.Type, ""))
}

// ReadCString reads a NUL-terminated string at addr, at most max bytes,
// a chunk at a time so that a string near unreadable memory still reads.
func (c *Context) ReadCString(addr uint64, max int, expr string) (string, error) {
	var out []byte
	for len(out) < max {
		chunk := 256 - int((addr+uint64(len(out)))%256)
		chunk = min(chunk, max-len(out))
		b := make([]byte, chunk)
		if err := c.Read(b, addr+uint64(len(out)), expr); err != nil {
			// The string may end before the unreadable part: go on a
			// byte at a time.
			for i := range b {
				if err := c.Read(b[i:i+1], addr+uint64(len(out)), expr); err != nil {
					return string(out), err
				}
				if b[i] == 0 {
					return string(out), nil
				}
				out = append(out, b[i])
			}
			continue
		}
		for i, ch := range b {
			if ch == 0 {
				return string(append(out, b[:i]...)), nil
			}
		}
		out = append(out, b...)
	}
	return string(out), nil
}

func cut(b []byte) string {
	for i, ch := range b {
		if ch == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}

func isChar(t dwarf.Type) bool {
	switch u := ktype.Strip(t).(type) {
	case *dwarf.CharType, *dwarf.UcharType:
		return true
	case *dwarf.IntType:
		return u.ByteSize == 1 && strings.Contains(u.Name, "char")
	case *dwarf.UintType:
		return u.ByteSize == 1 && strings.Contains(u.Name, "char")
	}
	return false
}

// ListEntries walks a kernel list_head ring starting at head (the address
// of the head), returning the enclosing typ of every entry, as
// list_for_each_entry(pos, head, member) does. It stops after max entries
// (max <= 0 means 1<<20) and reports a ring that does not come back to
// head, or that comes back to an entry it has already been through.
// Package walk's List is the iterator form, over a typed head.
func (c *Context) ListEntries(head uint64, typ, member string, max int) ([]Value, error) {
	if max <= 0 {
		max = 1 << 20
	}
	lh, err := c.Types.Type("struct list_head")
	if err != nil {
		return nil, err
	}
	var out []Value
	cur := head
	seen := map[uint64]bool{head: true}
	for range max + 1 {
		next, err := c.Typed(lh, cur, fmt.Sprintf("list entry at %#x", cur)).Member("next")
		if err != nil {
			return out, err
		}
		p, err := next.Uint()
		if err != nil {
			return out, err
		}
		if p == head {
			return out, nil
		}
		if p == 0 {
			return out, fmt.Errorf("value: list at %#x: NULL next pointer at %#x after %d entries", head, cur, len(out))
		}
		if seen[p] {
			return out, fmt.Errorf("value: list at %#x: entry %#x after %d entries loops back to %#x", head, cur, len(out), p)
		}
		seen[p] = true
		e, err := c.ContainerOf(p, typ, member)
		if err != nil {
			return out, err
		}
		out = append(out, e)
		cur = p
	}
	return out, fmt.Errorf("value: list at %#x has more than %d entries (corrupt or circular without its head)", head, max)
}

// Elements returns every element of a fixed-size array.
func (v Value) Elements() ([]Value, error) {
	at, ok := v.stripped().(*dwarf.ArrayType)
	if !ok {
		return nil, fmt.Errorf("value: %s is a %s, not an array", v.Expr, ktype.Declare(v.Type, ""))
	}
	if at.Count < 0 {
		return nil, fmt.Errorf("value: %s has no fixed length", v.Expr)
	}
	if at.Count > maxRead {
		return nil, fmt.Errorf("value: %s has %d elements, more than the limit", v.Expr, at.Count)
	}
	out := make([]Value, 0, at.Count)
	for i := 0; i < int(at.Count); i++ {
		e, err := v.Index(i)
		if err != nil {
			return out, err
		}
		out = append(out, e)
	}
	return out, nil
}
