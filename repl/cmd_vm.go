package repl

import (
	"fmt"

	"github.com/vmcoretools/vmcore/tasks"
)

func init() {
	register(&Command{
		Name:    "vm",
		Usage:   "[pid | task] ...",
		Summary: "virtual memory",
		Help: `Shows a task's address space as crash's vm: its mm_struct, page
directory, RSS and total size, then every mapping (vm_area_struct) with
its start, end, flags and file. The mappings come from the mm's maple
tree (6.1 and later) or its mmap list. Without a task, the current
context's (see set).`,
		NeedsVMLinux: true,
		FromBTF:      true,
		Run:          runVM,
	})
	delete(planned, "vm")
}

func runVM(c *Context, args []string) error {
	_, rest, err := getopt(args, "", "")
	if err != nil {
		return err
	}
	tb, err := c.Session.TaskTable()
	if err != nil {
		return err
	}
	if len(rest) == 0 {
		t, err := c.Session.CurrentTask()
		if err != nil {
			return err
		}
		writeTaskHeader(c.Out, t)
		return showVM(c, t)
	}
	n := 0
	header := func(t *tasks.Task) {
		if n > 0 {
			fmt.Fprintln(c.Out)
		}
		n++
		writeTaskHeader(c.Out, t)
	}
	for _, a := range rest {
		ts, _, ok := contextTasks(tb, a)
		if !ok {
			sep := ""
			if n > 0 {
				sep = "\n"
			}
			n++
			fmt.Fprintf(c.Err, "%svm: invalid task or pid value: %s\n", sep, a)
		}
		for _, t := range ts {
			header(t)
			if err := showVM(c, t); err != nil {
				return err
			}
		}
	}
	return nil
}
