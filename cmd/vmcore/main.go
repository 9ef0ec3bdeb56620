// Command vmcore opens Linux crash dumps: `vmcore SUBCOMMAND [flags] ARGS`
// for scripts, and (later) `vmcore [flags] [VMLINUX] DUMP` for the REPL.
package main

import (
	"fmt"
	"io"
	"os"
	"sort"
)

// subcommand is one entry of the command table. Each lives in its own file
// and registers itself from init, so the table is the single source of help.
type subcommand struct {
	name    string
	summary string // one line for `vmcore help`
	run     func(args []string, stdout, stderr io.Writer) int
}

var subcommands = map[string]subcommand{}

// session runs when the first argument is no subcommand:
// `vmcore [flags] [VMLINUX] DUMP` opens the interactive session (the REPL).
// It is set by the file that implements the REPL.
var session func(args []string, stdout, stderr io.Writer) int

func register(c subcommand) { subcommands[c.name] = c }

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: vmcore SUBCOMMAND [flags] ARGS...")
	fmt.Fprintln(w, "\nsubcommands:")
	names := make([]string, 0, len(subcommands))
	for n := range subcommands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, subcommands[n].summary)
	}
}

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	c, ok := subcommands[args[0]]
	if !ok && session != nil {
		return session(args, stdout, stderr)
	}
	if !ok {
		fmt.Fprintf(stderr, "vmcore: unknown subcommand %q (try 'vmcore help')\n", args[0])
		return 2
	}
	return c.run(args[1:], stdout, stderr)
}
