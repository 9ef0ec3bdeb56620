package ktype

import (
	"debug/dwarf"
	"fmt"
	"io"
	"strings"
)

// Declare renders a C declaration of name with type t, as gdb and crash
// print it: "struct list_head *next", "char comm[16]",
// "void (*func)(struct callback_head *)". With name "" it renders the type
// alone ("struct task_struct *").
func Declare(t dwarf.Type, name string) string { return declare(t, name, 0) }

// maxDeclDepth bounds nested prototypes; a corrupt file can make a function
// type its own parameter.
const maxDeclDepth = 8

func declare(t dwarf.Type, name string, depth int) string {
	if depth > maxDeclDepth {
		return "..."
	}
	inner := name
	for range 256 {
		switch v := t.(type) {
		case *dwarf.PtrType:
			inner = "*" + inner
			t = v.Type
			if t == nil {
				return "void " + inner
			}
			continue
		case *dwarf.ArrayType:
			if strings.HasPrefix(inner, "*") {
				inner = "(" + inner + ")"
			}
			if v.Count < 0 {
				inner += "[]"
			} else {
				inner += fmt.Sprintf("[%d]", v.Count)
			}
			t = v.Type
			continue
		case *dwarf.FuncType:
			if strings.HasPrefix(inner, "*") {
				inner = "(" + inner + ")"
			}
			params := make([]string, len(v.ParamType))
			for i, p := range v.ParamType {
				params[i] = declare(p, "", depth+1)
			}
			if len(params) == 0 {
				params = []string{"void"}
			}
			inner += "(" + strings.Join(params, ", ") + ")"
			t = v.ReturnType
			if t == nil {
				t = &dwarf.VoidType{}
			}
			continue
		case *dwarf.QualType:
			if _, isPtr := v.Type.(*dwarf.PtrType); isPtr {
				inner = " " + v.Qual + " " + inner
				t = v.Type
				continue
			}
			return join(v.Qual+" "+declare(v.Type, "", depth+1), inner)
		}
		return join(baseName(t), inner)
	}
	return "?"
}

func join(base, inner string) string {
	inner = strings.TrimLeft(inner, " ")
	if inner == "" {
		return base
	}
	return base + " " + inner
}

// baseName names a type that has no declarator part.
func baseName(t dwarf.Type) string {
	switch v := t.(type) {
	case nil:
		return "void"
	case *dwarf.StructType:
		if v.StructName == "" {
			return v.Kind + " {...}"
		}
		return v.Kind + " " + v.StructName
	case *dwarf.EnumType:
		if v.EnumName == "" {
			return "enum {...}"
		}
		return "enum " + v.EnumName
	case *dwarf.TypedefType:
		return v.Name
	case *dwarf.VoidType:
		return "void"
	case *dwarf.DotDotDotType:
		return "..."
	case *dwarf.UnspecifiedType:
		return v.Name
	}
	if c := t.Common(); c != nil && c.Name != "" {
		if n, ok := gdbBaseNames[c.Name]; ok {
			return n
		}
		return c.Name
	}
	return t.String()
}

// gdbBaseNames spells GCC's base type names the way gdb (and so crash)
// prints them.
var gdbBaseNames = map[string]string{
	"long int":               "long",
	"long unsigned int":      "unsigned long",
	"short int":              "short",
	"short unsigned int":     "unsigned short",
	"long long int":          "long long",
	"long long unsigned int": "unsigned long long",
}

// WriteLayout prints a struct or union the way crash's "struct -o" does:
// every member with its offset in brackets, anonymous structs and unions
// expanded in place, then the size:
//
//	struct list_head {
//	   [0] struct list_head *next;
//	   [8] struct list_head *prev;
//	}
//	SIZE: 16
//
// hex prints offsets and the size in hexadecimal (crash -x).
func WriteLayout(w io.Writer, t dwarf.Type, hex bool) error {
	st, ok := Strip(t).(*dwarf.StructType)
	if !ok {
		_, err := fmt.Fprintf(w, "%s\nSIZE: %s\n", Declare(t, ""), num(t.Size(), hex))
		return err
	}
	// crash right-aligns the offsets three columns past the widest.
	// crash right-aligns the offsets in the width of "[SIZE]" plus two.
	width := len("["+num(st.ByteSize, hex)+"]") + 2
	budget := maxLayoutLines
	var b strings.Builder
	fmt.Fprintf(&b, "%s {\n", baseName(st))
	writeFields(&b, st, 0, 0, width, hex, &budget)
	fmt.Fprintf(&b, "}\nSIZE: %s\n", num(st.ByteSize, hex))
	_, err := io.WriteString(w, b.String())
	return err
}

// maxLayoutLines bounds a layout: anonymous members nest, and a corrupt
// file can make an anonymous struct contain itself.
const maxLayoutLines = 1 << 14

func num(n int64, hex bool) string {
	if hex {
		return fmt.Sprintf("%#x", n)
	}
	return fmt.Sprint(n)
}

func writeFields(b *strings.Builder, st *dwarf.StructType, base int64, depth, width int, hex bool, budget *int) {
	indent := strings.Repeat("    ", depth)
	blank := strings.Repeat(" ", width)
	for _, f := range st.Field {
		if *budget--; *budget < 0 {
			b.WriteString(blank + " " + indent + "...\n")
			return
		}
		off, _ := FieldBits(f)
		if inner, ok := Strip(f.Type).(*dwarf.StructType); ok && f.Name == "" && depth < 16 {
			fmt.Fprintf(b, "%s %s%s {\n", blank, indent, inner.Kind)
			writeFields(b, inner, base+off, depth+1, width, hex, budget)
			fmt.Fprintf(b, "%s %s};\n", blank, indent)
			continue
		}
		label := fmt.Sprintf("%*s", width, "["+num(base+off, hex)+"]")
		decl := Declare(f.Type, f.Name)
		if f.BitSize != 0 {
			decl += fmt.Sprintf(" : %d", f.BitSize)
		}
		fmt.Fprintf(b, "%s %s%s;\n", label, indent, decl)
	}
}
