package repl

import (
	"fmt"

	"github.com/vmcoretools/vmcore/tasks"
)

func init() {
	register(&Command{
		Name:    "foreach",
		Usage:   "[pid | task | command] ... [-k|-u] bt [-f] [-l]",
		Summary: "display command data for multiple tasks in the system",
		Help: `Runs bt for every task (or the tasks named), in pid order, as crash's
foreach bt.

  -k  kernel threads only
  -u  user tasks only`,
		Options:      []string{"-k", "-u"},
		NeedsVMLinux: true,
		Run:          runForeach,
	})
	delete(planned, "foreach")
}

func runForeach(c *Context, args []string) error {
	var sel []string
	var kernel, user bool
	cmd := -1
	for i, a := range args {
		if a == "bt" {
			cmd = i
			break
		}
		switch a {
		case "-k":
			kernel = true
		case "-u":
			user = true
		default:
			sel = append(sel, a)
		}
	}
	if cmd < 0 {
		return usagef("foreach runs bt only (give: foreach [tasks] bt [-f] [-l])")
	}
	opts, rest, err := getopt(args[cmd+1:], "fl", "")
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("bt options after foreach ... bt: -f, -l")
	}
	var bo btOptions
	for _, o := range opts {
		bo.frames = bo.frames || o.name == "f"
		bo.lines = bo.lines || o.name == "l"
	}
	tr, err := c.Session.Tracer()
	if err != nil {
		return err
	}
	list := tr.Table.Tasks
	if len(sel) > 0 {
		picked, err := selectTasks(tr.Table, sel)
		if err != nil {
			return err
		}
		want := map[*tasks.Task]bool{}
		for _, t := range picked {
			want[t] = true
		}
		list = nil
		for _, t := range tr.Table.Tasks {
			if want[t] {
				list = append(list, t)
			}
		}
	}
	first := true
	for _, t := range list {
		if err := c.Stopped(); err != nil {
			return err
		}
		if (kernel && !t.KernelThread()) || (user && t.KernelThread()) {
			continue
		}
		if !first {
			fmt.Fprintln(c.Out)
		}
		first = false
		writeBacktrace(c, tr, t, bo)
	}
	return nil
}
