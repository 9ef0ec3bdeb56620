// Command vmcore opens Linux crash dumps: `vmcore SUBCOMMAND [flags] ARGS`
// for scripts, and (later) `vmcore [flags] [VMLINUX] DUMP` for the REPL.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"
)

// subcommand is one entry of the command table. Each lives in its own file
// and registers itself from init, so the table is the single source of help.
type subcommand struct {
	name    string
	summary string // one line for `vmcore help`
	run     func(args []string, stdout, stderr io.Writer) int
	// help prints the whole help: usage line, text and flags.
	help func(w io.Writer)
	// hOption: -h is one of the subcommand's own options (crash's kmem
	// -h) once files are named; alone, or without files, it is help.
	hOption bool
}

var subcommands = map[string]subcommand{}

// asksHelp reports a help flag among a subcommand's arguments (before
// "--"); -h is the subcommand's own option instead when it has one
// (hOption) and files are named.
func (c subcommand) asksHelp(args []string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		if isHelp(a) {
			if files, _ := splitFiles(args); c.hOption && a == "-h" && len(files) > 0 {
				continue
			}
			return true
		}
	}
	return false
}

// session runs when the first argument is no subcommand:
// `vmcore [flags] [VMLINUX] DUMP` opens the interactive session (the REPL).
// It is set by the file that implements the REPL.
var session func(args []string, stdout, stderr io.Writer) int

func register(c subcommand) { subcommands[c.name] = c }

// usage is `vmcore -h`: every form of the command line.
func usage(w io.Writer) {
	fmt.Fprint(w, `usage:
  vmcore [flags] [VMLINUX] DUMP...      the crash-style prompt (REPL) on a dump
  vmcore -c 'CMD; CMD' [VMLINUX] DUMP    run prompt commands and exit
  vmcore -i FILE [VMLINUX] DUMP          run a file of commands, then the prompt
  vmcore [VMLINUX] DUMP < FILE           a non-terminal stdin runs as a script
  vmcore SUBCOMMAND [flags] ARGS...      one job for scripts (below)
  vmcore help [SUBCOMMAND]               this text, or a subcommand's
  vmcore --version                       version, commit and Go version

VMLINUX and DUMP may come in either order, flags before or after them.
Without VMLINUX, the debuginfo vmlinux of the dump's build ID is looked for
(the -dbg packages' places, the debuginfod cache, $DEBUGINFOD_URLS). A
vmlinux that is not the dump's kernel is refused (--force: used anyway,
every output marked; --no-vmlinux: the dump's own BTF and kallsyms instead). Exit status: 0 done, 1 a command or a dump failed,
2 a usage error.

prompt flags:
  -c 'CMD; CMD'  run the commands and exit
  -i FILE        run the commands in FILE first
  -s             silent: no banner
  -history FILE  the history file (default ~/.vmcore_history, or $VMCORE_HISTORY)
  --force        use a vmlinux that is not the dump's kernel
  --no-vmlinux   use no vmlinux, given or found: types and symbols from the
                 kernel's own BTF and kallsyms in the dump (6.0 and later)

subcommands:
`)
	names := make([]string, 0, len(subcommands))
	for n := range subcommands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, subcommands[n].summary)
	}
	fmt.Fprintln(w, "\nAt the prompt, 'help' lists the commands and 'help CMD' explains one.")
}

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func isHelp(a string) bool { return a == "-h" || a == "-help" || a == "--help" }

func run(args []string, stdout, stderr io.Writer) int {
	args, forceVmlinux = cutFlag(args, "--force")
	args, noVmlinux = cutFlag(args, "--no-vmlinux")
	switch {
	case len(args) == 0:
		usage(stderr)
		return 2
	case isHelp(args[0]):
		usage(stdout)
		return 0
	case args[0] == "--version" || args[0] == "-version":
		printVersion(stdout)
		return 0
	case args[0] == "help":
		if len(args) == 1 {
			usage(stdout)
			return 0
		}
		c, ok := subcommands[args[1]]
		if !ok {
			fmt.Fprintf(stderr, "vmcore help: no subcommand %q (at the prompt: help %s)\n\n", args[1], args[1])
			usage(stderr)
			return 2
		}
		c.help(stdout)
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
	if c.asksHelp(args[1:]) {
		c.help(stdout)
		return 0
	}
	return c.run(args[1:], stdout, stderr)
}

// buildCommit is the commit when the build records no VCS information
// (-buildvcs=false): go build -ldflags "-X main.buildCommit=$(git rev-parse HEAD)".
var buildCommit string

// printVersion prints the module's version, the commit it was built from
// and the Go toolchain.
func printVersion(w io.Writer) {
	version, commit, when, dirty := "(devel)", "unknown (built without VCS information)", "", false
	if buildCommit != "" {
		commit = buildCommit
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" {
			version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				commit = s.Value
			case "vcs.time":
				when = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
	}
	if dirty {
		commit += " (modified)"
	}
	if when != "" {
		commit += " " + when
	}
	fmt.Fprintf(w, "vmcore %s\ncommit %s\n%s %s/%s\n", version, commit, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

// parseFlags parses a subcommand's flags before, between and after its
// other arguments (everything after "--" is an argument). A bad flag
// prints the error and the help to stderr: ok is false, and the status 2.
func parseFlags(fs *flag.FlagSet, c string, args []string, stderr io.Writer) (pos []string, ok bool) {
	var tail []string
	for i, a := range args {
		if a == "--" {
			args, tail = args[:i], args[i+1:]
			break
		}
	}
	fs.SetOutput(io.Discard)
	for {
		if err := fs.Parse(args); err != nil {
			fmt.Fprintf(stderr, "vmcore %s: %v\n\n", c, err)
			subcommands[c].help(stderr)
			return nil, false
		}
		args = fs.Args()
		if len(args) == 0 {
			return append(pos, tail...), true
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// flagHelp prints a usage text and then the flags of fs.
func flagHelp(w io.Writer, text string, fs *flag.FlagSet) {
	fmt.Fprint(w, text)
	if !strings.HasSuffix(text, "\n") {
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w, "\nflags:")
	fs.SetOutput(w)
	fs.PrintDefaults()
}

// cutFlag removes every flag (before a "--") from args and reports
// whether there was one: a flag every form of the command line takes, in
// any place.
func cutFlag(args []string, flag string) ([]string, bool) {
	out := make([]string, 0, len(args))
	found := false
	for i, a := range args {
		if a == "--" {
			out = append(out, args[i:]...)
			break
		}
		if a == flag {
			found = true
			continue
		}
		out = append(out, a)
	}
	return out, found
}

// msg is an error's text for a line that already starts with "vmcore":
// without the library's own "vmcore: " prefix.
func msg(err error) string {
	s := err.Error()
	for strings.HasPrefix(s, "vmcore: ") {
		s = strings.TrimPrefix(s, "vmcore: ")
	}
	return s
}

// terminal is w when it is a terminal (progress is drawn there), else nil.
func terminal(w io.Writer) io.Writer {
	if f, ok := w.(*os.File); ok && isTerminal(f) {
		return w
	}
	return nil
}
