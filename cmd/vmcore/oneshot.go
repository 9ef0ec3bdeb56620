package main

import (
	"fmt"
	"io"

	"github.com/vmcoretools/vmcore/repl"
)

// oneShot runs one REPL command for a script: the arguments that name
// existing files are the vmlinux and dump (in either order, as for the
// session), the rest are the command's own arguments. It returns the exit
// status: 0, 1 when the command failed, 2 for a usage error.
func oneShot(name string, args []string, stdout, stderr io.Writer, usage string) int {
	if subcommands[name].asksHelp(args) {
		fmt.Fprint(stdout, usage)
		return 0
	}
	files, cmdArgs := splitFiles(args)
	if len(files) == 0 {
		fmt.Fprintf(stderr, "vmcore %s: no dump file given\n\n%s", name, usage)
		return 2
	}
	s, closeFn, err := openSession(files, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "vmcore %s: %s\n", name, msg(err))
		return 1
	}
	defer closeFn()
	l := &repl.Loop{Session: s, Out: stdout, Err: stderr, OutTerminal: terminal(stdout) != nil}
	l.RunArgs(append([]string{name}, cmdArgs...))
	if l.Failed > 0 {
		return 1
	}
	return 0
}
