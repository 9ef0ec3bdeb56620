package repl

import (
	"debug/dwarf"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/vmcoretools/vmcore/dwarfsym"
	"github.com/vmcoretools/vmcore/value"
)

// This file evaluates the C expressions crash hands to gdb for p and
// whatis: integer arithmetic with C's conversions, casts to types and
// pointers, & and *, . and ->, indexing, sizeof, comparisons, logical
// operators and ?:. Values are typed with the vmlinux's DWARF types; the
// integer types of literals and results are made here (int, unsigned int,
// long, unsigned long, as gdb 10 types them on x86_64).

// cexpr is a parsed expression.
type cexpr struct {
	op   string // "num", "char", "ident", ".", "->", "[]", "cast", "sizeof", "unary", "binary", "?:"
	text string // identifier, member name or operator
	num  uint64
	typ  dwarf.Type // of a literal, a cast or sizeof(type)
	kids []*cexpr
}

// maxCExprTokens and maxCExprDepth bound the work on one expression.
const (
	maxCExprTokens = 512
	maxCExprDepth  = 64
)

type ctok struct {
	kind byte // 'i' identifier, 'n' number, 'c' char literal, 'p' punctuator
	text string
	num  uint64
}

var cPunct = []string{"->", "<<", ">>", "<=", ">=", "==", "!=", "&&", "||",
	"+", "-", "*", "/", "%", "&", "|", "^", "~", "!", "<", ">", "(", ")", "[", "]", ".", "?", ":", ","}

func lexC(text string) ([]ctok, error) {
	var toks []ctok
	for i := 0; i < len(text); {
		ch := text[i]
		switch {
		case ch == ' ' || ch == '\t' || ch == '\n':
			i++
			continue
		case ch == '_' || ch == '$' || ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z':
			j := i
			for j < len(text) && (isIdentByte(text[j]) && text[j] != '.' || text[j] == '$') {
				j++
			}
			toks = append(toks, ctok{kind: 'i', text: text[i:j]})
			i = j
		case ch >= '0' && ch <= '9':
			j := i
			for j < len(text) && (isIdentByte(text[j]) && text[j] != '.') {
				j++
			}
			n, err := parseCNumber(text[i:j])
			if err != nil {
				return nil, err
			}
			toks = append(toks, ctok{kind: 'n', text: text[i:j], num: n})
			i = j
		case ch == '\'':
			c, n, err := parseCChar(text[i:])
			if err != nil {
				return nil, err
			}
			toks = append(toks, ctok{kind: 'c', text: text[i : i+n], num: uint64(c)})
			i += n
		default:
			found := false
			for _, p := range cPunct {
				if strings.HasPrefix(text[i:], p) {
					toks = append(toks, ctok{kind: 'p', text: p})
					i += len(p)
					found = true
					break
				}
			}
			if !found {
				return nil, fmt.Errorf("Invalid character '%c' in expression.", ch)
			}
		}
		if len(toks) > maxCExprTokens {
			return nil, errors.New("expression too long")
		}
	}
	return toks, nil
}

// parseCNumber reads a C integer literal: decimal, 0x hexadecimal or 0
// octal, with u and l suffixes ignored (the value picks the type).
func parseCNumber(s string) (uint64, error) {
	t := strings.TrimRight(s, "uUlL")
	base := 10
	switch {
	case strings.HasPrefix(t, "0x") || strings.HasPrefix(t, "0X"):
		t, base = t[2:], 16
	case len(t) > 1 && t[0] == '0':
		t, base = t[1:], 8
	}
	n, err := strconv.ParseUint(t, base, 64)
	if err != nil {
		return 0, fmt.Errorf("Invalid number \"%s\".", s)
	}
	return n, nil
}

// parseCChar reads a character literal at the start of s and returns its
// value and length.
func parseCChar(s string) (byte, int, error) {
	if len(s) >= 3 && s[1] != '\\' && s[2] == '\'' {
		return s[1], 3, nil
	}
	if len(s) >= 4 && s[1] == '\\' {
		if s[3] == '\'' {
			if c, ok := map[byte]byte{'n': '\n', 't': '\t', 'r': '\r', '0': 0, '\\': '\\', '\'': '\'', 'a': 7, 'b': 8, 'f': 12, 'v': 11, 'e': 033}[s[2]]; ok {
				return c, 4, nil
			}
		}
		j := 2
		for j < len(s) && j < 5 && s[j] >= '0' && s[j] <= '7' {
			j++
		}
		if j > 2 && j < len(s) && s[j] == '\'' {
			n, _ := strconv.ParseUint(s[2:j], 8, 8)
			return byte(n), j + 1, nil
		}
	}
	return 0, 0, errors.New("Unmatched single quote.")
}

// cparser builds a cexpr from tokens; it needs the session to tell type
// names from variables, as C's grammar does.
type cparser struct {
	s     *Session
	toks  []ctok
	pos   int
	depth int
}

func (s *Session) parseC(text string) (*cexpr, error) {
	toks, err := lexC(text)
	if err != nil {
		return nil, err
	}
	if len(toks) == 0 {
		return nil, errors.New("empty expression")
	}
	p := &cparser{s: s, toks: toks}
	e, err := p.expr()
	if err != nil {
		return nil, err
	}
	if p.pos < len(p.toks) {
		return nil, fmt.Errorf("A syntax error in expression, near `%s'.", p.rest())
	}
	return e, nil
}

func (p *cparser) rest() string {
	var parts []string
	for _, t := range p.toks[p.pos:] {
		parts = append(parts, t.text)
	}
	return strings.Join(parts, " ")
}

func (p *cparser) peek() ctok {
	if p.pos < len(p.toks) {
		return p.toks[p.pos]
	}
	return ctok{}
}

func (p *cparser) accept(punct string) bool {
	if t := p.peek(); t.kind == 'p' && t.text == punct {
		p.pos++
		return true
	}
	return false
}

func (p *cparser) expect(punct string) error {
	if !p.accept(punct) {
		return fmt.Errorf("A syntax error in expression, near `%s'.", p.rest())
	}
	return nil
}

func (p *cparser) enter() error {
	if p.depth++; p.depth > maxCExprDepth {
		return errors.New("expression nested too deeply")
	}
	return nil
}

func (p *cparser) leave() { p.depth-- }

// expr parses a conditional expression (the comma operator is not
// supported: crash's arguments never need it).
func (p *cparser) expr() (*cexpr, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	cond, err := p.binary(0)
	if err != nil {
		return nil, err
	}
	if !p.accept("?") {
		return cond, nil
	}
	a, err := p.expr()
	if err != nil {
		return nil, err
	}
	if err := p.expect(":"); err != nil {
		return nil, err
	}
	b, err := p.expr()
	if err != nil {
		return nil, err
	}
	return &cexpr{op: "?:", kids: []*cexpr{cond, a, b}}, nil
}

var cPrecedence = map[string]int{
	"||": 1, "&&": 2, "|": 3, "^": 4, "&": 5, "==": 6, "!=": 6,
	"<": 7, ">": 7, "<=": 7, ">=": 7, "<<": 8, ">>": 8, "+": 9, "-": 9, "*": 10, "/": 10, "%": 10,
}

func (p *cparser) binary(minPrec int) (*cexpr, error) {
	left, err := p.unary()
	if err != nil {
		return nil, err
	}
	for {
		t := p.peek()
		prec, ok := cPrecedence[t.text]
		if t.kind != 'p' || !ok || prec <= minPrec {
			return left, nil
		}
		p.pos++
		right, err := p.binary(prec)
		if err != nil {
			return nil, err
		}
		left = &cexpr{op: "binary", text: t.text, kids: []*cexpr{left, right}}
	}
}

func (p *cparser) unary() (*cexpr, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	t := p.peek()
	if t.kind == 'p' {
		switch t.text {
		case "-", "+", "~", "!", "*", "&":
			p.pos++
			e, err := p.unary()
			if err != nil {
				return nil, err
			}
			return &cexpr{op: "unary", text: t.text, kids: []*cexpr{e}}, nil
		case "(":
			// A cast if a type name follows.
			if typ, ok, err := p.parenType(); err != nil {
				return nil, err
			} else if ok {
				e, err := p.unary()
				if err != nil {
					return nil, err
				}
				return &cexpr{op: "cast", typ: typ, kids: []*cexpr{e}}, nil
			}
		}
	}
	if t.kind == 'i' && t.text == "sizeof" {
		p.pos++
		if p.peek().text == "(" {
			if typ, ok, err := p.parenType(); err != nil {
				return nil, err
			} else if ok {
				return &cexpr{op: "sizeof", typ: typ}, nil
			}
		}
		e, err := p.unary()
		if err != nil {
			return nil, err
		}
		return &cexpr{op: "sizeof", kids: []*cexpr{e}}, nil
	}
	return p.postfix()
}

// parenType reads "( type-name )" at the current "(", for a cast or
// sizeof; ok is false, and nothing is consumed, when no type name follows.
func (p *cparser) parenType() (typ dwarf.Type, ok bool, err error) {
	save := p.pos
	p.pos++
	typ, ok, err = p.typeName()
	if err != nil || !ok {
		p.pos = save
		return nil, false, err
	}
	return typ, true, p.expect(")")
}

func (p *cparser) postfix() (*cexpr, error) {
	e, err := p.primary()
	if err != nil {
		return nil, err
	}
	for {
		switch {
		case p.accept("."), p.accept("->"):
			op := p.toks[p.pos-1].text
			m := p.peek()
			if m.kind != 'i' {
				return nil, fmt.Errorf("A syntax error in expression, near `%s'.", p.rest())
			}
			p.pos++
			e = &cexpr{op: op, text: m.text, kids: []*cexpr{e}}
		case p.accept("["):
			idx, err := p.expr()
			if err != nil {
				return nil, err
			}
			if err := p.expect("]"); err != nil {
				return nil, err
			}
			e = &cexpr{op: "[]", kids: []*cexpr{e, idx}}
		default:
			return e, nil
		}
	}
}

func (p *cparser) primary() (*cexpr, error) {
	t := p.peek()
	switch t.kind {
	case 'n':
		p.pos++
		return &cexpr{op: "num", num: t.num, typ: literalType(t.num)}, nil
	case 'c':
		p.pos++
		return &cexpr{op: "char", num: t.num, typ: cCharType}, nil
	case 'i':
		p.pos++
		return &cexpr{op: "ident", text: t.text}, nil
	case 'p':
		if t.text == "(" {
			p.pos++
			e, err := p.expr()
			if err != nil {
				return nil, err
			}
			if err := p.expect(")"); err != nil {
				return nil, err
			}
			return e, nil
		}
	}
	if t.kind == 0 {
		return nil, errors.New("A syntax error in expression, near `'.")
	}
	return nil, fmt.Errorf("A syntax error in expression, near `%s'.", p.rest())
}

// cTypeWords are the keywords that begin or make up a type name.
var cTypeWords = map[string]bool{
	"struct": true, "union": true, "enum": true, "const": true, "volatile": true,
	"unsigned": true, "signed": true, "int": true, "long": true, "short": true,
	"char": true, "void": true, "_Bool": true,
}

// typeName parses a type name (specifiers, then *s) if one starts here;
// ok is false, with the position unchanged, if none does.
func (p *cparser) typeName() (dwarf.Type, bool, error) {
	start := p.pos
	t := p.peek()
	if t.kind != 'i' {
		return nil, false, nil
	}
	var base dwarf.Type
	switch {
	case t.text == "struct" || t.text == "union" || t.text == "enum":
		p.pos++
		tag := p.peek()
		if tag.kind != 'i' {
			return nil, false, fmt.Errorf("A syntax error in expression, near `%s'.", p.rest())
		}
		p.pos++
		typ, err := p.s.info().Type(t.text + " " + tag.text)
		if err != nil {
			return nil, false, fmt.Errorf("No %s type named %s.", t.text, tag.text)
		}
		base = typ
	case cTypeWords[t.text]:
		var words []string
		for cTypeWords[p.peek().text] && p.peek().kind == 'i' && p.peek().text != "struct" && p.peek().text != "union" && p.peek().text != "enum" {
			words = append(words, p.peek().text)
			p.pos++
		}
		typ, err := cBaseType(words)
		if err != nil {
			return nil, false, err
		}
		base = typ
	default:
		// A typedef or base type name, unless a symbol has that name.
		if _, ok := p.s.info().Lookup(t.text); ok {
			return nil, false, nil
		}
		if _, err := p.s.info().Variable(t.text); err == nil {
			return nil, false, nil
		}
		typ, err := p.s.info().Type(t.text)
		if err != nil {
			return nil, false, nil
		}
		if _, isBase := typ.(*dwarf.TypedefType); !isBase {
			if _, named := typ.(*dwarf.StructType); named {
				return nil, false, nil // a bare tag is not a type name in C
			}
		}
		p.pos++
		base = typ
	}
	for p.peek().kind == 'i' && (p.peek().text == "const" || p.peek().text == "volatile") {
		p.pos++
	}
	for p.accept("*") {
		base = &dwarf.PtrType{CommonType: dwarf.CommonType{ByteSize: 8}, Type: base}
		for p.peek().kind == 'i' && (p.peek().text == "const" || p.peek().text == "volatile") {
			p.pos++
		}
	}
	if p.pos == start {
		return nil, false, nil
	}
	return base, true, nil
}

// The integer types of literals and results, named as GCC's DWARF names
// them (dwarfsym.Declare prints them as gdb does: "unsigned long").
var (
	cIntType   = &dwarf.IntType{BasicType: dwarf.BasicType{CommonType: dwarf.CommonType{ByteSize: 4, Name: "int"}}}
	cUintType  = &dwarf.UintType{BasicType: dwarf.BasicType{CommonType: dwarf.CommonType{ByteSize: 4, Name: "unsigned int"}}}
	cLongType  = &dwarf.IntType{BasicType: dwarf.BasicType{CommonType: dwarf.CommonType{ByteSize: 8, Name: "long int"}}}
	cUlongType = &dwarf.UintType{BasicType: dwarf.BasicType{CommonType: dwarf.CommonType{ByteSize: 8, Name: "long unsigned int"}}}
	cCharType  = &dwarf.CharType{BasicType: dwarf.BasicType{CommonType: dwarf.CommonType{ByteSize: 1, Name: "char"}}}
)

// cBaseType makes the type a list of C type keywords names.
func cBaseType(words []string) (dwarf.Type, error) {
	var unsigned, signed bool
	longs, short, char, void, boolean := 0, false, false, false, false
	for _, w := range words {
		switch w {
		case "unsigned":
			unsigned = true
		case "signed":
			signed = true
		case "long":
			longs++
		case "short":
			short = true
		case "char":
			char = true
		case "void":
			void = true
		case "_Bool":
			boolean = true
		case "int", "const", "volatile":
		default:
			return nil, fmt.Errorf("No symbol \"%s\" in current context.", w)
		}
	}
	mk := func(size int64, name string, isSigned bool) dwarf.Type {
		if isSigned {
			return &dwarf.IntType{BasicType: dwarf.BasicType{CommonType: dwarf.CommonType{ByteSize: size, Name: name}}}
		}
		return &dwarf.UintType{BasicType: dwarf.BasicType{CommonType: dwarf.CommonType{ByteSize: size, Name: name}}}
	}
	switch {
	case void:
		return &dwarf.VoidType{}, nil
	case boolean:
		return &dwarf.BoolType{BasicType: dwarf.BasicType{CommonType: dwarf.CommonType{ByteSize: 1, Name: "_Bool"}}}, nil
	case char && unsigned:
		return &dwarf.UcharType{BasicType: dwarf.BasicType{CommonType: dwarf.CommonType{ByteSize: 1, Name: "unsigned char"}}}, nil
	case char && signed:
		return &dwarf.CharType{BasicType: dwarf.BasicType{CommonType: dwarf.CommonType{ByteSize: 1, Name: "signed char"}}}, nil
	case char:
		return cCharType, nil
	case short:
		if unsigned {
			return mk(2, "short unsigned int", false), nil
		}
		return mk(2, "short int", true), nil
	case longs >= 2:
		if unsigned {
			return mk(8, "long long unsigned int", false), nil
		}
		return mk(8, "long long int", true), nil
	case longs == 1:
		if unsigned {
			return cUlongType, nil
		}
		return cLongType, nil
	case unsigned:
		return cUintType, nil
	}
	return cIntType, nil
}

// literalType types an integer literal as gdb 10 does: int if it fits in
// 32 bits (unsigned int when bit 31 is set), else long (unsigned long when
// bit 63 is set).
func literalType(n uint64) dwarf.Type {
	switch {
	case n < 1<<31:
		return cIntType
	case n < 1<<32:
		return cUintType
	case n < 1<<63:
		return cLongType
	}
	return cUlongType
}

// ceval evaluates parsed expressions against kernel memory. With typeOnly
// (whatis, sizeof) nothing is read: values are zero, pointers lead to
// address 0, and only types are computed.
type ceval struct {
	s        *Session
	vals     *value.Context
	typeOnly bool
}

func (e *ceval) constInt(t dwarf.Type, n uint64, expr string) value.Value {
	size := t.Size()
	if size <= 0 || size > 8 {
		size = 8
	}
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], n)
	return e.vals.Constant(t, b[:size], expr)
}

func (e *ceval) eval(x *cexpr) (value.Value, error) {
	switch x.op {
	case "num", "char":
		return e.constInt(x.typ, x.num, ""), nil
	case "ident":
		return e.ident(x.text)
	case ".", "->":
		base, err := e.eval(x.kids[0])
		if err != nil {
			return value.Value{}, err
		}
		if x.op == "->" {
			if _, ok := dwarfsym.Strip(base.Type).(*dwarf.PtrType); !ok {
				return value.Value{}, fmt.Errorf("The -> operator cannot be applied to a %s.", dwarfsym.Declare(base.Type, ""))
			}
		}
		if pt, ok := dwarfsym.Strip(base.Type).(*dwarf.PtrType); ok {
			if base, err = e.deref(base, pt); err != nil {
				return value.Value{}, err
			}
		}
		if _, ok := dwarfsym.Strip(base.Type).(*dwarf.StructType); !ok {
			return value.Value{}, fmt.Errorf("Attempt to extract a component of a value that is not a structure%s.", map[bool]string{true: " pointer", false: ""}[x.op == "->"])
		}
		m, err := base.Member(x.text)
		if err != nil {
			return value.Value{}, fmt.Errorf("There is no member named %s.", x.text)
		}
		return m, nil
	case "[]":
		base, err := e.eval(x.kids[0])
		if err != nil {
			return value.Value{}, err
		}
		idx, err := e.eval(x.kids[1])
		if err != nil {
			return value.Value{}, err
		}
		i, err := e.intOf(idx)
		if err != nil {
			return value.Value{}, err
		}
		if pt, ok := dwarfsym.Strip(base.Type).(*dwarf.PtrType); ok && e.typeOnly {
			return e.vals.Typed(orVoid(pt.Type), 0, ""), nil
		}
		if _, ok := dwarfsym.Strip(base.Type).(*dwarf.ArrayType); ok {
			// gdb does not bounds-check: index past the end as C does.
			at := dwarfsym.Strip(base.Type).(*dwarf.ArrayType)
			if !base.IsConstant() {
				sz := at.Type.Size()
				return e.vals.Typed(at.Type, base.Addr+uint64(int64(i.n)*sz), ""), nil
			}
		}
		v, err := base.Index(int(int64(i.n)))
		if err != nil {
			return value.Value{}, errors.New("cannot subscript something of type `" + dwarfsym.Declare(base.Type, "") + "'")
		}
		return v, nil
	case "sizeof":
		t := x.typ
		if t == nil {
			sub := &ceval{s: e.s, vals: e.vals, typeOnly: true}
			v, err := sub.eval(x.kids[0])
			if err != nil {
				return value.Value{}, err
			}
			t = v.Type
		}
		if t.Size() < 0 {
			return value.Value{}, errors.New("cannot take the size of an incomplete type")
		}
		return e.constInt(cUlongType, uint64(t.Size()), ""), nil
	case "cast":
		v, err := e.eval(x.kids[0])
		if err != nil {
			return value.Value{}, err
		}
		return e.cast(v, x.typ)
	case "unary":
		return e.unary(x)
	case "binary":
		return e.binary(x)
	case "?:":
		c, err := e.eval(x.kids[0])
		if err != nil {
			return value.Value{}, err
		}
		ci, err := e.intOf(c)
		if err != nil {
			return value.Value{}, err
		}
		if ci.n != 0 {
			return e.eval(x.kids[1])
		}
		return e.eval(x.kids[2])
	}
	return value.Value{}, fmt.Errorf("unknown expression %q", x.op)
}

func orVoid(t dwarf.Type) dwarf.Type {
	if t == nil {
		return &dwarf.VoidType{}
	}
	return t
}

// ident is a variable (its object in memory), a function, or a symbol
// without debug information.
func (e *ceval) ident(name string) (value.Value, error) {
	if v, err := e.s.info().Variable(name); err == nil && v.Type != nil {
		return e.vals.Typed(e.complete(v.Type), v.Addr, name), nil
	}
	if fn, err := e.s.info().Function(name); err == nil && fn.Type != nil {
		if sym, ok := e.s.info().Lookup(name); ok {
			return e.vals.Typed(fn.Type, sym.Addr, name), nil
		}
	}
	if sym, ok := e.s.info().Lookup(name); ok {
		if e.s.Debug == nil {
			// The kernel's BTF types no global but the per-CPU ones.
			return value.Value{}, untypedGlobal(name, sym.Addr)
		}
		return value.Value{}, fmt.Errorf("'%s' has unknown type; cast it to its declared type", name)
	}
	return value.Value{}, fmt.Errorf("No symbol \"%s\" in current context.", name)
}

func (e *ceval) deref(v value.Value, pt *dwarf.PtrType) (value.Value, error) {
	if pt.Type == nil {
		return value.Value{}, errors.New("Attempt to take contents of a non-pointer value.")
	}
	t := e.complete(pt.Type)
	if e.typeOnly {
		return e.vals.Typed(t, 0, ""), nil
	}
	p, err := v.Uint()
	if err != nil {
		return value.Value{}, err
	}
	return e.vals.Typed(t, p, ""), nil
}

// complete replaces a declaration-only struct or union (what a pointer
// leads to in a unit that never defines it, such as init_task's
// sched_class) by its definition, found by name as gdb finds it; a
// qualifier around it is kept.
func (e *ceval) complete(t dwarf.Type) dwarf.Type {
	qual, inner := "", t
	if q, ok := t.(*dwarf.QualType); ok {
		qual, inner = q.Qual, q.Type
	}
	st, ok := dwarfsym.Strip(inner).(*dwarf.StructType)
	if !ok || !st.Incomplete || st.StructName == "" {
		return t
	}
	full, err := e.s.info().Type(st.Kind + " " + st.StructName)
	if err != nil {
		return t
	}
	if qual != "" {
		return &dwarf.QualType{CommonType: dwarf.CommonType{ByteSize: full.Size()}, Qual: qual, Type: full}
	}
	return full
}

// cint is an integer operand after C's conversions.
type cint struct {
	n      uint64 // the bits, sign-extended for signed types
	size   int64  // 4 or 8
	signed bool
}

func (i cint) typ() dwarf.Type {
	switch {
	case i.size == 8 && i.signed:
		return cLongType
	case i.size == 8:
		return cUlongType
	case i.signed:
		return cIntType
	}
	return cUintType
}

// intOf reads a scalar as an integer promoted as C promotes it: small
// types to int, pointers, arrays and functions as their address.
func (e *ceval) intOf(v value.Value) (cint, error) {
	t := dwarfsym.Strip(v.Type)
	switch u := t.(type) {
	case *dwarf.ArrayType, *dwarf.FuncType:
		return cint{n: v.Addr, size: 8}, nil
	case *dwarf.PtrType:
		n, err := e.uintOf(v)
		return cint{n: n, size: 8}, err
	case *dwarf.StructType:
		return cint{}, fmt.Errorf("Argument to arithmetic operation not a number or boolean.")
	case *dwarf.VoidType:
		return cint{}, fmt.Errorf("Argument to arithmetic operation not a number or boolean.")
	case *dwarf.FloatType:
		return cint{}, errors.New("floating-point values are not supported")
	case *dwarf.EnumType:
		n, err := e.uintOf(v)
		size := max(u.ByteSize, 4)
		signed := false
		for _, val := range u.Val {
			if val.Val < 0 {
				signed = true
			}
		}
		if signed {
			n = uint64(sext(n, u.ByteSize))
		}
		return cint{n: n, size: size, signed: signed || size < 8 && u.ByteSize < 4}, err
	}
	size := t.Size()
	signed := isSignedType(t)
	n, err := e.uintOf(v)
	if err != nil {
		return cint{}, err
	}
	if signed {
		n = uint64(sext(n, size))
	}
	if size < 4 {
		return cint{n: n, size: 4, signed: true}, nil
	}
	return cint{n: n, size: size, signed: signed}, nil
}

func (e *ceval) uintOf(v value.Value) (uint64, error) {
	if e.typeOnly && !v.IsConstant() {
		return 0, nil
	}
	return v.Uint()
}

func isSignedType(t dwarf.Type) bool {
	switch t.(type) {
	case *dwarf.IntType, *dwarf.CharType:
		return true
	}
	return false
}

func sext(n uint64, size int64) int64 {
	if size <= 0 || size >= 8 {
		return int64(n)
	}
	shift := uint(64 - 8*size)
	return int64(n<<shift) >> shift
}

func (e *ceval) intValue(i cint) value.Value {
	return e.constInt(i.typ(), i.n, "")
}

// cast converts v to t: integers are truncated or extended, pointers and
// integers converted into each other; objects keep their address when
// cast to a type of another object (as gdb allows for lvalues).
func (e *ceval) cast(v value.Value, t dwarf.Type) (value.Value, error) {
	switch dwarfsym.Strip(t).(type) {
	case *dwarf.StructType, *dwarf.ArrayType:
		if v.IsConstant() {
			return value.Value{}, errors.New("Invalid cast.")
		}
		return e.vals.Typed(t, v.Addr, ""), nil
	case *dwarf.VoidType:
		return e.vals.Constant(t, nil, ""), nil
	case *dwarf.BoolType:
		i, err := e.intOf(v)
		if err != nil {
			return value.Value{}, err
		}
		return e.constInt(t, map[bool]uint64{true: 1}[i.n != 0], ""), nil
	}
	i, err := e.intOf(v)
	if err != nil {
		return value.Value{}, err
	}
	return e.constInt(t, i.n, ""), nil
}

func (e *ceval) unary(x *cexpr) (value.Value, error) {
	v, err := e.eval(x.kids[0])
	if err != nil {
		return value.Value{}, err
	}
	switch x.text {
	case "*":
		switch u := dwarfsym.Strip(v.Type).(type) {
		case *dwarf.PtrType:
			return e.deref(v, u)
		case *dwarf.ArrayType:
			return e.vals.Typed(u.Type, v.Addr, ""), nil
		case *dwarf.FuncType:
			return v, nil
		}
		// gdb dereferences an integer as a long (an address).
		i, err := e.intOf(v)
		if err != nil {
			return value.Value{}, err
		}
		return e.vals.Typed(cLongType, i.n, ""), nil
	case "&":
		if v.IsConstant() {
			return value.Value{}, errors.New("Attempt to take address of value not located in memory.")
		}
		pt := &dwarf.PtrType{CommonType: dwarf.CommonType{ByteSize: 8}, Type: v.Type}
		return e.constInt(pt, v.Addr, ""), nil
	}
	i, err := e.intOf(v)
	if err != nil {
		return value.Value{}, err
	}
	switch x.text {
	case "-":
		i.n = -i.n
	case "~":
		i.n = ^i.n
	case "!":
		return e.intValue(cint{n: map[bool]uint64{true: 1}[i.n == 0], size: 4, signed: true}), nil
	}
	return e.intValue(i.norm()), nil
}

// norm truncates to the operand's size and sign-extends signed values.
func (i cint) norm() cint {
	if i.size == 4 {
		if i.signed {
			i.n = uint64(int64(int32(i.n)))
		} else {
			i.n = uint64(uint32(i.n))
		}
	}
	return i
}

// pointee is the element size pointer arithmetic scales by: 1 for void
// and functions, as gdb does.
func pointee(t dwarf.Type) (dwarf.Type, int64, bool) {
	pt, ok := dwarfsym.Strip(t).(*dwarf.PtrType)
	if !ok {
		return nil, 0, false
	}
	if pt.Type == nil {
		return t, 1, true
	}
	switch dwarfsym.Strip(pt.Type).(type) {
	case *dwarf.VoidType, *dwarf.FuncType:
		return t, 1, true
	}
	if s := pt.Type.Size(); s > 0 {
		return t, s, true
	}
	return t, 1, true
}

// decay turns an array into a pointer to its first element, as C does in
// arithmetic.
func (e *ceval) decay(v value.Value) value.Value {
	if at, ok := dwarfsym.Strip(v.Type).(*dwarf.ArrayType); ok && !v.IsConstant() {
		pt := &dwarf.PtrType{CommonType: dwarf.CommonType{ByteSize: 8}, Type: at.Type}
		return e.constInt(pt, v.Addr, "")
	}
	return v
}

func (e *ceval) binary(x *cexpr) (value.Value, error) {
	a, err := e.eval(x.kids[0])
	if err != nil {
		return value.Value{}, err
	}
	if x.text == "&&" || x.text == "||" {
		ai, err := e.intOf(a)
		if err != nil {
			return value.Value{}, err
		}
		if (x.text == "&&") == (ai.n == 0) {
			return e.intValue(cint{n: map[bool]uint64{true: 1}[x.text == "||"], size: 4, signed: true}), nil
		}
		b, err := e.eval(x.kids[1])
		if err != nil {
			return value.Value{}, err
		}
		bi, err := e.intOf(b)
		if err != nil {
			return value.Value{}, err
		}
		return e.intValue(cint{n: map[bool]uint64{true: 1}[bi.n != 0], size: 4, signed: true}), nil
	}
	b, err := e.eval(x.kids[1])
	if err != nil {
		return value.Value{}, err
	}
	a, b = e.decay(a), e.decay(b)
	// Pointer arithmetic.
	pa, sa, aPtr := pointee(a.Type)
	_, sb, bPtr := pointee(b.Type)
	ai, err := e.intOf(a)
	if err != nil {
		return value.Value{}, err
	}
	bi, err := e.intOf(b)
	if err != nil {
		return value.Value{}, err
	}
	switch {
	case aPtr && bPtr && x.text == "-":
		return e.intValue(cint{n: uint64((int64(ai.n) - int64(bi.n)) / sa), size: 8, signed: true}), nil
	case aPtr && !bPtr && (x.text == "+" || x.text == "-"):
		off := bi.n * uint64(sa)
		if x.text == "-" {
			off = -off
		}
		return e.constInt(pa, ai.n+off, ""), nil
	case bPtr && !aPtr && x.text == "+":
		return e.constInt(b.Type, bi.n+ai.n*uint64(sb), ""), nil
	}
	// The usual arithmetic conversions.
	r := cint{size: max(ai.size, bi.size)}
	switch {
	case ai.size == bi.size:
		r.signed = ai.signed && bi.signed
	case ai.size > bi.size:
		r.signed = ai.signed
	default:
		r.signed = bi.signed
	}
	if aPtr || bPtr {
		r.signed = false
	}
	l, rr := ai.n, bi.n
	if r.size == 4 && !r.signed {
		l, rr = uint64(uint32(l)), uint64(uint32(rr))
	}
	less := func() bool {
		if r.signed {
			return int64(l) < int64(rr)
		}
		return l < rr
	}
	boolean := func(b bool) (value.Value, error) {
		return e.intValue(cint{n: map[bool]uint64{true: 1}[b], size: 4, signed: true}), nil
	}
	switch x.text {
	case "==":
		return boolean(l == rr)
	case "!=":
		return boolean(l != rr)
	case "<":
		return boolean(less())
	case ">=":
		return boolean(!less())
	case ">":
		return boolean(l != rr && !less())
	case "<=":
		return boolean(l == rr || less())
	case "+":
		r.n = l + rr
	case "-":
		r.n = l - rr
	case "*":
		r.n = l * rr
	case "/", "%":
		if rr == 0 {
			return value.Value{}, errors.New("Division by zero")
		}
		if r.signed {
			q, m := int64(l)/int64(rr), int64(l)%int64(rr)
			r.n = uint64(q)
			if x.text == "%" {
				r.n = uint64(m)
			}
		} else if x.text == "/" {
			r.n = l / rr
		} else {
			r.n = l % rr
		}
	case "&":
		r.n = l & rr
	case "|":
		r.n = l | rr
	case "^":
		r.n = l ^ rr
	case "<<", ">>":
		// The result has the promoted left operand's type.
		r = ai
		if x.text == "<<" {
			r.n = l << (rr & 63)
		} else if r.signed {
			r.n = uint64(int64(l) >> (rr & 63))
		} else {
			r.n = l >> (rr & 63)
		}
	default:
		return value.Value{}, fmt.Errorf("unknown operator %s", x.text)
	}
	return e.intValue(r.norm()), nil
}

// evalC evaluates text as a C expression.
func (s *Session) evalC(text string, typeOnly bool) (value.Value, error) {
	vals, err := s.Values()
	if err != nil {
		return value.Value{}, err
	}
	x, err := s.parseC(text)
	if err != nil {
		return value.Value{}, err
	}
	e := &ceval{s: s, vals: vals, typeOnly: typeOnly}
	return e.eval(x)
}
