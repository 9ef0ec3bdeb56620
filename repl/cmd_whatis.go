package repl

import (
	"debug/dwarf"
	"fmt"

	"github.com/vmcoretools/vmcore/dwarfsym"
)

func init() {
	register(&Command{
		Name:    "whatis",
		Usage:   "[struct | union | typedef | symbol]",
		Summary: "search symbol table for data or type information",
		Help: `For a variable, prints its declaration; for a struct, union or typedef
name, prints its definition (as struct does) and its size.`,
		Args:         ArgType,
		NeedsVMLinux: true,
		Run:          runWhatis,
	})
}

func runWhatis(c *Context, args []string) error {
	if len(args) != 1 {
		return usagef("need one name")
	}
	s := c.Session
	name := args[0]
	if v, err := s.Debug.Variable(name); err == nil {
		fmt.Fprintf(c.Out, "%s;\n", dwarfsym.Declare(v.Type, name))
		return nil
	}
	if fn, err := s.Debug.Function(name); err == nil && fn.Type != nil {
		fmt.Fprintf(c.Out, "%s;\n", dwarfsym.Declare(fn.Type, name))
		return nil
	}
	t, err := s.Debug.Type(name)
	if err != nil {
		return fmt.Errorf("invalid argument: %s (no variable, function or type of that name)", name)
	}
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
