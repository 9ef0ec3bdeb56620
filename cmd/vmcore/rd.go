package main

import "io"

func init() {
	register(subcommand{
		name:    "rd",
		summary: "read memory as crash's rd prints it: vmcore rd [VMLINUX] DUMP [-p] [-8|-16|-32|-64] ADDR [COUNT]",
		run: func(args []string, stdout, stderr io.Writer) int {
			return oneShot("rd", args, stdout, stderr, rdUsage)
		},
	})
}

const rdUsage = `usage: vmcore rd [VMLINUX] DUMP [-adDsSpxNR] [-8|-16|-32|-64] [-o OFFS] [-e ADDR] ADDRESS [COUNT]

Displays memory as crash's rd command does (see 'help rd' in the session).
ADDRESS is a kernel virtual address, or physical with -p; a symbol or a
(parenthesised expression) when the symbols are known.
`
