package repl

import (
	"debug/dwarf"
	"fmt"
	"strings"

	"github.com/vmcoretools/vmcore/dwarfsym"
)

func init() {
	register(&Command{
		Name:    "whatis",
		Usage:   "[struct | union | typedef | symbol | expression]",
		Summary: "search symbol table for data or type information",
		Help: `For a variable or function, prints its declaration; for a struct, union
or typedef name (with or without the struct/union keyword), prints its
definition (as struct does) and its size; for any other C expression,
prints its type as gdb's whatis does, without evaluating it.`,
		Args:         ArgType,
		NeedsVMLinux: true,
		FromBTF:      true,
		Run:          runWhatis,
	})
}

func runWhatis(c *Context, args []string) error {
	if len(args) == 0 {
		return usagef("need a name or an expression")
	}
	s := c.Session
	name := args[0]
	keyword := ""
	if (name == "struct" || name == "union" || name == "enum") && len(args) > 1 {
		keyword, name = name, args[1]
	} else if len(args) == 1 {
		if v, err := s.info().Variable(name); err == nil {
			fmt.Fprintf(c.Out, "%s;\n", dwarfsym.Declare(v.Type, name))
			return nil
		} else if errNoType(err) {
			sym, _ := s.info().Lookup(name)
			return untypedGlobal(name, sym.Addr)
		}
		if fn, err := s.info().Function(name); err == nil && fn.Type != nil {
			fmt.Fprintf(c.Out, "%s;\n", dwarfsym.Declare(fn.Type, name))
			return nil
		}
	}
	typeName := name
	if keyword != "" {
		typeName = keyword + " " + name
	}
	if len(args) == 1 || keyword != "" && len(args) == 2 {
		if t, err := s.info().Type(typeName); err == nil && !strings.ContainsAny(name, "*()") {
			return whatisType(c, t)
		}
	}
	// Any other expression: gdb's whatis.
	v, err := s.evalC(strings.Join(args, " "), true)
	if err != nil {
		return fmt.Errorf("cannot resolve: %s (%v)", strings.Join(args, " "), err)
	}
	fmt.Fprintf(c.Out, "%s\n", dwarfsym.Declare(v.Type, ""))
	return nil
}

// whatisType prints a type's definition as crash's whatis does.
func whatisType(c *Context, t dwarf.Type) error {
	switch st := dwarfsym.Strip(t).(type) {
	case *dwarf.StructType:
		if td, ok := t.(*dwarf.TypedefType); ok {
			fmt.Fprintf(c.Out, "typedef %s;\n", dwarfsym.Declare(td.Type, td.Name))
		}
		return runStruct(c, st.Kind, []string{st.StructName})
	}
	if td, ok := t.(*dwarf.TypedefType); ok {
		fmt.Fprintf(c.Out, "typedef %s;\n", dwarfsym.Declare(td.Type, td.Name))
	} else {
		fmt.Fprintf(c.Out, "%s;\n", dwarfsym.Declare(t, ""))
	}
	fmt.Fprintf(c.Out, "SIZE: %d\n", t.Size())
	return nil
}
