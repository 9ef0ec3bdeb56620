package repl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
)

// ArgKind says what a command's non-option arguments name, for completion.
type ArgKind int

const (
	ArgNone    ArgKind = iota
	ArgSymbol          // addresses or kernel symbols (rd, sym, dis)
	ArgType            // struct/union/type names (struct, union, whatis)
	ArgCommand         // command names (help)
)

// Command is one entry of the command table. Its fields are the only source
// of `help` text and of completion.
type Command struct {
	Name    string
	Aliases []string
	// Usage is the synopsis after the name, in crash's notation.
	Usage string
	// Summary is the one line `help` lists.
	Summary string
	// Help is the body `help NAME` prints after the synopsis.
	Help string
	// Options are offered by tab completion after a '-'.
	Options []string
	Args    ArgKind
	// NeedsVMLinux marks commands that cannot run on a dump alone.
	NeedsVMLinux bool
	// FromBTF marks commands that, without the vmlinux, run from the
	// kernel's own BTF and kallsyms (kernels from 6.0 built with BTF),
	// with the same output: proven so on the lab's dumps.
	FromBTF bool
	// Run executes the command. It returns errQuit to end the session.
	Run func(c *Context, args []string) error
}

// Context is what a running command gets: cancellation (Ctrl-C), the
// session, and where to print.
type Context struct {
	context.Context
	Session *Session
	Out     io.Writer
	// Err receives warnings that are not the command's output.
	Err io.Writer
	// Name is the command name as typed, for messages.
	Name string
	// toTerminal: the output goes to the terminal the progress line
	// would share (not redirected or piped, and Loop.OutTerminal).
	toTerminal bool
}

// progress is the progress line of long work in this command: nil (draw
// nothing) unless the session has one and the command's output does not
// go to the same terminal.
func (c *Context) progress(label, unit string) Progress {
	if c.Session.Progress == nil || c.toTerminal {
		return nil
	}
	return c.Session.Progress(label, unit)
}

// Stopped reports why the command should stop early: Ctrl-C, or a
// closed pipe on its output. Long loops call it once per line or record.
func (c *Context) Stopped() error {
	if err := c.Context.Err(); err != nil {
		return err
	}
	if w, ok := c.Out.(*stopWriter); ok && w.err != nil {
		return w.err
	}
	return nil
}

// errQuit is returned by q and exit.
var errQuit = errors.New("quit")

// usageError asks the loop to print the command's synopsis.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{fmt.Sprintf(format, args...)}
}

// ErrNeedsVMLinux is wrapped by commands that cannot work without the
// debuginfo vmlinux.
var ErrNeedsVMLinux = errors.New("needs the debuginfo vmlinux (pass it as an argument: vmcore VMLINUX DUMP)")

// table is the command table, filled by each command's file from init.
var table = map[string]*Command{}

// planned are commands of crash whose place in the table is kept for a
// later change; `help` lists them and running one says why it is absent.
var planned = map[string]string{
	"ps":      "display process status information",
	"bt":      "backtrace",
	"task":    "task_struct and thread_info contents",
	"foreach": "display command data for multiple tasks in the system",
	"set":     "set a process context or internal crash variable",
}

func register(c *Command) {
	if _, dup := table[c.Name]; dup {
		panic("repl: command registered twice: " + c.Name)
	}
	table[c.Name] = c
}

// Lookup finds a command by name or alias.
func Lookup(name string) *Command {
	if c, ok := table[name]; ok {
		return c
	}
	for _, c := range table {
		for _, a := range c.Aliases {
			if a == name {
				return c
			}
		}
	}
	return nil
}

// Commands returns the table sorted by name.
func Commands() []*Command {
	cs := make([]*Command, 0, len(table))
	for _, c := range table {
		cs = append(cs, c)
	}
	sort.Slice(cs, func(i, j int) bool { return cs[i].Name < cs[j].Name })
	return cs
}

// names lists every command name and alias, for completion.
func names() []string {
	var ns []string
	for _, c := range table {
		ns = append(ns, c.Name)
		ns = append(ns, c.Aliases...)
	}
	sort.Strings(ns)
	return ns
}

// synopsis is the usage line as help prints it.
func (c *Command) synopsis() string {
	if c.Usage == "" {
		return c.Name
	}
	return c.Name + " " + c.Usage
}

// indentedSynopsis is the synopsis as crash prints it under "Usage:" and
// "SYNOPSIS": two spaces in, continuation lines aligned after the name.
func (c *Command) indentedSynopsis() string {
	return "  " + strings.ReplaceAll(c.synopsis(), "\n", "\n  "+strings.Repeat(" ", len(c.Name)+1))
}

// writeHelp prints `help NAME`: crash's NAME / SYNOPSIS / DESCRIPTION blocks.
func (c *Command) writeHelp(w io.Writer) {
	fmt.Fprintf(w, "NAME\n  %s - %s\n\n", c.Name, c.Summary)
	fmt.Fprintf(w, "SYNOPSIS\n%s\n", c.indentedSynopsis())
	if len(c.Aliases) > 0 {
		fmt.Fprintf(w, "\nALIASES\n  %s\n", strings.Join(c.Aliases, ", "))
	}
	if c.Help != "" {
		fmt.Fprintf(w, "\nDESCRIPTION\n")
		for _, line := range strings.Split(strings.TrimRight(c.Help, "\n"), "\n") {
			if line == "" {
				fmt.Fprintln(w)
			} else {
				fmt.Fprintf(w, "  %s\n", line)
			}
		}
	}
	switch {
	case c.NeedsVMLinux && c.FromBTF:
		fmt.Fprintf(w, "\n  Without the debuginfo vmlinux this command reads the kernel's own BTF and\n  kallsyms (kernels from 6.0 built with BTF).\n")
	case c.NeedsVMLinux:
		fmt.Fprintf(w, "\n  This command needs the debuginfo vmlinux of the crashed kernel.\n")
	}
}
