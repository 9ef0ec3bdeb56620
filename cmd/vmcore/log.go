package main

import (
	"fmt"
	"io"
)

func init() {
	register(subcommand{
		name:    "log",
		summary: "the kernel log as crash's log prints it (-T -t -d -m -c), or -json",
		help:    func(w io.Writer) { fmt.Fprint(w, logUsage) },
		run:     runLogCommand,
	})
}

const logUsage = `usage: vmcore log [-T|-t] [-d] [-m] [-c] [-json] [VMLINUX] DUMP

Prints the kernel log as crash's log command does (see 'help log' in the
session); -json prints one JSON object per record instead (vmcore.log/1,
one per line, as vmcore dmesg -json).
`

func runLogCommand(args []string, stdout, stderr io.Writer) int {
	var rest []string
	asJSON := false
	for _, a := range args {
		if a == "-json" || a == "--json" {
			asJSON = true
			continue
		}
		rest = append(rest, a)
	}
	if !asJSON {
		return oneShot("log", rest, stdout, stderr, logUsage)
	}
	var files []string
	for _, a := range rest {
		if len(a) > 0 && a[0] == '-' {
			fmt.Fprintf(stderr, "vmcore log: %s cannot be combined with -json\n", a)
			return 2
		}
		files = append(files, a)
	}
	if len(files) == 0 {
		fmt.Fprint(stderr, logUsage)
		return 2
	}
	jl := newJSONLines(stdout)
	s, closeFn, err := openSession(files, stderr)
	if err != nil {
		jl.fail(files, err)
		fmt.Fprintf(stderr, "vmcore log: %s\n", msg(err))
		return 1
	}
	defer closeFn()
	recs, warns, err := s.KernelLog()
	if err == nil {
		err = writeLogRecords(jl, s.Dump.Paths(), recs)
	}
	if err != nil {
		jl.fail(s.Dump.Paths(), err)
		fmt.Fprintf(stderr, "vmcore log: %s\n", msg(err))
		return 1
	}
	for _, w := range warns {
		fmt.Fprintf(stderr, "vmcore log: warning: %s\n", w.Msg)
	}
	return 0
}
