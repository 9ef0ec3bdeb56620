package sched

import (
	"errors"
	"fmt"

	"github.com/vmcoretools/vmcore/tasks"
	"github.com/vmcoretools/vmcore/value"
	"github.com/vmcoretools/vmcore/walk"
)

// Bounds against corrupt queues.
const (
	// MaxQueued bounds the entities of one queue (a list or a tree).
	MaxQueued = 1 << 16
	// MaxGroupDepth bounds task-group nesting (the kernel's cgroup depth
	// is far less in practice).
	MaxGroupDepth = 32
)

// RunQueue is one CPU's struct rq.
type RunQueue struct {
	CPU int `json:"cpu"`
	// Addr is the address of the CPU's struct rq (runqueues).
	Addr uint64 `json:"addr"`
	// Current is the task running on the CPU (rq->curr); nil when it
	// could not be read.
	Current *Task `json:"current"`
	// RT is the real-time queue (rq->rt).
	RT RTQueue `json:"rt"`
	// CFS is the fair queue (rq->cfs).
	CFS CFSQueue `json:"cfs"`
}

// Task is a task on a run queue.
type Task struct {
	// Addr is the task_struct.
	Addr uint64 `json:"addr"`
	PID  int    `json:"pid"`
	Comm string `json:"comm"`
	// Prio is the task's prio (task_struct.prio); for a task on an RT
	// queue, RTQueue's entries carry the queue's index too.
	Prio int `json:"prio"`
	// Unlisted is true for a task_struct the task table does not hold
	// (PID, Comm and Prio are then unknown): crash leaves such entries out.
	Unlisted bool `json:"unlisted,omitempty"`
}

// RTQueue is a real-time run queue's priority array (struct rt_prio_array).
type RTQueue struct {
	// RQ is the struct rt_rq.
	RQ uint64 `json:"rt_rq"`
	// Addr is its rt_prio_array (rt_rq.active): crash's RT PRIO_ARRAY.
	Addr uint64 `json:"addr"`
	// Entities are the queued entities, by priority (lowest index, the
	// highest priority, first), each list in order.
	Entities []RTEntity `json:"entities"`
}

// RTEntity is a queued struct sched_rt_entity: a task, or a task group's
// queue (CONFIG_RT_GROUP_SCHED).
type RTEntity struct {
	// Prio is the index of the priority list it is on.
	Prio int `json:"prio"`
	// Addr is the struct sched_rt_entity.
	Addr  uint64   `json:"addr"`
	Task  *Task    `json:"task,omitempty"`
	Group *RTQueue `json:"group,omitempty"`
}

// CFSQueue is a fair run queue (struct cfs_rq).
type CFSQueue struct {
	// Addr is the struct cfs_rq.
	Addr uint64 `json:"addr"`
	// Root is its red-black tree (cfs_rq.tasks_timeline): crash's CFS
	// RB_ROOT.
	Root uint64 `json:"root"`
	// Running is the queue of the group entity running on this queue
	// (cfs_rq->curr->my_q), which is not in the tree while it runs; nil
	// when a task (or nothing) runs.
	Running *CFSQueue `json:"running,omitempty"`
	// Entities are the entities in the tree, in order.
	Entities []CFSEntity `json:"entities"`
}

// CFSEntity is a struct sched_entity in a CFS tree: a task, or a task
// group's queue.
type CFSEntity struct {
	// Addr is the struct sched_entity.
	Addr  uint64    `json:"addr"`
	Task  *Task     `json:"task,omitempty"`
	Group *CFSQueue `json:"group,omitempty"`
}

// Tasks lists the tasks of an RT queue in crash's order, its groups'
// tasks in their place, with the priority index each is listed at.
// Entries the task table does not hold are left out, as crash does.
func (q *RTQueue) Tasks() []RTEntity {
	var out []RTEntity
	for _, e := range q.Entities {
		switch {
		case e.Group != nil:
			out = append(out, e.Group.Tasks()...)
		case e.Task != nil && !e.Task.Unlisted:
			out = append(out, e)
		}
	}
	return out
}

// Tasks lists the tasks of a CFS queue in crash's order: the running
// group's tasks first, then the tree in order, each group's tasks in its
// place. Entries the task table does not hold are left out, as crash does.
func (q *CFSQueue) Tasks() []*Task {
	var out []*Task
	if q.Running != nil {
		out = append(out, q.Running.Tasks()...)
	}
	for _, e := range q.Entities {
		switch {
		case e.Group != nil:
			out = append(out, e.Group.Tasks()...)
		case e.Task != nil && !e.Task.Unlisted:
			out = append(out, e.Task)
		}
	}
	return out
}

// RunQueues reads the run queues of the CPUs given (each a CPU number),
// naming tasks from tb. A queue that cannot be read ends the list: the
// queues before it, and the part of it read, are returned with the error.
func RunQueues(c *value.Context, tb *tasks.Table, cpus []int) ([]*RunQueue, error) {
	var out []*RunQueue
	for _, cpu := range cpus {
		rq, err := Read(c, tb, cpu)
		if rq != nil {
			out = append(out, rq)
		}
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

// Read reads one CPU's run queue (the per-CPU runqueues), naming tasks
// from tb. On an error the part read is returned with it.
func Read(c *value.Context, tb *tasks.Table, cpu int) (*RunQueue, error) {
	if c == nil {
		return nil, errors.New("sched: no kernel types")
	}
	rq, err := c.PerCPU("runqueues", cpu)
	if err != nil {
		return nil, err
	}
	r := &RunQueue{CPU: cpu, Addr: rq.Addr}
	if curr, err := memberUint(rq, "curr"); err == nil {
		r.Current = task(tb, curr)
	}
	rt, err := rq.Member("rt")
	if err != nil {
		return r, err
	}
	rd := &reader{tb: tb, seen: map[uint64]bool{}}
	if err := rd.rt(rt, &r.RT, 0); err != nil {
		return r, fmt.Errorf("sched: CPU %d: %w", cpu, err)
	}
	cfs, err := rq.Member("cfs")
	if err != nil {
		return r, err
	}
	if err := rd.cfs(cfs, &r.CFS, 0); err != nil {
		return r, fmt.Errorf("sched: CPU %d: %w", cpu, err)
	}
	return r, nil
}

// reader reads one run queue: the task table, the entities and group
// queues met (each once: a second meeting is a cycle) and their count,
// bounded by MaxQueued for the whole run queue, groups included.
type reader struct {
	tb    *tasks.Table
	seen  map[uint64]bool
	count int
}

// visit counts an entity or a group queue at addr, failing on one met
// before or one too many.
func (rd *reader) visit(addr uint64, what string) error {
	if rd.seen[addr] {
		return fmt.Errorf("%s at %#x met twice (a cycle)", what, addr)
	}
	rd.seen[addr] = true
	if rd.count++; rd.count > MaxQueued {
		return fmt.Errorf("%s at %#x: more than %d entities and groups on one run queue", what, addr, MaxQueued)
	}
	return nil
}

// task names a task_struct from the table.
func task(tb *tasks.Table, addr uint64) *Task {
	if tb != nil {
		if t := tb.ByAddr(addr); t != nil {
			return &Task{Addr: t.Addr, PID: t.PID, Comm: t.Comm, Prio: t.Prio}
		}
	}
	return &Task{Addr: addr, Unlisted: true}
}

func memberUint(v value.Value, path string) (uint64, error) {
	m, err := v.Member(path)
	if err != nil {
		return 0, err
	}
	return m.Uint()
}

// readRT reads a struct rt_rq's priority array: rt_prio_array.queue[] of
// sched_rt_entity.run_list, a group's entity (my_q) leading to its rt_rq.
func (rd *reader) rt(rt value.Value, q *RTQueue, depth int) error {
	if depth > MaxGroupDepth {
		return fmt.Errorf("RT task groups at %#x nested deeper than %d", rt.Addr, MaxGroupDepth)
	}
	q.RQ = rt.Addr
	active, err := rt.Member("active")
	if err != nil {
		return err
	}
	q.Addr = active.Addr
	queues, err := active.Member("queue")
	if err != nil {
		return err
	}
	heads, err := queues.Elements()
	if err != nil {
		return err
	}
	c := rt.Context()
	for prio, head := range heads {
		for se, err := range walk.List(head, "struct sched_rt_entity", "run_list", walk.Max(MaxQueued)) {
			if err != nil {
				return fmt.Errorf("RT queue %d: %w", prio, err)
			}
			if err := rd.visit(se.Addr, "RT entity"); err != nil {
				return err
			}
			e := RTEntity{Prio: prio, Addr: se.Addr}
			if myq, err := memberUint(se, "my_q"); err == nil && myq != 0 {
				if err := rd.visit(myq, "RT group queue"); err != nil {
					return err
				}
				grq, err := c.At("struct rt_rq", myq)
				if err != nil {
					return err
				}
				e.Group = &RTQueue{}
				q.Entities = append(q.Entities, e)
				if err := rd.rt(grq, e.Group, depth+1); err != nil {
					return err
				}
				continue
			}
			t, err := se.ContainerOf("struct task_struct", "rt")
			if err != nil {
				return err
			}
			e.Task = task(rd.tb, t.Addr)
			q.Entities = append(q.Entities, e)
		}
	}
	return nil
}

// readCFS reads a struct cfs_rq: the running group's queue
// (curr->my_q), then the tree of sched_entity.run_node in order, a group's
// entity leading to its own cfs_rq. As crash, the tree is not walked when
// its cached leftmost node is NULL.
func (rd *reader) cfs(cfs value.Value, q *CFSQueue, depth int) error {
	if depth > MaxGroupDepth {
		return fmt.Errorf("CFS task groups at %#x nested deeper than %d", cfs.Addr, MaxGroupDepth)
	}
	q.Addr = cfs.Addr
	timeline, err := cfs.Member("tasks_timeline")
	if err != nil {
		return err
	}
	q.Root = timeline.Addr
	c := cfs.Context()
	group := func(myq uint64) (*CFSQueue, error) {
		if err := rd.visit(myq, "CFS group queue"); err != nil {
			return nil, err
		}
		grq, err := c.At("struct cfs_rq", myq)
		if err != nil {
			return nil, err
		}
		g := &CFSQueue{}
		return g, rd.cfs(grq, g, depth+1)
	}
	if curr, err := memberUint(cfs, "curr"); err == nil && curr != 0 {
		se, err := c.At("struct sched_entity", curr)
		if err != nil {
			return err
		}
		if myq, err := memberUint(se, "my_q"); err == nil && myq != 0 {
			if q.Running, err = group(myq); err != nil {
				return err
			}
		}
	}
	// The cached leftmost node: rb_root_cached (4.14+) or cfs_rq's own.
	leftmost, err := memberUint(timeline, "rb_leftmost")
	if err != nil {
		leftmost, err = memberUint(cfs, "rb_leftmost")
	}
	if err == nil && leftmost == 0 {
		return nil
	}
	for se, err := range walk.RBTree(timeline, "struct sched_entity", "run_node", walk.Max(MaxQueued)) {
		if err != nil {
			return fmt.Errorf("CFS tree: %w", err)
		}
		if err := rd.visit(se.Addr, "CFS entity"); err != nil {
			return fmt.Errorf("CFS tree at %#x: %w", q.Root, err)
		}
		e := CFSEntity{Addr: se.Addr}
		if myq, err := memberUint(se, "my_q"); err == nil && myq != 0 {
			q.Entities = append(q.Entities, e)
			g, err := group(myq)
			q.Entities[len(q.Entities)-1].Group = g
			if err != nil {
				return err
			}
			continue
		}
		t, err := se.ContainerOf("struct task_struct", "se")
		if err != nil {
			return err
		}
		e.Task = task(rd.tb, t.Addr)
		q.Entities = append(q.Entities, e)
	}
	return nil
}
