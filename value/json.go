package value

import (
	"bytes"
	"debug/dwarf"
	"encoding/json"
	"fmt"
	"math"
	"strconv"

	"github.com/vmcoretools/vmcore/ktype"
)

// MarshalJSON renders the value as JSON, read once from memory:
//   - a struct or union is an object of its members in order, the members
//     of an anonymous struct or union among them;
//   - a pointer, and an unsigned integer of 64 bits, is a hexadecimal
//     string ("0xffff8ad0411f8000"): exact where JSON numbers are not;
//   - any other integer, a char, a bitfield and a float is a number;
//   - a bool is a boolean, an enum the enumerator's name (its number when
//     no enumerator has that value);
//   - a char array is the string up to its first NUL, any other array a
//     JSON array (a flexible array member is empty: its length is unknown).
//
// A value of more than 65,536 nodes (a corrupt type) ends with null.
func (v Value) MarshalJSON() ([]byte, error) {
	if v.bitSize != 0 {
		if signed(v.stripped()) {
			i, err := v.Int()
			if err != nil {
				return nil, err
			}
			return strconv.AppendInt(nil, i, 10), nil
		}
		u, err := v.Uint()
		if err != nil {
			return nil, err
		}
		if e, ok := v.stripped().(*dwarf.EnumType); ok {
			return json.Marshal(enumName(e, u))
		}
		return strconv.AppendUint(nil, u, 10), nil
	}
	b, err := v.Bytes()
	if err != nil {
		return nil, err
	}
	j := jsonWriter{c: v.c}
	j.value(v.Type, b)
	return j.buf.Bytes(), nil
}

// MembersJSON renders the named members of v (paths as Member takes them)
// as one JSON object keyed by those paths.
func (v Value) MembersJSON(paths []string) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, p := range paths {
		m, err := v.Member(p)
		if err != nil {
			return nil, err
		}
		b, err := m.MarshalJSON()
		if err != nil {
			return nil, err
		}
		if i > 0 {
			buf.WriteByte(',')
		}
		k, _ := json.Marshal(p)
		buf.Write(k)
		buf.WriteByte(':')
		buf.Write(b)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

type jsonWriter struct {
	c   *Context
	buf bytes.Buffer
	n   int
}

func (j *jsonWriter) uint(b []byte) uint64 {
	p := printer{c: j.c}
	return p.uint(b)
}

func (j *jsonWriter) value(t dwarf.Type, b []byte) {
	if j.n++; j.n > maxNodes {
		j.buf.WriteString("null")
		return
	}
	switch u := ktype.Strip(t).(type) {
	case *dwarf.StructType:
		j.buf.WriteByte('{')
		j.members(u, b, true)
		j.buf.WriteByte('}')
	case *dwarf.ArrayType:
		j.array(u, b)
	case *dwarf.PtrType, *dwarf.FuncType:
		fmt.Fprintf(&j.buf, `"%#x"`, j.uint(b))
	case *dwarf.EnumType:
		x := j.uint(b)
		name, _ := json.Marshal(enumName(u, x))
		j.buf.Write(name)
	case *dwarf.BoolType:
		j.buf.WriteString(strconv.FormatBool(j.uint(b) != 0))
	case *dwarf.FloatType:
		f := 0.0
		switch len(b) {
		case 4:
			f = float64(math.Float32frombits(uint32(j.uint(b))))
		case 8:
			f = math.Float64frombits(j.uint(b))
		}
		if math.IsInf(f, 0) || math.IsNaN(f) {
			j.buf.WriteString("null")
			return
		}
		j.buf.WriteString(strconv.FormatFloat(f, 'g', -1, 64))
	case *dwarf.IntType:
		j.buf.WriteString(strconv.FormatInt(int64(signExtend(j.uint(b), len(b))), 10))
	case *dwarf.CharType:
		j.buf.WriteString(strconv.FormatInt(int64(signExtend(j.uint(b), len(b))), 10))
	case *dwarf.UintType, *dwarf.AddrType, *dwarf.UcharType, *dwarf.UnspecifiedType:
		if len(b) >= 8 {
			fmt.Fprintf(&j.buf, `"%#x"`, j.uint(b))
			return
		}
		j.buf.WriteString(strconv.FormatUint(j.uint(b), 10))
	default:
		j.buf.WriteString("null")
	}
}

// members writes a struct's members as object fields; first tells that
// no field has been written yet. It returns whether any was.
func (j *jsonWriter) members(st *dwarf.StructType, b []byte, first bool) bool {
	for _, f := range st.Field {
		byteOff, bitOff := ktype.FieldBits(f)
		size := f.Type.Size()
		if f.Name == "" {
			// An anonymous struct or union: its members are the parent's.
			if inner, ok := ktype.Strip(f.Type).(*dwarf.StructType); ok && byteOff >= 0 && size >= 0 && byteOff+size <= int64(len(b)) {
				if j.members(inner, b[byteOff:byteOff+size], first) {
					first = false
				}
			}
			continue
		}
		if !first {
			j.buf.WriteByte(',')
		}
		first = false
		k, _ := json.Marshal(f.Name)
		j.buf.Write(k)
		j.buf.WriteByte(':')
		switch {
		case f.BitSize != 0:
			nb := (bitOff + f.BitSize + 7) / 8
			if byteOff < 0 || byteOff+nb > int64(len(b)) || nb > 8 {
				j.buf.WriteString("null")
				break
			}
			raw := j.uint(padTo8(b[byteOff:byteOff+nb])) >> uint(bitOff)
			if f.BitSize < 64 {
				raw &= 1<<uint(f.BitSize) - 1
			}
			switch ft := ktype.Strip(f.Type).(type) {
			case *dwarf.IntType:
				if f.BitSize < 64 && raw&(1<<uint(f.BitSize-1)) != 0 {
					raw |= ^uint64(0) << uint(f.BitSize)
				}
				j.buf.WriteString(strconv.FormatInt(int64(raw), 10))
			case *dwarf.EnumType:
				name, _ := json.Marshal(enumName(ft, raw))
				j.buf.Write(name)
			case *dwarf.BoolType:
				j.buf.WriteString(strconv.FormatBool(raw != 0))
			default:
				j.buf.WriteString(strconv.FormatUint(raw, 10))
			}
		case size <= 0 || byteOff < 0 || byteOff+size > int64(len(b)):
			// A flexible array member or an incomplete type.
			if _, ok := ktype.Strip(f.Type).(*dwarf.ArrayType); ok {
				j.buf.WriteString("[]")
			} else {
				j.buf.WriteString("null")
			}
		default:
			j.value(f.Type, b[byteOff:byteOff+size])
		}
	}
	return !first
}

func (j *jsonWriter) array(t *dwarf.ArrayType, b []byte) {
	es := t.Type.Size()
	if t.Count <= 0 || es <= 0 {
		j.buf.WriteString("[]")
		return
	}
	if isChar(t.Type) && es == 1 {
		s, _ := json.Marshal(cut(b))
		j.buf.Write(s)
		return
	}
	j.buf.WriteByte('[')
	for i := int64(0); (i+1)*es <= int64(len(b)); i++ {
		if i > 0 {
			j.buf.WriteByte(',')
		}
		j.value(t.Type, b[i*es:(i+1)*es])
		if j.n > maxNodes {
			break
		}
	}
	j.buf.WriteByte(']')
}

// enumName is the enumerator of value x, or x as a number's text.
func enumName(e *dwarf.EnumType, x uint64) any {
	for _, v := range e.Val {
		if uint64(v.Val) == x || (e.ByteSize < 8 && e.ByteSize > 0 && uint64(v.Val)&(1<<(8*e.ByteSize)-1) == x) {
			return v.Name
		}
	}
	return x
}
