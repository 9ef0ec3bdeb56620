package repl

import (
	"errors"
	"fmt"

	"github.com/vmcoretools/vmcore/tasks"
)

func init() {
	register(&Command{
		Name:    "bt",
		Usage:   "[-a] [-f] [-l] [pid | task] ...",
		Summary: "backtrace",
		Help: `Prints a task's kernel stack trace as crash does: its header, then
"#N [stack address] function at return address" from the innermost frame,
and the user registers saved at the system call entry. Without an argument,
the current context (set; the panic task at start). Tasks that were running
start where the crash path left its mark on their stack (machine_kexec,
crash_nmi_callback, panic), others from the frame they switched out with.
Unwinds with the vmlinux's ORC tables, then its .debug_frame CFI where ORC
has no entry, then frame pointers.

  -a  the active task of every CPU
  -f  the stack words of each frame
  -l  the source file and line of each frame`,
		Options:      []string{"-a", "-f", "-l"},
		NeedsVMLinux: true,
		FromBTF:      true,
		Run:          runBt,
	})
	delete(planned, "bt")
}

func runBt(c *Context, args []string) error {
	opts, rest, err := getopt(args, "afl", "")
	if err != nil {
		return err
	}
	var all, frames, lines bool
	for _, o := range opts {
		switch o.name {
		case "a":
			all = true
		case "f":
			frames = true
		case "l":
			lines = true
		}
	}
	s := c.Session
	if lines && s.Debug == nil {
		return errors.New("-l needs the debuginfo vmlinux: source lines come from its line tables, which the kernel's memory does not hold")
	}
	k, err := s.kernel()
	if err != nil {
		return err
	}
	if _, err := k.Tracer(); err != nil {
		return err
	}
	tb, err := s.TaskTable()
	if err != nil {
		return err
	}
	var sel []*tasks.Task
	switch {
	case all:
		for _, a := range tb.Current {
			if t := tb.ByAddr(a); t != nil {
				sel = append(sel, t)
			}
		}
	case len(rest) > 0:
		if sel, err = selectTasks(tb, rest); err != nil {
			return err
		}
	default:
		t, err := s.CurrentTask()
		if err != nil {
			return err
		}
		sel = []*tasks.Task{t}
	}
	opt := s.btTraceOptions(frames, lines)
	for i, t := range sel {
		if err := c.Stopped(); err != nil {
			return err
		}
		bt, err := k.Backtrace(t, opt)
		if err != nil {
			return err
		}
		if i > 0 {
			fmt.Fprintln(c.Out)
		}
		writeTaskHeader(c.Out, t)
		writeBacktrace(c.Out, bt)
	}
	return nil
}
