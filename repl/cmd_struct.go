package repl

import (
	"debug/dwarf"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/vmcoretools/vmcore/dwarfsym"
	"github.com/vmcoretools/vmcore/value"
)

func init() {
	for _, kind := range []string{"struct", "union"} {
		kind := kind
		register(&Command{
			Name:  kind,
			Usage: kind + "_name[.member[,member]] [-o] [-x|-d] [address | symbol][:cpu] [count]",
			Summary: map[string]string{"struct": "structure contents",
				"union": "union contents"}[kind],
			Help: fmt.Sprintf(`Without an address, prints the layout of the %[1]s (with member offsets
when -o is given) and its size. With an address or a symbol, prints the
%[1]s's contents there as crash does, or only the named members. A
per-CPU symbol takes :N for CPU N, or :a for every CPU. count prints that
many consecutive %[1]ss.

   -o  show member offsets (the layout form).
   -x  integers in hexadecimal.
   -d  integers in decimal (the default).`, kind),
			Options:      []string{"-o", "-x", "-d"},
			Args:         ArgType,
			NeedsVMLinux: true,
			Run:          func(c *Context, args []string) error { return runStruct(c, kind, args) },
		})
	}
}

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
	t, err := s.Debug.Type(kind + " " + name)
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
			out, err := v.WriteMembers(strings.Split(members, ","), f)
			fmt.Fprint(c.Out, out)
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// objectAddrs resolves an address argument of struct, union and p:
// hexadecimal, a symbol, an expression, or a per-CPU symbol with :N or :a.
// For a per-CPU symbol it also returns the CPU of each address.
func (s *Session) objectAddrs(vals *value.Context, arg string) ([]uint64, []int, error) {
	name, cpuSpec, hasCPU := strings.Cut(arg, ":")
	if !hasCPU {
		a, err := s.parseAddress(arg)
		return []uint64{a}, nil, err
	}
	cpus, err := s.cpuList(cpuSpec)
	if err != nil {
		return nil, nil, err
	}
	var out []uint64
	for _, cpu := range cpus {
		v, err := vals.PerCPU(name, cpu)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, v.Addr)
	}
	return out, cpus, nil
}

// cpuList reads crash's cpuspec: N, N-M, N,M, or a for all CPUs.
func (s *Session) cpuList(spec string) ([]int, error) {
	n := s.Dump.NumCPUs()
	if spec == "a" || spec == "all" {
		out := make([]int, n)
		for i := range out {
			out[i] = i
		}
		return out, nil
	}
	var out []int
	for _, part := range strings.Split(spec, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		b := a
		if err == nil && isRange {
			b, err = strconv.Atoi(hi)
		}
		if err != nil || a < 0 || b < a || b >= n {
			return nil, fmt.Errorf("invalid cpu specification: %s (the dump has %d CPUs)", spec, n)
		}
		for i := a; i <= b; i++ {
			out = append(out, i)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("empty cpu specification")
	}
	return out, nil
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
