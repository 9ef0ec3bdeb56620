package main

import (
	"fmt"
	"io"
)

func init() {
	register(subcommand{
		name:    "rd",
		summary: "read memory as crash's rd prints it: vmcore rd [VMLINUX] DUMP [-p] [-8|-16|-32|-64] ADDR [COUNT]",
		help:    func(w io.Writer) { fmt.Fprint(w, rdUsage) },
		run: func(args []string, stdout, stderr io.Writer) int {
			if hasJSON(args) {
				// rd prints memory in crash's layout; it has no record
				// kind, so -json is refused rather than ignored.
				fmt.Fprintln(stderr, "vmcore rd: -json has no form for rd (memory is printed in crash's layout only)")
				return 2
			}
			return oneShot("rd", args, stdout, stderr, rdUsage)
		},
	})
}

const rdUsage = `usage: vmcore rd [VMLINUX] DUMP [-adDsSpxNR] [-8|-16|-32|-64] [-o OFFS] [-e ADDR] ADDRESS [COUNT]

Displays memory as crash's rd command does (see 'help rd' in the session).
ADDRESS is a kernel virtual address, or physical with -p; a symbol or a
(parenthesised expression) when the symbols are known.
`
