package repl

import (
	"fmt"
	"strconv"
)

func init() {
	register(&Command{
		Name:    "set",
		Usage:   "[pid | task | -c cpu | -p]",
		Summary: "set a process context or internal crash variable",
		Help: `Without an argument, shows the current context: the task bt and task use
when given none. With a pid (its first task) or a task address, makes that
task the current context.

  -c  the task that was running on that CPU
  -p  back to the panic task`,
		Options:      []string{"-c", "-p"},
		NeedsVMLinux: true,
		FromBTF:      true,
		Run:          runSet,
	})
	delete(planned, "set")
}

func runSet(c *Context, args []string) error {
	opts, rest, err := getopt(args, "p", "c")
	if err != nil {
		return err
	}
	s := c.Session
	tr, err := s.Tracer()
	if err != nil {
		return err
	}
	tb := tr.Table
	// As crash, the first option decides and the rest is not looked at.
	for _, o := range opts {
		switch o.name {
		case "p":
			p := tr.PanicTask()
			if p == nil {
				fmt.Fprintln(c.Err, "set: no panic task found!")
				return nil
			}
			s.SetCurrentTask(p)
			writeContext(c.Out, p, tr)
			return nil
		case "c":
			cpu, err := strconv.Atoi(o.val)
			if err != nil {
				return fmt.Errorf("invalid expression: %s", o.val)
			}
			if cpu < 0 || cpu >= len(tb.Current) {
				plural := "s"
				if len(tb.Current) == 1 {
					plural = ""
				}
				return fmt.Errorf("invalid cpu number: system has only %d cpu%s", len(tb.Current), plural)
			}
			t := tb.ByAddr(tb.Current[cpu])
			if t == nil {
				return fmt.Errorf("cannot determine active task on cpu %d", cpu)
			}
			if cur, err := s.CurrentTask(); err == nil && cur == t {
				return nil // crash says nothing when the context does not change
			}
			s.SetCurrentTask(t)
			writeContext(c.Out, t, tr)
			return nil
		}
	}
	if len(rest) == 0 {
		t, err := s.CurrentTask()
		if err != nil {
			return err
		}
		writeContext(c.Out, t, tr)
		return nil
	}
	for _, a := range rest {
		ts, _, ok := contextTasks(tb, a)
		if !ok {
			fmt.Fprintf(c.Err, "set: invalid task or pid value: %s\n", a)
			continue
		}
		t := ts[0]
		s.SetCurrentTask(t)
		writeContext(c.Out, t, tr)
	}
	return nil
}
