package repl

import (
	"fmt"
	"io"

	"github.com/vmcoretools/vmcore/sched"
)

func init() {
	register(&Command{
		Name:    "runq",
		Usage:   "",
		Summary: "run queue",
		Help: `Shows each CPU's run queue as crash's runq does: the struct rq address,
the task running there, then the tasks queued in the real-time priority
array and in the CFS red-black tree, each with its priority (the tasks of
task groups' queues in their group's place).`,
		NeedsVMLinux: true,
		FromBTF:      true,
		Run:          runRunq,
	})
}

func runRunq(c *Context, args []string) error {
	if len(args) > 0 {
		return usagef("options of crash's runq (-t, -T, -m, -g, -c, -d) are not supported yet")
	}
	vals, err := c.Session.Values()
	if err != nil {
		return err
	}
	tb, err := c.Session.TaskTable()
	if err != nil {
		return err
	}
	for cpu := 0; cpu < c.Session.Dump.NumCPUs(); cpu++ {
		if err := c.Stopped(); err != nil {
			return err
		}
		if cpu > 0 {
			fmt.Fprintln(c.Out)
		}
		rq, err := sched.Read(vals, tb, cpu)
		if rq != nil {
			writeRunqueue(c.Out, rq)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// writeRunqueue prints one CPU's run queue in the layout of crash's
// dump_CFS_runqueues.
func writeRunqueue(w io.Writer, rq *sched.RunQueue) {
	fmt.Fprintf(w, "CPU %d RUNQUEUE: %x\n", rq.CPU, rq.Addr)
	if t := rq.Current; t != nil {
		if t.Unlisted {
			fmt.Fprintf(w, "  CURRENT: %x\n", t.Addr)
		} else {
			fmt.Fprintf(w, "  CURRENT: PID: %-5d  TASK: %x  COMMAND: \"%s\"\n", t.PID, t.Addr, t.Comm)
		}
	}
	if rq.RT.Addr == 0 {
		return
	}
	fmt.Fprintf(w, "  RT PRIO_ARRAY: %x\n", rq.RT.Addr)
	rt := rq.RT.Tasks()
	for _, e := range rt {
		writeQueued(w, e.Prio, e.Task)
	}
	if len(rt) == 0 {
		fmt.Fprintln(w, "     [no tasks queued]")
	}
	if rq.CFS.Root == 0 {
		return
	}
	fmt.Fprintf(w, "  CFS RB_ROOT: %x\n", rq.CFS.Root)
	cfs := rq.CFS.Tasks()
	for _, t := range cfs {
		writeQueued(w, t.Prio, t)
	}
	if len(cfs) == 0 {
		fmt.Fprintln(w, "     [no tasks queued]")
	}
}

func writeQueued(w io.Writer, prio int, t *sched.Task) {
	fmt.Fprintf(w, "     [%3d] PID: %-5d  TASK: %x  COMMAND: \"%s\"\n", prio, t.PID, t.Addr, t.Comm)
}
