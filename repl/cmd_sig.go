package repl

import (
	"fmt"

	"github.com/vmcoretools/vmcore/tasks"
)

func init() {
	register(&Command{
		Name:    "sig",
		Usage:   "[pid | task] ...",
		Summary: "task signal handling",
		Help: `Shows a task's signal handling as crash's sig: its thread group's
signal_struct and every signal's sigaction (handler, mask, flags) from
the sighand_struct, whether a signal is pending, the blocked set, and the
private and shared pending sets and queues. Without a task, the current
context's (see set).`,
		NeedsVMLinux: true,
		FromBTF:      true,
		Run:          runSig,
	})
	delete(planned, "sig")
}

func runSig(c *Context, args []string) error {
	_, rest, err := getopt(args, "", "")
	if err != nil {
		return err
	}
	tb, err := c.Session.TaskTable()
	if err != nil {
		return err
	}
	var sel []*tasks.Task
	for _, a := range rest {
		ts, _, ok := contextTasks(tb, a)
		if !ok {
			fmt.Fprintf(c.Err, "sig: invalid task or pid value: %s\n", a)
		}
		sel = append(sel, ts...)
	}
	if len(rest) == 0 {
		t, err := c.Session.CurrentTask()
		if err != nil {
			return err
		}
		sel = []*tasks.Task{t}
	}
	for _, t := range sel {
		writeTaskHeader(c.Out, t)
		if err := showSignals(c, t); err != nil {
			return err
		}
	}
	return nil
}
