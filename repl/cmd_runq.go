package repl

import (
	"fmt"
	"io"

	"github.com/vmcoretools/vmcore/tasks"
	"github.com/vmcoretools/vmcore/value"
)

func init() {
	register(&Command{
		Name:    "runq",
		Usage:   "",
		Summary: "run queue",
		Help: `Shows each CPU's run queue as crash's runq does: the struct rq address,
the task running there, then the tasks queued in the real-time priority
array and in the CFS red-black tree, each with its priority.`,
		NeedsVMLinux: true,
		Run:          runRunq,
	})
}

// Bounds against corrupt queues.
const (
	maxQueued  = 1 << 16
	maxRBDepth = 128
	maxRTPrio  = 100 // MAX_RT_PRIO
	// maxGroupDepth bounds task-group nesting (the kernel's cgroup depth
	// is far less in practice).
	maxGroupDepth = 32
)

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
		rq, err := vals.PerCPU("runqueues", cpu)
		if err != nil {
			return err
		}
		if err := writeRunqueue(c.Out, tb, rq, cpu); err != nil {
			return err
		}
	}
	return nil
}

// writeRunqueue is crash's dump_CFS_runqueues for one CPU.
func writeRunqueue(w io.Writer, tb *tasks.Table, rq value.Value, cpu int) error {
	fmt.Fprintf(w, "CPU %d RUNQUEUE: %x\n", cpu, rq.Addr)
	if curr, err := memberUint(rq, "curr"); err == nil {
		if t := tb.ByAddr(curr); t != nil {
			fmt.Fprintf(w, "  CURRENT: PID: %-6d TASK: %x  COMMAND: \"%s\"\n", t.PID, t.Addr, t.Comm)
		} else {
			fmt.Fprintf(w, "  CURRENT: TASK: %x (not in the task list)\n", curr)
		}
	}

	active, err := rq.Member("rt.active")
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "  RT PRIO_ARRAY: %x\n", active.Addr)
	rt, err := rtQueued(tb, active)
	if err != nil {
		return err
	}
	writeQueued(w, rt)

	timeline, err := rq.Member("cfs.tasks_timeline")
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "  CFS RB_ROOT: %x\n", timeline.Addr)
	cfs, err := cfsQueued(tb, timeline, 0)
	if err != nil {
		return err
	}
	writeQueued(w, cfs)
	return nil
}

func writeQueued(w io.Writer, ts []*tasks.Task) {
	if len(ts) == 0 {
		fmt.Fprintln(w, "     [no tasks queued]")
		return
	}
	for _, t := range ts {
		fmt.Fprintf(w, "     [%3d] PID: %-6d TASK: %x  COMMAND: \"%s\"\n", t.Prio, t.PID, t.Addr, t.Comm)
	}
}

func memberUint(v value.Value, path string) (uint64, error) {
	m, err := v.Member(path)
	if err != nil {
		return 0, err
	}
	return m.Uint()
}

// rtQueued lists the tasks on a real-time priority array's lists, highest
// priority (lowest index) first: struct rt_prio_array.queue[MAX_RT_PRIO]
// of sched_rt_entity.run_list.
func rtQueued(tb *tasks.Table, active value.Value) ([]*tasks.Task, error) {
	vals := active.Context()
	var out []*tasks.Task
	for prio := 0; prio < maxRTPrio; prio++ {
		q, err := active.Member(fmt.Sprintf("queue[%d]", prio))
		if err != nil {
			return nil, err
		}
		ents, err := vals.ListEntries(q.Addr, "struct sched_rt_entity", "run_list", maxQueued)
		if err != nil {
			return nil, fmt.Errorf("RT queue %d: %w", prio, err)
		}
		for _, e := range ents {
			t, err := e.ContainerOf("struct task_struct", "rt")
			if err != nil {
				return nil, err
			}
			if task := tb.ByAddr(t.Addr); task != nil {
				out = append(out, task)
			}
		}
	}
	return out, nil
}

// cfsQueued lists the tasks in a CFS run queue's red-black tree in order
// (leftmost, the next to run, first): sched_entity.run_node of tasks.
func cfsQueued(tb *tasks.Table, timeline value.Value, level int) ([]*tasks.Task, error) {
	if level > maxGroupDepth {
		return nil, fmt.Errorf("CFS task groups nested deeper than %d (corrupt?)", maxGroupDepth)
	}
	vals := timeline.Context()
	root, err := memberUint(timeline, "rb_root.rb_node") // rb_root_cached, 4.14+
	if err != nil {
		if root, err = memberUint(timeline, "rb_node"); err != nil {
			return nil, err
		}
	}
	var nodes []uint64
	var walk func(node uint64, depth int) error
	walk = func(node uint64, depth int) error {
		if node == 0 {
			return nil
		}
		if depth > maxRBDepth || len(nodes) > maxQueued {
			return fmt.Errorf("CFS tree at %x: deeper than %d or more than %d nodes (corrupt?)", timeline.Addr, maxRBDepth, maxQueued)
		}
		n, err := vals.At("struct rb_node", node)
		if err != nil {
			return err
		}
		left, err := memberUint(n, "rb_left")
		if err != nil {
			return err
		}
		right, err := memberUint(n, "rb_right")
		if err != nil {
			return err
		}
		if err := walk(left, depth+1); err != nil {
			return err
		}
		nodes = append(nodes, node)
		return walk(right, depth+1)
	}
	if err := walk(root, 0); err != nil {
		return nil, err
	}
	var out []*tasks.Task
	for _, node := range nodes {
		se, err := vals.ContainerOf(node, "struct sched_entity", "run_node")
		if err != nil {
			return nil, err
		}
		// A task group's entity (CONFIG_FAIR_GROUP_SCHED) owns a run
		// queue of its own: its tasks are listed in its place (crash
		// heads them with the group; that layout is not reproduced).
		if myq, err := memberUint(se, "my_q"); err == nil && myq != 0 {
			grq, err := vals.At("struct cfs_rq", myq)
			if err != nil {
				return nil, err
			}
			gtl, err := grq.Member("tasks_timeline")
			if err != nil {
				return nil, err
			}
			sub, err := cfsQueued(tb, gtl, level+1)
			if err != nil {
				return nil, err
			}
			out = append(out, sub...)
			continue
		}
		t, err := se.ContainerOf("struct task_struct", "se")
		if err != nil {
			return nil, err
		}
		if task := tb.ByAddr(t.Addr); task != nil {
			out = append(out, task)
		}
	}
	return out, nil
}
