package repl

import (
	"fmt"
	"strings"

	"github.com/vmcoretools/vmcore/tasks"
)

func init() {
	register(&Command{
		Name:    "task",
		Usage:   "[-R member[,member]] [-x|-d] [pid | task] ...",
		Summary: "task_struct and thread_info contents",
		Help: `Prints each task's header line and its task_struct, or only the members
-R names; without a task, the current context's (see set).

  -R  members of task_struct to print, separated by commas
  -x  integers in hexadecimal
  -d  integers in decimal`,
		Options:      []string{"-R", "-x", "-d"},
		NeedsVMLinux: true,
		Run:          runTask,
	})
	delete(planned, "task")
}

func runTask(c *Context, args []string) error {
	opts, rest, err := getopt(args, "xd", "R")
	if err != nil {
		return err
	}
	var members []string
	var flags []string
	for _, o := range opts {
		switch o.name {
		case "R":
			members = append(members, strings.Split(o.val, ",")...)
		default:
			flags = append(flags, "-"+o.name)
		}
	}
	var sel []*tasks.Task
	if len(rest) == 0 {
		t, err := c.Session.CurrentTask()
		if err != nil {
			return err
		}
		sel = []*tasks.Task{t}
	} else if sel, err = c.Session.SelectTasks(rest); err != nil {
		return err
	}
	for _, t := range sel {
		if err := c.Stopped(); err != nil {
			return err
		}
		writeTaskHeader(c.Out, t)
		name := "task_struct"
		if len(members) > 0 {
			name += "." + strings.Join(members, ",")
		}
		if err := runStruct(c, "struct", append(append([]string{}, flags...), name, fmt.Sprintf("%x", t.Addr))); err != nil {
			return err
		}
		// crash ends each task's members with an empty line.
		fmt.Fprintln(c.Out)
	}
	return nil
}
