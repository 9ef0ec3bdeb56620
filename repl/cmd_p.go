package repl

import (
	"debug/dwarf"
	"fmt"
	"strings"

	"github.com/vmcoretools/vmcore/dwarfsym"
	"github.com/vmcoretools/vmcore/value"
)

func init() {
	register(&Command{
		Name:    "p",
		Usage:   "[-x|-d] symbol[.member...][:cpu]",
		Summary: "print the value of an expression",
		Help: `Prints a kernel variable, or a member path inside it, as crash (gdb with
pretty printing) does: "name = $N = value". A per-CPU variable takes :N
for CPU N or :a for every CPU. p/x is p -x.

   -x  integers in hexadecimal.
   -d  integers in decimal (the default).

Besides variables and member paths, sizeof(type) and &symbol are
understood; other C expressions are not evaluated.`,
		Aliases:      []string{"p/x", "p/d"},
		Options:      []string{"-x", "-d"},
		Args:         ArgSymbol,
		NeedsVMLinux: true,
		Run:          runP,
	})
}

func runP(c *Context, args []string) error {
	opts, rest, err := getopt(args, "xdu", "")
	if err != nil {
		return err
	}
	var f value.Format
	bare := false
	switch c.Name {
	case "p/x":
		f.Hex, bare = true, true
	case "p/d":
		bare = true
	}
	for _, o := range opts {
		if o.name == "x" {
			f.Hex = true
		}
		if o.name == "d" {
			f.Hex = false
		}
	}
	if len(rest) != 1 {
		return usagef("need one variable")
	}
	s := c.Session
	vals, err := s.Values()
	if err != nil {
		return err
	}
	expr := rest[0]
	if handled, err := s.printSpecial(c, expr, f); handled {
		return err
	}
	path, cpuSpec, perCPU := strings.Cut(expr, ":")
	name, members, _ := strings.Cut(path, ".")
	type item struct {
		label string
		v     value.Value
	}
	var items []item
	if perCPU {
		cpus, err := s.cpuList(cpuSpec)
		if err != nil {
			return err
		}
		for _, cpu := range cpus {
			v, err := vals.PerCPU(name, cpu)
			if err != nil {
				return err
			}
			items = append(items, item{fmt.Sprintf("per_cpu(%s, %d)", name, cpu), v})
		}
	} else {
		v, err := vals.Var(name)
		if err != nil {
			return err
		}
		items = append(items, item{name, v})
	}
	for _, it := range items {
		v := it.v
		if members != "" {
			if v, err = v.Member(members); err != nil {
				return err
			}
		}
		out, err := v.Format(f)
		if err != nil {
			return err
		}
		s.printCount++
		// crash names the variable only for a bare symbol: "jiffies = $1 =
		// ...", but "$1 = {...}" for init_uts_ns.name.
		if bare || members != "" {
			fmt.Fprintf(c.Out, "$%d = %s\n", s.printCount, out)
		} else {
			fmt.Fprintf(c.Out, "%s = $%d = %s\n", it.label, s.printCount, out)
		}
	}
	return nil
}

// printSpecial handles the two expressions crash users type most besides
// variables: sizeof(struct x) and &symbol.
func (s *Session) printSpecial(c *Context, expr string, f value.Format) (bool, error) {
	if inner, ok := strings.CutPrefix(expr, "sizeof("); ok && strings.HasSuffix(inner, ")") {
		typ := strings.TrimSpace(strings.TrimSuffix(inner, ")"))
		t, err := s.Debug.Type(typ)
		if err != nil {
			return true, fmt.Errorf("no type %s", typ)
		}
		s.printCount++
		if f.Hex {
			fmt.Fprintf(c.Out, "$%d = 0x%x\n", s.printCount, t.Size())
		} else {
			fmt.Fprintf(c.Out, "$%d = %d\n", s.printCount, t.Size())
		}
		return true, nil
	}
	if name, ok := strings.CutPrefix(expr, "&"); ok {
		v, err := s.Debug.Variable(name)
		if err != nil {
			return true, err
		}
		s.printCount++
		fmt.Fprintf(c.Out, "$%d = (%s) 0x%x <%s>\n", s.printCount, dwarfsym.Declare(&dwarf.PtrType{Type: v.Type}, ""), v.Addr, name)
		return true, nil
	}
	return false, nil
}
