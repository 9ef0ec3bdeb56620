package repl

import (
	"fmt"
	"strconv"
)

func init() {
	register(&Command{
		Name:    "ptob",
		Usage:   "page_frame_number ...",
		Summary: "page to bytes",
		Help: `Prints the physical address of each page frame number: "pfn: address",
both in hexadecimal. A number with only decimal digits is decimal, any
other hexadecimal (0x optional), as crash reads it.`,
		Run: runPtob,
	})
}

func runPtob(c *Context, args []string) error {
	if len(args) == 0 {
		return usagef("")
	}
	shift, err := c.Session.pageShift()
	if err != nil {
		return err
	}
	for _, a := range args {
		v, err := strconv.ParseUint(a, 10, 64)
		if err != nil {
			var ok bool
			if v, ok = parseHex(a); !ok {
				return fmt.Errorf("not a valid number: %s", a)
			}
		}
		fmt.Fprintf(c.Out, "%x: %x\n", v, v<<shift)
	}
	return nil
}
