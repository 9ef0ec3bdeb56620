package value

import (
	"debug/dwarf"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/vmcoretools/vmcore/ktype"
)

// Format options follow gdb's print settings as crash sets them.
type Format struct {
	Hex bool // integers in hexadecimal (crash -x: gdb's output radix 16)
	// FormatX is gdb's print/x: every scalar as a bare hexadecimal number,
	// chars, bools, enums and pointers included (no symbol, no string), and
	// char arrays as lists of numbers. It implies Hex.
	FormatX bool
	// Elements bounds array elements and string characters printed, as
	// gdb's "set print elements" (0 means crash's setting, 256; gdb's
	// own default is 200).
	Elements int
	// Repeats is gdb's "print repeats": runs of identical elements longer
	// than this print as "<repeats N times>". 0 turns it off, as crash
	// does (its p shows every '\000' of a char array); gdb's default is 10.
	Repeats int
}

// String renders the value as crash's p command prints it (gdb with
// "set print pretty on"), without the "$1 = " prefix: scalars as numbers,
// pointers in hex with the symbol they point into, char arrays as strings,
// structs and unions as "{\n  member = value,\n ...\n}".
func (v Value) String() string {
	s, err := v.Format(Format{})
	if err != nil {
		return "<error: " + err.Error() + ">"
	}
	return s
}

// Format renders the value with options. The value's bytes are read once;
// only char pointers cause further reads (to show the string).
func (v Value) Format(opt Format) (string, error) {
	if opt.Elements <= 0 {
		opt.Elements = 256
	}
	if opt.FormatX {
		opt.Hex = true
	}
	if v.bitSize != 0 {
		u, err := v.Uint()
		if err != nil {
			return "", err
		}
		if signed(v.stripped()) {
			i, _ := v.Int()
			return fmtInt(uint64(i), true, opt, int(v.bitSize)), nil
		}
		return fmtInt(u, false, opt), nil
	}
	b, err := v.Bytes()
	if err != nil {
		return "", err
	}
	var sb strings.Builder
	// gdb prefixes a pointer printed on its own with its type, except
	// for char pointers, whose string it shows instead.
	if pt, ok := v.stripped().(*dwarf.PtrType); ok && (pt.Type == nil || !isChar(pt.Type)) && !opt.FormatX {
		sb.WriteString("(" + ktype.Declare(v.Type, "") + ") ")
	}
	p := printer{c: v.c, opt: opt, w: &sb, root: b, rootAddr: v.Addr, hasAddr: !v.IsConstant()}
	p.value(v.Type, b, 0)
	return sb.String(), nil
}

// WriteStruct renders a struct or union as crash's struct command does:
// "struct list_head {\n  next = 0x...,\n  prev = 0x...\n}\n".
func (v Value) WriteStruct(opt Format) (string, error) {
	s, err := v.Format(opt)
	if err != nil {
		return "", err
	}
	if st, ok := v.stripped().(*dwarf.StructType); ok && strings.HasPrefix(s, "{") {
		name := st.Kind + " " + st.StructName
		if st.StructName == "" {
			name = st.Kind
		}
		return name + " " + s + "\n", nil
	}
	return s + "\n", nil
}

type printer struct {
	c   *Context
	opt Format
	w   *strings.Builder
	n   int // nodes printed, bounds runaway output from corrupt types
	// root is the bytes of the whole value printed, read at rootAddr
	// (when hasAddr): a part of it, a sub-slice, lies at rootAddr plus
	// the difference of their capacities.
	root     []byte
	rootAddr uint64
	hasAddr  bool
}

// addrOf is the address of b, a sub-slice of root; ok is false for a
// value that is not in memory.
func (p *printer) addrOf(b []byte) (uint64, bool) {
	if !p.hasAddr || cap(b) > cap(p.root) {
		return 0, false
	}
	return p.rootAddr + uint64(cap(p.root)-cap(b)), true
}

const maxNodes = 1 << 16

func (p *printer) value(t dwarf.Type, b []byte, indent int) {
	if p.n++; p.n > maxNodes {
		p.w.WriteString("...")
		return
	}
	st := ktype.Strip(t)
	switch u := st.(type) {
	case *dwarf.StructType:
		p.structure(u, b, indent)
	case *dwarf.ArrayType:
		p.array(u, b, indent)
	case *dwarf.PtrType:
		p.pointer(u, b)
	case *dwarf.FuncType:
		p.w.WriteString("{" + ktype.Declare(u, "") + "}")
	case *dwarf.EnumType:
		x := p.uint(b)
		if p.opt.FormatX {
			p.w.WriteString(fmtInt(x, false, p.opt))
			return
		}
		for _, e := range u.Val {
			if uint64(e.Val) == x || (len(b) < 8 && uint64(e.Val)&(1<<(8*len(b))-1) == x) {
				p.w.WriteString(e.Name)
				return
			}
		}
		p.w.WriteString(strconv.FormatUint(x, 10))
	case *dwarf.BoolType:
		// gdb prints bools as numbers in any output format (p -x too).
		if p.opt.Hex {
			p.w.WriteString(fmtInt(p.uint(b), false, p.opt))
			return
		}
		if p.uint(b) != 0 {
			p.w.WriteString("true")
		} else {
			p.w.WriteString("false")
		}
	case *dwarf.FloatType:
		switch len(b) {
		case 4:
			p.w.WriteString(strconv.FormatFloat(float64(math.Float32frombits(uint32(p.uint(b)))), 'g', -1, 32))
		case 8:
			p.w.WriteString(strconv.FormatFloat(math.Float64frombits(p.uint(b)), 'g', -1, 64))
		default:
			fmt.Fprintf(p.w, "<%d-byte float>", len(b))
		}
	case *dwarf.CharType, *dwarf.UcharType:
		x := p.uint(b)
		_, isSigned := u.(*dwarf.CharType)
		if p.opt.Hex {
			p.w.WriteString(fmtInt(x, false, p.opt, 8*len(b)))
		} else if isSigned && len(b) == 1 {
			fmt.Fprintf(p.w, "%d %s", int8(x), charLit(byte(x)))
		} else {
			fmt.Fprintf(p.w, "%d %s", x, charLit(byte(x)))
		}
	case *dwarf.IntType:
		p.w.WriteString(fmtInt(signExtend(p.uint(b), len(b)), true, p.opt, 8*len(b)))
	case *dwarf.UintType, *dwarf.AddrType, *dwarf.UnspecifiedType:
		p.w.WriteString(fmtInt(p.uint(b), false, p.opt))
	case *dwarf.VoidType:
		p.w.WriteString("void")
	default:
		fmt.Fprintf(p.w, "<%s>", ktype.Declare(t, ""))
	}
}

func (p *printer) uint(b []byte) uint64 {
	o := p.c.order()
	switch len(b) {
	case 1:
		return uint64(b[0])
	case 2:
		return uint64(o.Uint16(b))
	case 4:
		return uint64(o.Uint32(b))
	case 8:
		return o.Uint64(b)
	}
	var x uint64
	for i := len(b) - 1; i >= 0 && i < 8; i-- {
		x = x<<8 | uint64(b[i])
	}
	return x
}

func signExtend(x uint64, n int) uint64 {
	if n <= 0 || n >= 8 {
		return x
	}
	bits := uint(n * 8)
	if x&(1<<(bits-1)) != 0 {
		return x | ^uint64(0)<<bits
	}
	return x
}

// fmtInt prints an integer of the given width in bits; in hex, as gdb's
// p/x, negative numbers show their two's complement in that width.
func fmtInt(x uint64, isSigned bool, opt Format, bits ...int) string {
	if opt.Hex {
		if len(bits) > 0 && bits[0] > 0 && bits[0] < 64 {
			x &= 1<<uint(bits[0]) - 1
		}
		return fmt.Sprintf("%#x", x)
	}
	if isSigned {
		return strconv.FormatInt(int64(x), 10)
	}
	return strconv.FormatUint(x, 10)
}

func (p *printer) structure(st *dwarf.StructType, b []byte, indent int) {
	if len(st.Field) == 0 {
		p.w.WriteString("{<No data fields>}")
		return
	}
	pad := strings.Repeat("  ", indent+1)
	p.w.WriteString("{\n")
	for i, f := range st.Field {
		p.w.WriteString(pad)
		if f.Name != "" {
			p.w.WriteString(f.Name + " = ")
		}
		byteOff, bitOff := ktype.FieldBits(f)
		size := f.Type.Size()
		switch {
		case f.BitSize != 0:
			nb := (bitOff + f.BitSize + 7) / 8
			if byteOff < 0 || byteOff+nb > int64(len(b)) || nb > 8 {
				p.w.WriteString("<bitfield outside the struct>")
				break
			}
			raw := p.uint(padTo8(b[byteOff:byteOff+nb])) >> uint(bitOff)
			if f.BitSize < 64 {
				raw &= 1<<uint(f.BitSize) - 1
			}
			ft := ktype.Strip(f.Type)
			if _, ok := ft.(*dwarf.IntType); ok && f.BitSize < 64 && raw&(1<<uint(f.BitSize-1)) != 0 {
				raw |= ^uint64(0) << uint(f.BitSize)
				p.w.WriteString(fmtInt(raw, true, p.opt, int(f.BitSize)))
			} else if e, ok := ft.(*dwarf.EnumType); ok {
				name := strconv.FormatUint(raw, 10)
				for _, v := range e.Val {
					if uint64(v.Val) == raw {
						name = v.Name
					}
				}
				p.w.WriteString(name)
			} else if _, ok := ft.(*dwarf.BoolType); ok && !p.opt.Hex {
				p.w.WriteString(strconv.FormatBool(raw != 0))
			} else {
				p.w.WriteString(fmtInt(raw, false, p.opt))
			}
		case size < 0 || byteOff < 0 || byteOff+size > int64(len(b)):
			if size == 0 || size < 0 {
				// Flexible array member or incomplete type.
				p.w.WriteString(flexible(f.Type))
			} else {
				p.w.WriteString("<member outside the struct>")
			}
		default:
			p.value(f.Type, b[byteOff:byteOff+size], indent+1)
		}
		if i < len(st.Field)-1 {
			p.w.WriteString(",")
		}
		p.w.WriteString("\n")
	}
	p.w.WriteString(strings.Repeat("  ", indent) + "}")
}

func flexible(t dwarf.Type) string {
	if _, ok := ktype.Strip(t).(*dwarf.ArrayType); ok {
		return "0x0"
	}
	return "<incomplete type>"
}

func padTo8(b []byte) []byte {
	var out [8]byte
	copy(out[:], b)
	return out[:]
}

func (p *printer) pointer(t *dwarf.PtrType, b []byte) {
	x := p.uint(b)
	fmt.Fprintf(p.w, "%#x", x)
	if x == 0 || p.opt.FormatX {
		return
	}
	if p.c.Types != nil {
		if s, off, ok := p.c.Types.SymbolAt(x); ok && (s.Type == ktype.SymFunc || s.Type == ktype.SymObject) && (s.Size == 0 || off < s.Size) {
			if off == 0 {
				fmt.Fprintf(p.w, " <%s>", s.Name)
			} else {
				fmt.Fprintf(p.w, " <%s+%d>", s.Name, off)
			}
			if _, isFunc := ktype.Strip(t.Type).(*dwarf.FuncType); isFunc {
				return
			}
		}
	}
	if t.Type != nil && isChar(t.Type) {
		p.cString(x)
	}
}

// cString prints, after an address, the string there as gdb does for a
// char pointer: " \"text\"", cut at Elements with "...".
func (p *printer) cString(x uint64) {
	s, err := p.c.ReadCString(x, p.opt.Elements+1, "string")
	if err != nil && s == "" {
		fmt.Fprintf(p.w, " <error: cannot read memory at %#x>", x)
		return
	}
	tail := ""
	if len(s) > p.opt.Elements {
		s, tail = s[:p.opt.Elements], "..."
	}
	p.w.WriteString(" " + quoteRuns([]byte(s), p.opt.Repeats) + tail)
}

func (p *printer) array(t *dwarf.ArrayType, b []byte, indent int) {
	elem := t.Type
	es := elem.Size()
	if t.Count <= 0 {
		// A flexible array member (x[], or the older x[0]; debug/dwarf
		// gives both a count of 0): gdb prints its address, and for
		// chars the string there, as for a char pointer.
		if a, ok := p.addrOf(b); ok {
			fmt.Fprintf(p.w, "%#x", a)
			if isChar(elem) && es == 1 && !p.opt.FormatX {
				p.cString(a)
			}
			return
		}
	}
	if t.Count <= 0 || es <= 0 {
		p.w.WriteString("{}")
		return
	}
	n := int64(len(b)) / es
	if isChar(elem) && es == 1 && !p.opt.FormatX {
		s := b
		// gdb drops one trailing NUL, the string's terminator.
		if len(s) > 0 && s[len(s)-1] == 0 {
			s = s[:len(s)-1]
		}
		n := charsWithin(s, p.opt.Elements)
		out := quoteRuns(s[:n], p.opt.Repeats)
		if n < len(s) {
			out += "..."
		}
		p.w.WriteString(out)
		return
	}
	p.w.WriteString("{")
	printed := 0
	for i := int64(0); i < n; {
		if printed >= p.opt.Elements {
			p.w.WriteString("...")
			break
		}
		cur := b[i*es : (i+1)*es]
		j := i + 1
		for p.opt.Repeats > 0 && j < n && string(b[j*es:(j+1)*es]) == string(cur) {
			j++
		}
		if i > 0 {
			p.w.WriteString(", ")
		}
		// gdb indents a struct element one level deeper than the array.
		p.value(elem, cur, indent+1)
		if reps := j - i; p.opt.Repeats > 0 && reps > int64(p.opt.Repeats) {
			fmt.Fprintf(p.w, " <repeats %d times>", reps)
			printed += p.opt.Repeats
			i = j
			continue
		}
		printed++
		i++
	}
	p.w.WriteString("}")
}

// charsWithin is how many of a char array's bytes gdb prints under its
// limit of print elements: it counts whole runs of one byte, so the run
// that crosses the limit is printed to its end (kthreadd's 4096-byte
// fpstate __padding: 30 bytes, then 2722 zeros, then "...").
func charsWithin(s []byte, limit int) int {
	i := 0
	for i < len(s) && i < limit {
		j := i + 1
		for j < len(s) && s[j] == s[i] {
			j++
		}
		i = j
	}
	return i
}

// quoteRuns renders bytes as gdb does: quoted runs, with runs of one byte
// longer than repeats (when non-zero) as 'c' <repeats N times>.
func quoteRuns(s []byte, repeats int) string {
	if len(s) == 0 {
		return `""`
	}
	var parts []string
	var cur strings.Builder
	needEscape := false
	flush := func() {
		if cur.Len() > 0 {
			parts = append(parts, `"`+cur.String()+`"`)
			cur.Reset()
		}
		needEscape = false
	}
	for i := 0; i < len(s); {
		j := i + 1
		for j < len(s) && s[j] == s[i] {
			j++
		}
		if repeats > 0 && j-i > repeats {
			flush()
			parts = append(parts, fmt.Sprintf("%s <repeats %d times>", charLit(s[i]), j-i))
			i = j
			continue
		}
		for ; i < j; i++ {
			e := escape(s[i], '"')
			if needEscape && s[i] >= '0' && s[i] <= '9' {
				// gdb (print_wchar) escapes a digit after an octal
				// escape, which would otherwise read as part of it.
				e = fmt.Sprintf(`\%03o`, s[i])
			}
			needEscape = len(e) == 4 && e[0] == '\\' && e[1] >= '0' && e[1] <= '7'
			cur.WriteString(e)
		}
	}
	flush()
	return strings.Join(parts, ", ")
}

func charLit(c byte) string { return "'" + escape(c, '\'') + "'" }

func escape(c byte, quote byte) string {
	switch c {
	case '\n':
		return `\n`
	case '\t':
		return `\t`
	case '\r':
		return `\r`
	case '\a':
		return `\a`
	case '\b':
		return `\b`
	case '\f':
		return `\f`
	case '\v':
		return `\v`
	case 033:
		return `\033`
	case '\\':
		return `\\`
	case quote:
		return `\` + string(quote)
	}
	if c < 0x20 || c >= 0x7f {
		return fmt.Sprintf(`\%03o`, c)
	}
	return string(c)
}

// WriteMembers renders chosen members as crash's "struct TYPE.m1,m2 ADDR"
// does: one "  name = value," line each, in the order given.
func (v Value) WriteMembers(members []string, opt Format) (string, error) {
	var b strings.Builder
	for _, m := range members {
		mv, err := v.Member(m)
		if err != nil {
			return b.String(), err
		}
		s, err := mv.formatInner(opt)
		if err != nil {
			return b.String(), err
		}
		b.WriteString("  " + m + " = " + strings.ReplaceAll(s, "\n", "\n  ") + ",\n")
	}
	return b.String(), nil
}

// formatInner formats as a member inside a struct: pointers without the
// type prefix that a top-level p shows.
func (v Value) formatInner(opt Format) (string, error) {
	s, err := v.Format(opt)
	if err != nil {
		return "", err
	}
	if pt, ok := v.stripped().(*dwarf.PtrType); ok && (pt.Type == nil || !isChar(pt.Type)) {
		s = strings.TrimPrefix(s, "("+ktype.Declare(v.Type, "")+") ")
	}
	return s, nil
}
