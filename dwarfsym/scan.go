package dwarfsym

import (
	"debug/dwarf"
	"encoding/binary"
	"fmt"
	"slices"
	"sync"
)

// This file is a small DWARF reader of its own, used only to index names:
// it reads unit headers and abbreviation tables and steps over attributes by
// their form, decoding nothing but DW_AT_name, DW_AT_declaration and
// DW_AT_sibling. It never allocates per entry, which makes it several times
// faster than debug/dwarf's Reader for this one job.

// DWARF attribute forms (DWARF 5, section 7.5.6, plus GNU extensions).
const (
	formAddr          = 0x01
	formBlock2        = 0x03
	formBlock4        = 0x04
	formData2         = 0x05
	formData4         = 0x06
	formData8         = 0x07
	formString        = 0x08
	formBlock         = 0x09
	formBlock1        = 0x0a
	formData1         = 0x0b
	formFlag          = 0x0c
	formSdata         = 0x0d
	formStrp          = 0x0e
	formUdata         = 0x0f
	formRefAddr       = 0x10
	formRef1          = 0x11
	formRef2          = 0x12
	formRef4          = 0x13
	formRef8          = 0x14
	formRefUdata      = 0x15
	formIndirect      = 0x16
	formSecOffset     = 0x17
	formExprloc       = 0x18
	formFlagPresent   = 0x19
	formStrx          = 0x1a
	formAddrx         = 0x1b
	formRefSup4       = 0x1c
	formStrpSup       = 0x1d
	formData16        = 0x1e
	formLineStrp      = 0x1f
	formRefSig8       = 0x20
	formImplicitConst = 0x21
	formLoclistx      = 0x22
	formRnglistx      = 0x23
	formRefSup8       = 0x24
	formStrx1         = 0x25
	formStrx2         = 0x26
	formStrx3         = 0x27
	formStrx4         = 0x28
	formAddrx1        = 0x29
	formAddrx2        = 0x2a
	formAddrx3        = 0x2b
	formAddrx4        = 0x2c
	formGNUAddrIndex  = 0x1f01
	formGNUStrIndex   = 0x1f02
	formGNURefAlt     = 0x1f20
	formGNUStrpAlt    = 0x1f21
)

type unitHeader struct {
	off       uint64 // offset of the unit header in .debug_info
	dieOff    uint64 // offset of the unit's first entry
	end       uint64 // offset just past the unit
	vers      int
	is64      bool
	asize     int
	abbrevOff uint64
}

// parseUnitAt reads the header of the unit at off.
func parseUnitAt(info []byte, off uint64, bo binary.ByteOrder) (unitHeader, error) {
	n := uint64(len(info))
	u := unitHeader{off: off}
	if off >= n || n-off < 4 {
		return u, &FormatError{".debug_info", off, "truncated unit header"}
	}
	length := uint64(bo.Uint32(info[off:]))
	p := off + 4
	if length == 0xffffffff {
		if n-p < 8 {
			return u, &FormatError{".debug_info", off, "truncated 64-bit unit length"}
		}
		length = bo.Uint64(info[p:])
		p += 8
		u.is64 = true
	} else if length >= 0xfffffff0 {
		return u, &FormatError{".debug_info", off, fmt.Sprintf("reserved unit length %#x", length)}
	}
	if length > n-p {
		return u, &FormatError{".debug_info", off, fmt.Sprintf("unit length %#x runs past the end of the section", length)}
	}
	u.end = p + length
	if length < 2 {
		return u, &FormatError{".debug_info", off, "unit too short for a version"}
	}
	u.vers = int(bo.Uint16(info[p:]))
	p += 2
	offSize := uint64(4)
	if u.is64 {
		offSize = 8
	}
	readOff := func() (uint64, bool) {
		if u.end-p < offSize {
			return 0, false
		}
		var v uint64
		if u.is64 {
			v = bo.Uint64(info[p:])
		} else {
			v = uint64(bo.Uint32(info[p:]))
		}
		p += offSize
		return v, true
	}
	var ok bool
	switch {
	case u.vers >= 2 && u.vers <= 4:
		if u.abbrevOff, ok = readOff(); !ok || u.end-p < 1 {
			return u, &FormatError{".debug_info", off, "truncated unit header"}
		}
		u.asize = int(info[p])
		p++
	case u.vers == 5:
		if u.end-p < 2 {
			return u, &FormatError{".debug_info", off, "truncated unit header"}
		}
		utype := info[p]
		u.asize = int(info[p+1])
		p += 2
		if u.abbrevOff, ok = readOff(); !ok {
			return u, &FormatError{".debug_info", off, "truncated unit header"}
		}
		switch utype {
		case 2, 6: // type units: signature and type offset
			p += 8 + offSize
		case 4, 5: // skeleton and split units: DWO id
			p += 8
		}
		if p > u.end {
			return u, &FormatError{".debug_info", off, "truncated unit header"}
		}
	default:
		return u, &FormatError{".debug_info", off, fmt.Sprintf("unsupported DWARF version %d", u.vers)}
	}
	if u.asize != 4 && u.asize != 8 {
		return u, &FormatError{".debug_info", off, fmt.Sprintf("unsupported address size %d", u.asize)}
	}
	u.dieOff = p
	return u, nil
}

type attrSpec struct {
	attr     uint32
	form     uint32
	implicit int64
}

type abbrev struct {
	tag      uint32
	children bool
	attrs    []attrSpec
}

type abbrevTable struct {
	dense  []abbrev // by code, when codes are small
	sparse map[uint64]*abbrev
}

func (t *abbrevTable) get(code uint64) *abbrev {
	if code < uint64(len(t.dense)) {
		a := &t.dense[code]
		if a.tag != 0 {
			return a
		}
		return nil
	}
	return t.sparse[code]
}

// maxAbbrevs bounds one table: a corrupt table must not make us allocate
// without end.
const maxAbbrevCode = 1 << 16

func parseAbbrevTable(data []byte, off uint64) (*abbrevTable, error) {
	if off >= uint64(len(data)) {
		return nil, &FormatError{".debug_abbrev", off, "abbreviation table offset past the end of the section"}
	}
	b := reader{data: data, off: off, name: ".debug_abbrev"}
	t := &abbrevTable{}
	for {
		code := b.uleb()
		if b.err != nil {
			return nil, b.err
		}
		if code == 0 {
			return t, nil
		}
		var a abbrev
		a.tag = uint32(b.uleb())
		a.children = b.u8() == 1
		for {
			at := b.uleb()
			fm := b.uleb()
			if b.err != nil {
				return nil, b.err
			}
			if at == 0 && fm == 0 {
				break
			}
			s := attrSpec{attr: uint32(at), form: uint32(fm)}
			if fm == formImplicitConst {
				s.implicit = b.sleb()
			}
			a.attrs = append(a.attrs, s)
			if len(a.attrs) > 1024 {
				return nil, &FormatError{".debug_abbrev", b.off, "abbreviation with more than 1024 attributes"}
			}
		}
		if code < maxAbbrevCode {
			if code >= uint64(len(t.dense)) {
				t.dense = slices.Grow(t.dense, int(code)+1-len(t.dense))[:code+1]
			}
			t.dense[code] = a
		} else {
			if t.sparse == nil {
				t.sparse = map[uint64]*abbrev{}
			}
			t.sparse[code] = &a
		}
	}
}

// reader decodes one section with sticky errors.
type reader struct {
	data []byte
	off  uint64
	name string
	err  error
}

func (r *reader) fail(msg string) {
	if r.err == nil {
		r.err = &FormatError{r.name, r.off, msg}
	}
	r.off = uint64(len(r.data))
}

func (r *reader) need(n uint64) bool {
	if r.err != nil {
		return false
	}
	if uint64(len(r.data))-r.off < n || r.off > uint64(len(r.data)) {
		r.fail("unexpected end of data")
		return false
	}
	return true
}

func (r *reader) u8() byte {
	if !r.need(1) {
		return 0
	}
	v := r.data[r.off]
	r.off++
	return v
}

func (r *reader) skip(n uint64) {
	if r.need(n) {
		r.off += n
	}
}

func (r *reader) uleb() uint64 {
	var v uint64
	var shift uint
	for {
		if r.off >= uint64(len(r.data)) {
			r.fail("truncated LEB128")
			return 0
		}
		c := r.data[r.off]
		r.off++
		if shift < 64 {
			v |= uint64(c&0x7f) << shift
		}
		shift += 7
		if c&0x80 == 0 {
			return v
		}
	}
}

func (r *reader) sleb() int64 {
	var v int64
	var shift uint
	for {
		if r.off >= uint64(len(r.data)) {
			r.fail("truncated LEB128")
			return 0
		}
		c := r.data[r.off]
		r.off++
		if shift < 64 {
			v |= int64(c&0x7f) << shift
		}
		shift += 7
		if c&0x80 == 0 {
			if shift < 64 && c&0x40 != 0 {
				v |= -1 << shift
			}
			return v
		}
	}
}

func (r *reader) uint(n uint64, bo binary.ByteOrder) uint64 {
	if !r.need(n) {
		return 0
	}
	b := r.data[r.off:]
	r.off += n
	switch n {
	case 1:
		return uint64(b[0])
	case 2:
		return uint64(bo.Uint16(b))
	case 3:
		if bo == binary.BigEndian {
			return uint64(b[0])<<16 | uint64(b[1])<<8 | uint64(b[2])
		}
		return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16
	case 4:
		return uint64(bo.Uint32(b))
	case 8:
		return bo.Uint64(b)
	}
	return 0
}

// dieKind is what the index records of a top-level entry.
type dieKind uint8

const (
	kindNone dieKind = iota
	kindStruct
	kindUnion
	kindEnum
	kindTypedef
	kindBase
	kindVar
	kindFunc
)

func kindOfTag(tag uint32) dieKind {
	switch dwarf.Tag(tag) {
	case dwarf.TagStructType:
		return kindStruct
	case dwarf.TagUnionType:
		return kindUnion
	case dwarf.TagEnumerationType:
		return kindEnum
	case dwarf.TagTypedef:
		return kindTypedef
	case dwarf.TagBaseType:
		return kindBase
	case dwarf.TagVariable:
		return kindVar
	case dwarf.TagSubprogram:
		return kindFunc
	}
	return kindNone
}

// named is one indexed entry.
type named struct {
	kind dieKind
	decl bool
	name string
	off  uint64
}

// scanner holds what scanning a unit needs; it is shared read-only.
type scanner struct {
	bo      binary.ByteOrder
	info    []byte
	abbrev  []byte
	str     []byte
	lineStr []byte
	strOffs []byte

	abMu sync.Mutex
	abs  map[uint64]*abbrevTable
}

func (s *scanner) table(off uint64) (*abbrevTable, error) {
	s.abMu.Lock()
	t, ok := s.abs[off]
	s.abMu.Unlock()
	if ok {
		return t, nil
	}
	t, err := parseAbbrevTable(s.abbrev, off)
	if err != nil {
		return nil, err
	}
	s.abMu.Lock()
	s.abs[off] = t
	s.abMu.Unlock()
	return t, nil
}

func cstring(b []byte, off uint64) (string, bool) {
	if off >= uint64(len(b)) {
		return "", false
	}
	b = b[off:]
	for i, c := range b {
		if c == 0 {
			return string(b[:i]), true
		}
	}
	return "", false
}

// scanUnit lists the named top-level entries of unit u.
func (s *scanner) scanUnit(u unitHeader, out []named) ([]named, error) {
	t, err := s.table(u.abbrevOff)
	if err != nil {
		return out, err
	}
	r := reader{data: s.info[:u.end], off: u.dieOff, name: ".debug_info"}
	// About one named top-level entry per 200 bytes of a kernel unit.
	out = slices.Grow(out, int(min((u.end-u.dieOff)/200, 1<<16)))
	offSize := uint64(4)
	if u.is64 {
		offSize = 8
	}
	var strOffBase uint64 = 8 // DWARF 5 default: just past the section header
	depth := 0
	for r.off < u.end && r.err == nil {
		dieOff := r.off
		code := r.uleb()
		if code == 0 {
			depth--
			if depth <= 0 {
				break
			}
			continue
		}
		a := t.get(code)
		if a == nil {
			return out, &FormatError{".debug_info", dieOff, fmt.Sprintf("unknown abbreviation code %d", code)}
		}
		var (
			name     string
			hasName  bool
			strxName = -1
			decl     bool
			sibling  uint64
			spec     uint64
		)
		for _, sp := range a.attrs {
			form := uint64(sp.form)
			if form == formIndirect {
				form = r.uleb()
			}
			v, str, known := s.readForm(&r, form, u, offSize)
			if !known {
				return out, &FormatError{".debug_info", dieOff, fmt.Sprintf("unknown attribute form %#x", form)}
			}
			if form == formString && sp.attr == uint32(dwarf.AttrName) && r.err == nil {
				name, hasName = string(str), true
			}
			if form == formImplicitConst {
				v = uint64(sp.implicit)
			}
			switch dwarf.Attr(sp.attr) {
			case dwarf.AttrName:
				switch form {
				case formStrp:
					name, hasName = cstring(s.str, v)
				case formLineStrp:
					name, hasName = cstring(s.lineStr, v)
				case formStrx, formStrx1, formStrx2, formStrx3, formStrx4, formGNUStrIndex:
					strxName = int(min(v, 1<<30))
				}
			case dwarf.AttrDeclaration:
				decl = v != 0
			case dwarf.AttrSpecification:
				switch form {
				case formRefAddr:
					spec = v
				case formRef1, formRef2, formRef4, formRef8, formRefUdata:
					spec = u.off + v
				}
			case dwarf.AttrSibling:
				switch form {
				case formRefAddr:
					sibling = v
				case formRef1, formRef2, formRef4, formRef8, formRefUdata:
					sibling = u.off + v
				}
			case dwarf.AttrStrOffsetsBase:
				if depth == 0 {
					strOffBase = v
				}
			}
		}
		if r.err != nil {
			break
		}
		if strxName >= 0 && len(s.strOffs) > 0 {
			p := strOffBase + uint64(strxName)*offSize
			if p+offSize <= uint64(len(s.strOffs)) {
				var so uint64
				if offSize == 8 {
					so = s.bo.Uint64(s.strOffs[p:])
				} else {
					so = uint64(s.bo.Uint32(s.strOffs[p:]))
				}
				name, hasName = cstring(s.str, so)
			}
		}
		if depth == 0 {
			// The unit entry itself.
			if !a.children {
				break
			}
			depth = 1
			continue
		}
		if depth == 1 && !hasName && spec > u.off && spec < dieOff {
			// A definition completing an earlier declaration of this
			// unit ("extern int x[]; int x[4];") carries no name of its
			// own: it is the declaration's.
			name, hasName = s.nameAt(u, t, spec)
			decl = false
		}
		if depth == 1 && hasName {
			if k := kindOfTag(a.tag); k != kindNone {
				out = append(out, named{kind: k, decl: decl, name: name, off: dieOff})
			}
		}
		if a.children {
			if sibling > r.off && sibling <= u.end && depth == 1 {
				r.off = sibling
				continue
			}
			depth++
		}
	}
	if r.err != nil {
		return out, r.err
	}
	return out, nil
}

// nameAt reads DW_AT_name of the entry at off in unit u (strp, line_strp
// and inline strings; other forms give no name).
func (s *scanner) nameAt(u unitHeader, t *abbrevTable, off uint64) (string, bool) {
	r := reader{data: s.info[:u.end], off: off, name: ".debug_info"}
	a := t.get(r.uleb())
	if a == nil || r.err != nil {
		return "", false
	}
	offSize := uint64(4)
	if u.is64 {
		offSize = 8
	}
	for _, sp := range a.attrs {
		form := uint64(sp.form)
		if form == formIndirect {
			form = r.uleb()
		}
		if sp.attr == uint32(dwarf.AttrName) {
			switch form {
			case formStrp:
				return cstring(s.str, r.uint(offSize, s.bo))
			case formLineStrp:
				return cstring(s.lineStr, r.uint(offSize, s.bo))
			case formString:
				return cstring(r.data, r.off)
			}
			return "", false
		}
		if _, _, known := s.readForm(&r, form, u, offSize); !known || r.err != nil {
			return "", false
		}
	}
	return "", false
}

// readForm reads one attribute value: v holds constants, references,
// offsets and indexes, str an inline string (DW_FORM_string, without its
// NUL); blocks and signed constants are stepped over. known is false for a
// form this scanner does not know; a read past the data sets r.err. One
// decoder serves the index scan and the name lookup.
func (s *scanner) readForm(r *reader, form uint64, u unitHeader, offSize uint64) (v uint64, str []byte, known bool) {
	switch form {
	case formAddr:
		r.skip(uint64(u.asize))
	case formBlock1:
		r.skip(r.uint(1, s.bo))
	case formBlock2:
		r.skip(r.uint(2, s.bo))
	case formBlock4:
		r.skip(r.uint(4, s.bo))
	case formBlock, formExprloc:
		r.skip(r.uleb())
	case formData1, formRef1, formFlag, formStrx1, formAddrx1:
		v = r.uint(1, s.bo)
	case formData2, formRef2, formStrx2, formAddrx2:
		v = r.uint(2, s.bo)
	case formStrx3, formAddrx3:
		v = r.uint(3, s.bo)
	case formData4, formRef4, formRefSup4, formStrx4, formAddrx4:
		v = r.uint(4, s.bo)
	case formData8, formRef8, formRefSig8, formRefSup8:
		v = r.uint(8, s.bo)
	case formData16:
		r.skip(16)
	case formSdata:
		r.sleb()
	case formUdata, formRefUdata, formStrx, formAddrx, formLoclistx, formRnglistx, formGNUAddrIndex, formGNUStrIndex:
		v = r.uleb()
	case formString:
		start, end := r.off, min(u.end, uint64(len(r.data)))
		for r.off < end && r.data[r.off] != 0 {
			r.off++
		}
		if r.off >= end {
			r.fail("unterminated string")
			break
		}
		str = r.data[start:r.off]
		r.off++
	case formStrp, formLineStrp, formSecOffset, formStrpSup, formGNURefAlt, formGNUStrpAlt:
		v = r.uint(offSize, s.bo)
	case formRefAddr:
		if u.vers == 2 {
			v = r.uint(uint64(u.asize), s.bo)
		} else {
			v = r.uint(offSize, s.bo)
		}
	case formFlagPresent:
		v = 1
	case formImplicitConst:
	default:
		return 0, nil, false
	}
	return v, str, true
}
