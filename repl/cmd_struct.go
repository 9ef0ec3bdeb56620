package repl

import (
	"fmt"
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
			FromBTF:      true,
			Run:          func(c *Context, args []string) error { return runStruct(c, kind, args) },
		})
	}
}
