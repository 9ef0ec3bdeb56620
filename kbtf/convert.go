//go:build !plan9

package kbtf

import (
	"debug/dwarf"
	"strings"

	"github.com/cilium/ebpf/btf"
)

// convert turns a BTF type into the debug/dwarf type DWARF gives for it;
// t.mu is held. Structs and unions enter the memo before their members,
// so that self-referring types end.
func (t *Types) convert(bt btf.Type) dwarf.Type {
	if bt == nil {
		return &dwarf.VoidType{}
	}
	if dt, ok := t.conv[bt]; ok {
		return dt
	}
	var dt dwarf.Type
	switch u := bt.(type) {
	case *btf.Void:
		dt = &dwarf.VoidType{}
	case *btf.Int:
		dt = intType(u)
	case *btf.Float:
		dt = &dwarf.FloatType{BasicType: basic(u.Name, u.Size)}
	case *btf.Pointer:
		p := &dwarf.PtrType{CommonType: dwarf.CommonType{ByteSize: 8}}
		t.conv[bt] = p
		p.Type = t.convert(u.Target)
		dt = p
	case *btf.Array:
		a := &dwarf.ArrayType{Count: int64(u.Nelems)}
		t.conv[bt] = a
		a.Type = t.convert(u.Type)
		if es := a.Type.Size(); es > 0 {
			a.ByteSize = es * int64(u.Nelems)
		}
		dt = a
	case *btf.Struct:
		dt = t.composite(bt, "struct", u.Name, u.Size, u.Members)
	case *btf.Union:
		dt = t.composite(bt, "union", u.Name, u.Size, u.Members)
	case *btf.Fwd:
		kind := "struct"
		if u.Kind == btf.FwdUnion {
			kind = "union"
		}
		dt = &dwarf.StructType{CommonType: dwarf.CommonType{ByteSize: -1, Name: u.Name}, StructName: u.Name, Kind: kind, Incomplete: true}
	case *btf.Enum:
		e := &dwarf.EnumType{CommonType: dwarf.CommonType{ByteSize: int64(u.Size), Name: u.Name}, EnumName: u.Name}
		for _, v := range u.Values {
			val := int64(v.Value)
			if u.Signed && u.Size < 8 {
				// Sign-extend from the enum's width.
				shift := 64 - 8*u.Size
				val = int64(v.Value<<shift) >> shift
			}
			e.Val = append(e.Val, &dwarf.EnumValue{Name: v.Name, Val: val})
		}
		dt = e
	case *btf.Typedef:
		td := &dwarf.TypedefType{CommonType: dwarf.CommonType{Name: u.Name}}
		t.conv[bt] = td
		td.Type = t.convert(u.Type)
		dt = td
	case *btf.Volatile:
		dt = t.qual("volatile", bt, u.Type)
	case *btf.Const:
		dt = t.qual("const", bt, u.Type)
	case *btf.Restrict:
		dt = t.qual("restrict", bt, u.Type)
	case *btf.TypeTag:
		// Annotations such as __rcu and __user: DWARF has no such
		// type, only the type they annotate.
		dt = t.convert(u.Type)
	case *btf.FuncProto:
		f := &dwarf.FuncType{CommonType: dwarf.CommonType{ByteSize: -1}}
		t.conv[bt] = f
		f.ReturnType = t.convert(u.Return)
		for i, p := range u.Params {
			if _, void := p.Type.(*btf.Void); (void || p.Type == nil) && i == len(u.Params)-1 {
				f.ParamType = append(f.ParamType, &dwarf.DotDotDotType{CommonType: dwarf.CommonType{Name: "..."}})
				continue
			}
			f.ParamType = append(f.ParamType, t.convert(p.Type))
		}
		dt = f
	case *btf.Func:
		dt = t.convert(u.Type)
	case *btf.Var:
		dt = t.convert(u.Type)
	default:
		// Datasec, DeclTag: no type of their own.
		dt = &dwarf.VoidType{}
	}
	t.conv[bt] = dt
	return dt
}

func basic(name string, size uint32) dwarf.BasicType {
	return dwarf.BasicType{CommonType: dwarf.CommonType{ByteSize: int64(size), Name: name}}
}

// intType is a BTF integer as DWARF types it: bool, char (signed, as
// x86's plain char, or unsigned), signed or unsigned.
func intType(u *btf.Int) dwarf.Type {
	b := basic(u.Name, u.Size)
	switch {
	case u.Encoding&btf.Bool != 0 || u.Name == "_Bool":
		return &dwarf.BoolType{BasicType: b}
	case u.Size == 1 && strings.Contains(u.Name, "char"):
		if strings.HasPrefix(u.Name, "unsigned") {
			return &dwarf.UcharType{BasicType: b}
		}
		return &dwarf.CharType{BasicType: b}
	case u.Encoding&btf.Signed != 0:
		return &dwarf.IntType{BasicType: b}
	}
	return &dwarf.UintType{BasicType: b}
}

func (t *Types) qual(q string, bt, target btf.Type) dwarf.Type {
	d := &dwarf.QualType{Qual: q}
	t.conv[bt] = d
	d.Type = t.convert(target)
	return d
}

// composite converts a struct or union. A bitfield's position is DWARF
// 5's: DataBitOffset from the start of the struct. A flexible array
// member has BTF's count, 0, as debug/dwarf gives it for one.
func (t *Types) composite(bt btf.Type, kind, name string, size uint32, members []btf.Member) dwarf.Type {
	st := &dwarf.StructType{CommonType: dwarf.CommonType{ByteSize: int64(size), Name: name}, StructName: name, Kind: kind}
	t.conv[bt] = st
	st.Field = make([]*dwarf.StructField, 0, len(members))
	for _, m := range members {
		f := &dwarf.StructField{Name: m.Name, Type: t.convert(m.Type)}
		if m.BitfieldSize != 0 {
			f.BitSize = int64(m.BitfieldSize)
			f.DataBitOffset = int64(m.Offset)
		} else {
			f.ByteOffset = int64(m.Offset / 8)
		}
		st.Field = append(st.Field, f)
	}
	return st
}
