package repl

import (
	"errors"
	"fmt"
	"strings"

	"github.com/vmcoretools/vmcore/tasks"
)

func init() {
	register(&Command{
		Name:    "task",
		Usage:   "[-R member[,member]] [-x|-d] [pid | task | member] ...",
		Summary: "task_struct and thread_info contents",
		Help: `Prints each task's header line, its task_struct and its thread_info, or
only the members -R names (looked up in both); without a task, the
current context's (see set). A pid names all of its tasks. An argument
that is a task_struct member, or has a ',', '.' or '[', is taken as -R.

  -R  members, separated by commas (member.member and member[i] too)
  -x  integers in hexadecimal
  -d  integers in decimal`,
		Options:      []string{"-R", "-x", "-d"},
		NeedsVMLinux: true,
		FromBTF:      true,
		Run:          runTask,
	})
	delete(planned, "task")
}

func runTask(c *Context, args []string) error {
	opts, rest, err := getopt(args, "xdh", "R")
	if err != nil {
		return err
	}
	var members []string
	radix := ""
	for _, o := range opts {
		switch o.name {
		case "R":
			members = append(members, o.val)
		case "x", "h":
			if radix == "d" {
				return errors.New("-d and -x are mutually exclusive")
			}
			radix = "x"
		case "d":
			if radix == "x" {
				return errors.New("-d and -x are mutually exclusive")
			}
			radix = "d"
		}
	}
	tb, err := c.Session.TaskTable()
	if err != nil {
		return err
	}
	syms := c.Session.info()
	var sel []*tasks.Task
	bogus := 0
	for _, a := range rest {
		switch {
		case isNumber(a):
			ts, _, ok := contextTasks(tb, a)
			if !ok {
				bogus++
				fmt.Fprintf(c.Err, "task: invalid task or pid value: %s\n\n", a)
			}
			sel = append(sel, ts...)
		case strings.Contains(a, ",") || hasMember(syms, "task_struct", a) ||
			strings.Contains(a, ".") || strings.Contains(a, "["):
			members = append(members, a)
		default:
			fmt.Fprintf(c.Err, "task: invalid task, pid, or task_struct member: %s\n\n", a)
		}
	}
	if len(sel) == 0 && bogus == 0 {
		t, err := c.Session.CurrentTask()
		if err != nil {
			return err
		}
		sel = []*tasks.Task{t}
	}
	for _, t := range sel {
		if err := c.Stopped(); err != nil {
			return err
		}
		if err := doTask(c, t, false, members, radix); err != nil {
			return err
		}
	}
	return nil
}
