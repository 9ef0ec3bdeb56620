package repl

import (
	"fmt"

	"github.com/vmcoretools/vmcore/tasks"
)

func init() {
	register(&Command{
		Name:    "set",
		Usage:   "[pid | task | -p]",
		Summary: "set a process context or internal crash variable",
		Help: `Without an argument, shows the current context: the task bt and task use
when given none. With a pid or task address, makes that task the current
context; -p goes back to the panic task.`,
		Options:      []string{"-p"},
		NeedsVMLinux: true,
		Run:          runSet,
	})
	delete(planned, "set")
}

func runSet(c *Context, args []string) error {
	opts, rest, err := getopt(args, "p", "")
	if err != nil {
		return err
	}
	s := c.Session
	if len(opts) > 0 {
		currentTasks.Delete(s)
	}
	if len(rest) > 1 {
		return usagef("one task at a time")
	}
	if len(rest) == 1 {
		sel, err := s.SelectTasks(rest)
		if err != nil {
			return err
		}
		if len(sel) == 0 {
			return fmt.Errorf("invalid task or pid value: %s", rest[0])
		}
		if len(sel) > 1 {
			return fmt.Errorf("%s names %d tasks: give the task address", rest[0], len(sel))
		}
		currentTasks.Store(s, sel[0])
	}
	t, err := s.CurrentTask()
	if err != nil {
		return err
	}
	tr, err := s.Tracer()
	if err != nil {
		return err
	}
	writeContext(c, t, tr)
	return nil
}

// writeContext prints a task as crash's set does.
func writeContext(c *Context, t *tasks.Task, tr *tasks.Tracer) {
	w := c.Out
	fmt.Fprintf(w, "    PID: %d\n", t.PID)
	fmt.Fprintf(w, "COMMAND: \"%s\"\n", t.Comm)
	fmt.Fprintf(w, "   TASK: %x  [THREAD_INFO: %x]\n", t.Addr, t.Addr)
	fmt.Fprintf(w, "    CPU: %d\n", t.CPU)
	note := ""
	switch {
	case tr.PanicTask() == t:
		note = " (PANIC)"
	case t.Active:
		note = " (ACTIVE)"
	}
	fmt.Fprintf(w, "  STATE: %s%s\n", tasks.StateName(t.State), note)
}
