package ktype

import (
	"debug/dwarf"
	"fmt"
	"strings"
)

// Member is a struct or union member found by path.
type Member struct {
	Name      string
	Type      dwarf.Type
	Offset    int64 // bytes from the start of the outermost type
	BitSize   int64 // non-zero for bitfields
	BitOffset int64 // bitfields: bits from Offset to the field's lowest bit (0-7)
}

// Strip removes typedefs and qualifiers (const, volatile, restrict).
func Strip(t dwarf.Type) dwarf.Type {
	for range 64 {
		switch v := t.(type) {
		case *dwarf.TypedefType:
			t = v.Type
		case *dwarf.QualType:
			t = v.Type
		default:
			return t
		}
	}
	return t
}

// FieldBits returns where a struct field starts: its byte offset and, for
// a bitfield, the offset of its lowest bit within that byte (0-7). It reads
// DWARF 4+ DW_AT_data_bit_offset and the older big-endian DW_AT_bit_offset
// (little-endian targets only).
func FieldBits(f *dwarf.StructField) (byteOff, bitOff int64) {
	if f.BitSize == 0 {
		return f.ByteOffset, 0
	}
	var abs int64
	// The older form comes with the storage unit's DW_AT_byte_size (gcc
	// 10's DWARF 4, for 5.10); its bit offset is 0 for the unit's top bit.
	if f.BitOffset != 0 || f.ByteSize != 0 {
		unit := f.ByteSize
		if unit == 0 && f.Type != nil {
			unit = f.Type.Size()
		}
		abs = f.ByteOffset*8 + unit*8 - f.BitOffset - f.BitSize
	} else {
		abs = f.ByteOffset*8 + f.DataBitOffset
	}
	return abs / 8, abs % 8
}

// FindMember resolves a member path such as "se.on_rq" or "tasks.next" in
// the struct or union type t, looking inside anonymous structs and unions
// as C does. Array indexes ("pids[1]") are accepted on array members.
func FindMember(t dwarf.Type, path string) (Member, error) {
	var m Member
	cur := t
	for _, part := range strings.Split(path, ".") {
		idx := -1
		name := part
		if i := strings.IndexByte(part, '['); i >= 0 && strings.HasSuffix(part, "]") {
			name = part[:i]
			if _, err := fmt.Sscanf(part[i:], "[%d]", &idx); err != nil || idx < 0 {
				return m, fmt.Errorf("bad index in %q", part)
			}
		}
		st, ok := Strip(cur).(*dwarf.StructType)
		if !ok {
			return m, fmt.Errorf("%s is not a struct or union, so it has no member %q", typeName(cur), name)
		}
		budget := 1 << 12
		f, off, ok := findField(st, name, 0, &budget)
		if !ok {
			return m, fmt.Errorf("%s has no member %q", typeName(cur), name)
		}
		byteOff, bitOff := FieldBits(f)
		m.Name = name
		m.Offset += off + byteOff
		m.Type = f.Type
		m.BitSize = f.BitSize
		m.BitOffset = bitOff
		cur = f.Type
		if idx >= 0 {
			at, ok := Strip(cur).(*dwarf.ArrayType)
			if !ok {
				return m, fmt.Errorf("member %s is not an array", name)
			}
			if at.Count >= 0 && int64(idx) >= at.Count {
				return m, fmt.Errorf("index %d out of range for %s[%d]", idx, name, at.Count)
			}
			m.Offset += int64(idx) * at.Type.Size()
			m.Type = at.Type
			cur = at.Type
		}
	}
	return m, nil
}

// findField looks for name among st's fields and inside its anonymous
// struct and union members, returning the offset of the anonymous members
// crossed on the way (0 for a direct member).
func findField(st *dwarf.StructType, name string, depth int, budget *int) (*dwarf.StructField, int64, bool) {
	if depth > 16 || *budget <= 0 {
		return nil, 0, false
	}
	*budget -= len(st.Field) + 1
	for _, f := range st.Field {
		if f.Name == name {
			return f, 0, true
		}
	}
	for _, f := range st.Field {
		if f.Name != "" {
			continue
		}
		if inner, ok := Strip(f.Type).(*dwarf.StructType); ok {
			if g, off, ok := findField(inner, name, depth+1, budget); ok {
				return g, f.ByteOffset + off, true
			}
		}
	}
	return nil, 0, false
}

func typeName(t dwarf.Type) string { return Declare(t, "") }

// EnumValue returns the value of the enumerator name in the enum type t
// (typedefs and qualifiers stripped); false when t is no enum or has no
// such enumerator.
func EnumValue(t dwarf.Type, name string) (int64, bool) {
	et, ok := Strip(t).(*dwarf.EnumType)
	if !ok {
		return 0, false
	}
	for _, v := range et.Val {
		if v.Name == name {
			return v.Val, true
		}
	}
	return 0, false
}
