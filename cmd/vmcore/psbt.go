package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/vmcoretools/vmcore/tasks"
)

func init() {
	register(subcommand{
		name:    "ps",
		summary: "list tasks as crash's ps prints them: vmcore ps [-json] VMLINUX DUMP [ps options]",
		help:    func(w io.Writer) { fmt.Fprint(w, psUsage) },
		run: func(args []string, stdout, stderr io.Writer) int {
			if hasJSON(args) {
				return psJSON(dropJSON(args), stdout, stderr)
			}
			return oneShot("ps", args, stdout, stderr, psUsage)
		},
	})
}

const psUsage = `usage: vmcore ps [-json] VMLINUX DUMP [-k|-u] [-p|-c|-l|-t] [pid | task | command] ...

Lists the dump's tasks as crash's ps does (see 'help ps' in the session).
-json prints every task as a JSON object instead.
`

func hasJSON(args []string) bool {
	for _, a := range args {
		if a == "-json" || a == "--json" {
			return true
		}
	}
	return false
}

func dropJSON(args []string) []string {
	var out []string
	for _, a := range args {
		if a != "-json" && a != "--json" {
			out = append(out, a)
		}
	}
	return out
}

// splitFiles separates the arguments naming files (vmlinux, dump) from
// the rest, as oneShot does.
func splitFiles(args []string) (files, rest []string) {
	for _, a := range args {
		if st, err := os.Stat(a); err == nil && st.Mode().IsRegular() && !strings.HasPrefix(a, "-") {
			files = append(files, a)
		} else {
			rest = append(rest, a)
		}
	}
	return
}

// psJSON prints one vmcore.task record (tasks.Status) per task: every
// task, or those named by pid, task address or command. -k, -u and -G
// filter as in the text form; the options that choose which columns the
// text shows have no JSON form, since every record carries all of them.
func psJSON(args []string, stdout, stderr io.Writer) int {
	files, rest := splitFiles(args)
	if len(files) == 0 {
		fmt.Fprintf(stderr, "vmcore ps -json: give the vmlinux and the dump\n\n%s", psUsage)
		return 2
	}
	var filter tasks.Filter
	leaders := false
	var sel []string
	for _, a := range rest {
		switch {
		case a == "-k":
			filter.KernelOnly = true
		case a == "-u":
			filter.UserOnly = true
		case a == "-G":
			leaders = true
		case strings.HasPrefix(a, "-") && len(a) > 1:
			fmt.Fprintf(stderr, "vmcore ps -json: %s has no JSON form (each vmcore.task record carries every field ps's options show); -k, -u and -G filter\n", a)
			return 2
		default:
			sel = append(sel, a)
		}
	}
	if filter.KernelOnly && filter.UserOnly {
		fmt.Fprintln(stderr, "vmcore ps -json: -k and -u are mutually exclusive")
		return 2
	}
	s, run, closeFn, ok := startJSON("ps", files, stdout, stderr)
	if !ok {
		return 1
	}
	defer closeFn()
	tb, err := s.TaskTable()
	if err != nil {
		return run.failed(err)
	}
	for _, w := range tb.Warnings {
		run.jl.warn(run.dump, "the task list is partial: "+w)
		fmt.Fprintf(stderr, "vmcore ps: warning: %s\n", w)
	}
	list := tb.Tasks
	if len(sel) > 0 {
		if list, err = s.SelectTasks(sel); err != nil {
			return run.failed(err)
		}
	}
	for _, t := range list {
		if !filter.Match(t) || leaders && tb.Leader(t) != t {
			continue
		}
		if err := run.record(schemaTask, tb.Status(t)); err != nil {
			fmt.Fprintf(stderr, "vmcore ps: %s\n", msg(err))
			return 1
		}
	}
	return 0
}

func init() {
	register(subcommand{
		name:    "bt",
		summary: "stack traces as crash's bt prints them: vmcore bt [-json] VMLINUX DUMP [-a|-f|-l] [pid | task]",
		help:    func(w io.Writer) { fmt.Fprint(w, btUsage) },
		run: func(args []string, stdout, stderr io.Writer) int {
			if hasJSON(args) {
				return btJSON(dropJSON(args), stdout, stderr)
			}
			files, rest := splitFiles(args)
			for _, a := range rest {
				if a == "-A" {
					// every task: the session's foreach bt
					var others []string
					for _, b := range rest {
						if b != "-A" {
							others = append(others, b)
						}
					}
					return oneShot("foreach", append(append(files, others...), "bt"), stdout, stderr, btUsage)
				}
			}
			return oneShot("bt", args, stdout, stderr, btUsage)
		},
	})
}

const btUsage = `usage: vmcore bt [-json] VMLINUX DUMP [-a | -A] [-f] [-l] [pid | task | command] ...

Prints kernel stack traces as crash's bt does (see 'help bt' in the
session): the panic task by default, -a the task active on each CPU, -A
every task (crash's foreach bt). -json prints one JSON object per trace
(vmcore.backtrace/1, one per line) for the same tasks; -f and -l add
frame words and source lines to it.
`

// btJSON prints one vmcore.backtrace record (tasks.Backtrace) per task,
// chosen as the text form chooses: the panic task (the current context)
// by default, -a each CPU's active task, -A every task, or the tasks
// named; -f adds each frame's stack words and -l its source line.
func btJSON(args []string, stdout, stderr io.Writer) int {
	files, rest := splitFiles(args)
	if len(files) == 0 {
		fmt.Fprintf(stderr, "vmcore bt -json: no dump file given\n\n%s", btUsage)
		return 2
	}
	var opt tasks.TraceOptions
	active, all := false, false
	var sel []string
	for _, a := range rest {
		switch a {
		case "-a":
			active = true
		case "-A":
			all = true
		case "-f":
			opt.Words = true
		case "-l":
			opt.Lines = true
		default:
			if strings.HasPrefix(a, "-") && len(a) > 1 {
				fmt.Fprintf(stderr, "vmcore bt -json: %s is not an option of bt -json (-a, -A, -f, -l)\n", a)
				return 2
			}
			sel = append(sel, a)
		}
	}
	if active && all || (active || all) && len(sel) > 0 {
		fmt.Fprintln(stderr, "vmcore bt -json: -a, -A and task arguments exclude each other")
		return 2
	}
	s, run, closeFn, ok := startJSON("bt", files, stdout, stderr)
	if !ok {
		return 1
	}
	defer closeFn()
	fail := run.failed
	if s.Kernel == nil {
		return fail(fmt.Errorf("backtraces need the vmlinux of the dump's kernel"))
	}
	tb, err := s.Kernel.Tasks()
	if err != nil {
		return fail(err)
	}
	for _, w := range tb.Warnings {
		run.jl.warn(run.dump, "the task list is partial: "+w)
		fmt.Fprintf(stderr, "vmcore bt: warning: %s\n", w)
	}
	var list []*tasks.Task
	switch {
	case all:
		list = tb.Tasks
	case active:
		for _, a := range tb.Current {
			if t := tb.ByAddr(a); t != nil {
				list = append(list, t)
			}
		}
	case len(sel) > 0:
		if list, err = s.SelectTasks(sel); err != nil {
			return fail(err)
		}
	default:
		t, err := s.CurrentTask()
		if err != nil {
			return fail(err)
		}
		list = []*tasks.Task{t}
	}
	for _, t := range list {
		bt, err := s.Kernel.Backtrace(t, opt)
		if err != nil {
			return fail(err)
		}
		if err := run.record(schemaBacktrace, bt); err != nil {
			return fail(err)
		}
	}
	return 0
}
