package repl

import (
	"debug/dwarf"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/vmcoretools/vmcore/dwarfsym"
	"github.com/vmcoretools/vmcore/value"
)

// Printing a struct or union, its layout or its contents at addresses, as
// crash's struct and union commands do; whatis of a struct name prints the
// same layout.

func runStruct(c *Context, kind string, args []string) error {
	opts, rest, err := getopt(args, "oxdu", "")
	if err != nil {
		return err
	}
	var offsets bool
	var f value.Format
	for _, o := range opts {
		switch o.name {
		case "o":
			offsets = true
		case "x":
			f.Hex = true
		case "d":
			f.Hex = false
		}
	}
	if len(rest) == 0 || len(rest) > 3 {
		return usagef("need a %s name", kind)
	}
	name, members, _ := strings.Cut(rest[0], ".")
	s := c.Session
	t, err := s.info().Type(kind + " " + name)
	if err != nil {
		return fmt.Errorf("invalid data structure reference: %s", name)
	}
	if len(rest) == 1 {
		if members != "" {
			// crash: "struct task_struct {\n  [2192] struct list_head tasks;\n}"
			var b strings.Builder
			for _, m := range strings.Split(members, ",") {
				mem, err := dwarfsym.FindMember(t, m)
				if err != nil {
					return err
				}
				off := strconv.FormatInt(mem.Offset, 10)
				if f.Hex {
					off = fmt.Sprintf("%#x", mem.Offset)
				}
				fmt.Fprintf(&b, "  [%s] %s;\n", off, dwarfsym.Declare(mem.Type, m[strings.LastIndex(m, ".")+1:]))
			}
			fmt.Fprintf(c.Out, "%s {\n%s}\n", dwarfsym.Declare(t, ""), b.String())
			return nil
		}
		if offsets {
			return dwarfsym.WriteLayout(c.Out, t, f.Hex)
		}
		fmt.Fprintf(c.Out, "%s {\n", t.String())
		if st, ok := dwarfsym.Strip(t).(*dwarf.StructType); ok {
			writeMembers(c.Out, st, 1)
		}
		fmt.Fprintf(c.Out, "}\nSIZE: %d\n", t.Size())
		return nil
	}
	vals, err := s.Values()
	if err != nil {
		return err
	}
	count := 1
	if len(rest) == 3 {
		n, err := strconv.Atoi(rest[2])
		if err != nil || n <= 0 {
			return fmt.Errorf("invalid count: %s", rest[2])
		}
		count = n
	}
	addrs, cpus, err := s.objectAddrs(vals, rest[1])
	if err != nil {
		return err
	}
	for k, base := range addrs {
		if cpus != nil {
			// crash heads each CPU's instance with its address.
			fmt.Fprintf(c.Out, "[%d]: %x\n", cpus[k], base)
		}
		for i := 0; i < count; i++ {
			if err := c.Stopped(); err != nil {
				return err
			}
			if i > 0 {
				fmt.Fprintln(c.Out)
			}
			v := vals.Typed(t, base+uint64(i)*uint64(t.Size()), fmt.Sprintf("%s %s", kind, name))
			if members == "" {
				out, err := v.WriteStruct(f)
				if err != nil {
					return err
				}
				fmt.Fprint(c.Out, out)
				continue
			}
			out, err := memberText(v, strings.Split(members, ","), f)
			fmt.Fprint(c.Out, out)
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// writeMembers prints member declarations as crash's struct does (gdb's
// ptype), expanding anonymous structs and unions in place.
func writeMembers(w io.Writer, st *dwarf.StructType, depth int) {
	indent := strings.Repeat("    ", depth)
	for _, fld := range st.Field {
		if inner, ok := dwarfsym.Strip(fld.Type).(*dwarf.StructType); ok && fld.Name == "" && inner.StructName == "" && depth < 16 {
			fmt.Fprintf(w, "%s%s {\n", indent, inner.Kind)
			writeMembers(w, inner, depth+1)
			fmt.Fprintf(w, "%s};\n", indent)
			continue
		}
		decl := dwarfsym.Declare(fld.Type, fld.Name)
		if fld.BitSize != 0 {
			decl += fmt.Sprintf(" : %d", fld.BitSize)
		}
		fmt.Fprintf(w, "%s%s;\n", indent, decl)
	}
}
