package repl

import "fmt"

func init() {
	register(&Command{
		Name:    "btop",
		Usage:   "address ...",
		Summary: "bytes to page",
		Help: `Prints the page frame number of each address: "address: pfn", both in
hexadecimal. Addresses are hexadecimal (0x optional), as crash reads them.`,
		Run: runBtop,
	})
}

func runBtop(c *Context, args []string) error {
	if len(args) == 0 {
		return usagef("")
	}
	shift, err := c.Session.pageShift()
	if err != nil {
		return err
	}
	for _, a := range args {
		v, ok := parseHex(a)
		if !ok {
			return fmt.Errorf("not a valid number: %s", a)
		}
		fmt.Fprintf(c.Out, "%x: %x\n", v, v>>shift)
	}
	return nil
}
