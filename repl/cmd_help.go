package repl

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

func init() {
	register(&Command{
		Name:    "help",
		Aliases: []string{"h"},
		Usage:   "[command]",
		Summary: "get help",
		Help: `Without an argument, lists the commands. With a command name, prints
its synopsis and description.`,
		Args: ArgCommand,
		Run:  runHelp,
	})
}

func runHelp(c *Context, args []string) error {
	if len(args) == 0 {
		writeCommandList(c.Out, c.Session.VMLinux != "")
		return nil
	}
	for i, name := range args {
		if i > 0 {
			fmt.Fprintln(c.Out)
		}
		cmd := Lookup(name)
		if cmd == nil {
			if what, ok := planned[name]; ok && Lookup(name) == nil {
				fmt.Fprintf(c.Out, "%s - %s: not available yet (it needs the task layer, which a later change adds)\n", name, what)
				continue
			}
			return fmt.Errorf("no such command: %s", name)
		}
		cmd.writeHelp(c.Out)
	}
	return nil
}

// writeCommandList prints the names in columns, as crash's help does, then
// which commands need a vmlinux and which are not there yet.
func writeCommandList(w io.Writer, haveVMLinux bool) {
	var all, needVM []string
	for _, cmd := range Commands() {
		all = append(all, cmd.Name)
		if cmd.NeedsVMLinux {
			needVM = append(needVM, cmd.Name)
		}
	}
	const cols, width = 5, 15
	rows := (len(all) + cols - 1) / cols
	for r := 0; r < rows; r++ {
		var line strings.Builder
		for col := 0; col < cols; col++ {
			i := col*rows + r
			if i < len(all) {
				fmt.Fprintf(&line, "%-*s", width, all[i])
			}
		}
		fmt.Fprintln(w, strings.TrimRight(line.String(), " "))
	}
	fmt.Fprintln(w)
	if len(needVM) > 0 {
		note := ""
		if !haveVMLinux {
			note = " (none was given: run vmcore VMLINUX DUMP with the kernel's debuginfo vmlinux)"
		}
		fmt.Fprintf(w, "Need the debuginfo vmlinux%s:\n  %s\n", note, strings.Join(needVM, " "))
	}
	var later []string
	for n := range planned {
		if Lookup(n) == nil {
			later = append(later, n)
		}
	}
	sort.Strings(later)
	if len(later) > 0 {
		fmt.Fprintf(w, "Not available yet: %s\n", strings.Join(later, " "))
	}
	fmt.Fprintln(w, "\nEnter \"help COMMAND\" for details; q, exit or Ctrl-D quits.")
}
