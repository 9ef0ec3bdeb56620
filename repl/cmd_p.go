package repl

import (
	"debug/dwarf"
	"fmt"
	"io"
	"strings"

	"github.com/vmcoretools/vmcore/dwarfsym"
	"github.com/vmcoretools/vmcore/value"
)

func init() {
	register(&Command{
		Name:    "p",
		Usage:   "[-x|-d] expression[:cpu]",
		Summary: "print the value of an expression",
		Help: `Prints the value of a C expression as crash (gdb with pretty printing)
does, numbered "$N = value" (gdb's value history); a bare symbol is
named first: "jiffies = $1 = ...". A per-CPU variable takes :N for CPU
N, :a for every CPU; alone, it shows its type and each CPU's address.

Expressions: variables and functions, integer literals and 'c',
arithmetic, shifts, comparisons, && || ! ?:, casts to any type or
pointer ((struct task_struct *)ADDR), & and *, . and ->, [index],
sizeof(type) and sizeof expr.

   -x  integers in hexadecimal (gdb's output radix 16).
   -d  integers in decimal (the default).
   p/x and p/d format every integer in the value, as gdb's /x and /d do.`,
		Aliases:      []string{"p/x", "p/d"},
		Options:      []string{"-x", "-d"},
		Args:         ArgSymbol,
		NeedsVMLinux: true,
		FromBTF:      true,
		Run:          runP,
	})
}

func runP(c *Context, args []string) error {
	opts, rest, err := getopt(args, "xdhu", "")
	if err != nil {
		return err
	}
	var f value.Format
	// crash has no p/x command: it hands the line to gdb, which prints no
	// leader ("$1 = 0x..." even for a bare symbol).
	bare := c.Name == "p/x" || c.Name == "p/d"
	f.FormatX = c.Name == "p/x"
	for _, o := range opts {
		switch o.name {
		case "x", "h":
			f.Hex = true
		case "d":
			f.Hex = false
		}
	}
	if len(rest) == 0 {
		return usagef("need an expression")
	}
	s := c.Session
	vals, err := s.Values()
	if err != nil {
		return err
	}
	expr := strings.Join(rest, " ")

	// crash: a trailing :cpuspec belongs to a per-CPU symbol; a bare
	// symbol is printed with its name as a leader.
	if name, cpuSpec, ok := cutLast(expr, ":"); ok && len(rest) == 1 {
		v, err := s.info().Variable(name)
		if err == nil && v.PerCPU {
			return s.printPerCPU(c, vals, v, cpuSpec, f)
		}
		if errNoType(err) {
			return err // a symbol whose type the dump alone does not give
		}
	}
	// A :cpuspec after a name that is no symbol at all: gdb's complaint is
	// about the name, not the colon.
	if name, _, ok := cutLast(expr, ":"); ok && len(rest) == 1 && isCIdent(name) {
		if _, found := s.info().Lookup(name); !found {
			return fmt.Errorf("No symbol \"%s\" in current context.", name)
		}
	}
	leader := ""
	if len(rest) == 1 && !bare {
		if v, err := s.info().Variable(expr); err == nil && v.PerCPU {
			return s.printPerCPU(c, vals, v, "", f)
		}
		if _, ok := s.info().Lookup(expr); ok {
			leader = expr
		}
	}
	v, err := s.evalC(expr, false)
	if err != nil {
		return err
	}
	out, err := formatP(v, f)
	if err != nil {
		return err
	}
	s.printCount++
	writeP(c.Out, leader, fmt.Sprintf("$%d = %s", s.printCount, out))
	return nil
}

// cutLast splits at the last sep.
func cutLast(s, sep string) (string, string, bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+len(sep):], true
}

// writeP prints a result as crash's process_gdb_output does: with a
// leader ("jiffies = "), a first line holding "{" not at its end is broken
// before the brace.
func writeP(w io.Writer, leader, text string) {
	if leader == "" {
		fmt.Fprintln(w, text)
		return
	}
	first, tail, _ := strings.Cut(text, "\n")
	if i := strings.Index(first, "{"); i >= 0 && i < len(first)-1 {
		first = first[:i] + "\n {" + first[i+1:]
	}
	if tail != "" || strings.Contains(text, "\n") {
		fmt.Fprintf(w, "%s = %s\n%s\n", leader, first, tail)
		return
	}
	fmt.Fprintf(w, "%s = %s\n", leader, first)
}

// formatP renders a value as gdb's print does.
func formatP(v value.Value, f value.Format) (string, error) {
	if ft, ok := dwarfsym.Strip(v.Type).(*dwarf.FuncType); ok {
		// {void (void)} 0xffffffff81b7d4d0 <schedule>
		out := fmt.Sprintf("{%s} %#x", dwarfsym.Declare(ft, ""), v.Addr)
		if sym, off, ok := v.Context().Types.SymbolAt(v.Addr); ok && off == 0 {
			out += " <" + sym.Name + ">"
		}
		return out, nil
	}
	if _, ok := dwarfsym.Strip(v.Type).(*dwarf.VoidType); ok {
		return "void", nil
	}
	return v.Format(f)
}

// printPerCPU prints a per-CPU variable as crash does: without a CPU, its
// type and each CPU's address; with :N or :a, each CPU's instance led by
// "per_cpu(name, N) = ".
func (s *Session) printPerCPU(c *Context, vals *value.Context, v *dwarfsym.Variable, cpuSpec string, f value.Format) error {
	if cpuSpec == "" {
		fmt.Fprintf(c.Out, "PER-CPU DATA TYPE:\n  %s;\nPER-CPU ADDRESSES:\n", dwarfsym.Declare(v.Type, v.Name))
		for cpu := 0; cpu < s.Dump.NumCPUs(); cpu++ {
			pv, err := vals.PerCPU(v.Name, cpu)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.Out, "  [%d]: %x\n", cpu, pv.Addr)
		}
		return nil
	}
	cpus, err := s.cpuList(cpuSpec)
	if err != nil {
		return err
	}
	for _, cpu := range cpus {
		if err := c.Stopped(); err != nil {
			return err
		}
		pv, err := vals.PerCPU(v.Name, cpu)
		if err != nil {
			return err
		}
		out, err := formatP(pv, f)
		if err != nil {
			return err
		}
		s.printCount++
		writeP(c.Out, fmt.Sprintf("per_cpu(%s, %d)", v.Name, cpu), fmt.Sprintf("$%d = %s", s.printCount, out))
	}
	return nil
}

func isCIdent(s string) bool {
	if s == "" || s[0] >= '0' && s[0] <= '9' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}
