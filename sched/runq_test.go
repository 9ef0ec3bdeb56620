package sched_test

import (
	"errors"
	"strings"
	"testing"

	fk "github.com/vmcoretools/vmcore/internal/fakekernel"
	"github.com/vmcoretools/vmcore/sched"
	"github.com/vmcoretools/vmcore/tasks"
	"github.com/vmcoretools/vmcore/walk"
)

// kernel is a synthetic kernel with the scheduler's types (6.x layouts,
// trimmed) and helpers to queue entities.
type kernel struct {
	*fk.Kernel
	rqs []uint64
}

func newKernel(ncpu int) *kernel {
	k := &kernel{Kernel: fk.New(ncpu)}
	rb := fk.Struct("struct", "rb_node", fk.M("__rb_parent_color", fk.U64), fk.M("rb_right", fk.Self()), fk.M("rb_left", fk.Self()))
	rbRoot := fk.Struct("struct", "rb_root", fk.M("rb_node", fk.Ptr(rb)))
	rbCached := fk.Struct("struct", "rb_root_cached", fk.M("rb_root", rbRoot), fk.M("rb_leftmost", fk.Ptr(rb)))
	se := fk.Struct("struct", "sched_entity", fk.M("load", fk.U64), fk.M("run_node", rb), fk.M("on_rq", fk.U32), fk.M("my_q", fk.Ptr(fk.Void)))
	rtse := fk.Struct("struct", "sched_rt_entity", fk.M("run_list", fk.ListHead), fk.M("timeout", fk.U64), fk.M("my_q", fk.Ptr(fk.Void)))
	task := fk.Struct("struct", "task_struct", fk.M("__state", fk.U32), fk.M("prio", fk.I32), fk.M("se", se), fk.M("rt", rtse), fk.M("pid", fk.I32))
	cfsRq := fk.Struct("struct", "cfs_rq", fk.M("nr_running", fk.U32), fk.M("tasks_timeline", rbCached), fk.M("curr", fk.Ptr(se)))
	prioArray := fk.Struct("struct", "rt_prio_array", fk.M("bitmap", fk.Array(fk.U64, 2)), fk.M("queue", fk.Array(fk.ListHead, 100)))
	rtRq := fk.Struct("struct", "rt_rq", fk.M("active", prioArray), fk.M("rt_nr_running", fk.U32))
	rq := fk.Struct("struct", "rq", fk.M("nr_running", fk.U32), fk.M("curr", fk.Ptr(task)), fk.M("cfs", cfsRq), fk.M("rt", rtRq))
	k.Add(fk.ListHead, rb, rbRoot, rbCached, se, rtse, task, cfsRq, prioArray, rtRq, rq)
	k.rqs = k.PerCPUVar("runqueues", "struct rq")
	for _, r := range k.rqs {
		k.emptyRT(r + k.Offset("struct rq", "rt"))
	}
	return k
}

// emptyRT makes every list of an rt_rq's priority array an empty ring.
func (k *kernel) emptyRT(rtRq uint64) {
	for i := 0; i < 100; i++ {
		h := rtRq + k.Offset("struct rt_rq", "active.queue") + uint64(16*i)
		k.Link(h)
	}
}

// rtQueue links entities (sched_rt_entity addresses) on queue[prio].
func (k *kernel) rtQueue(rtRq uint64, prio int, ents ...uint64) {
	nodes := []uint64{rtRq + k.Offset("struct rt_rq", "active.queue") + uint64(16*prio)}
	for _, e := range ents {
		nodes = append(nodes, e+k.Offset("struct sched_rt_entity", "run_list"))
	}
	k.Link(nodes...)
}

// tree makes a cfs_rq's tree: root with left and right children (sched
// entities, 0 for none); leftmost is set to the left child or the root.
func (k *kernel) tree(cfsRq, root, left, right uint64) {
	node := func(se uint64) uint64 {
		if se == 0 {
			return 0
		}
		return se + k.Offset("struct sched_entity", "run_node")
	}
	k.Set(cfsRq, "struct cfs_rq", "tasks_timeline.rb_root.rb_node", node(root))
	k.Set(root, "struct sched_entity", "run_node.rb_left", node(left))
	k.Set(root, "struct sched_entity", "run_node.rb_right", node(right))
	lm := left
	if lm == 0 {
		lm = root
	}
	k.Set(cfsRq, "struct cfs_rq", "tasks_timeline.rb_leftmost", node(lm))
}

func (k *kernel) task(tb *[]*tasks.Task, pid, prio int, comm string) uint64 {
	a := k.New("struct task_struct")
	*tb = append(*tb, &tasks.Task{Addr: a, PID: pid, Prio: prio, Comm: comm})
	return a
}

func (k *kernel) se(task uint64) uint64   { return task + k.Offset("struct task_struct", "se") }
func (k *kernel) rtse(task uint64) uint64 { return task + k.Offset("struct task_struct", "rt") }

// group allocates a group entity owning a new queue of type typ.
func (k *kernel) group(entType, qType string) (ent, q uint64) {
	ent, q = k.New(entType), k.New(qType)
	k.Set(ent, entType, "my_q", q)
	return ent, q
}

func pids(ts []*sched.Task) []int {
	var out []int
	for _, t := range ts {
		out = append(out, t.PID)
	}
	return out
}

func TestRunQueues(t *testing.T) {
	k := newKernel(2)
	var ts []*tasks.Task
	a := k.task(&ts, 1, 120, "init")
	r1 := k.task(&ts, 10, 0, "rt-hi")
	r2 := k.task(&ts, 11, 96, "rt-group")
	c1 := k.task(&ts, 20, 120, "c1")
	c2 := k.task(&ts, 21, 100, "c2")
	c3 := k.task(&ts, 22, 139, "c3")
	c4 := k.task(&ts, 23, 120, "c4")
	stray := k.New("struct task_struct") // not in the task table
	tb := tasks.NewTable(ts)

	rq := k.rqs[0]
	k.Set(rq, "struct rq", "curr", a)
	rt := rq + k.Offset("struct rq", "rt")
	gEnt, gRq := k.group("struct sched_rt_entity", "struct rt_rq")
	k.emptyRT(gRq)
	k.rtQueue(rt, 0, k.rtse(r1))
	k.rtQueue(rt, 5, gEnt)
	k.rtQueue(gRq, 3, k.rtse(r2))
	k.rtQueue(rt, 7, k.rtse(stray))

	cfs := rq + k.Offset("struct rq", "cfs")
	hEnt, hRq := k.group("struct sched_entity", "struct cfs_rq")
	k.tree(cfs, k.se(c2), k.se(c1), hEnt)
	k.tree(hRq, k.se(c3), 0, 0)
	kEnt, kRq := k.group("struct sched_entity", "struct cfs_rq")
	k.Set(cfs, "struct cfs_rq", "curr", kEnt)
	k.tree(kRq, k.se(c4), 0, 0)

	k.Set(k.rqs[1], "struct rq", "curr", stray)

	rqs, err := sched.RunQueues(k.C, tb, []int{0, 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(rqs) != 2 || rqs[0].Addr != rq || rqs[0].CPU != 0 || rqs[1].CPU != 1 {
		t.Fatalf("run queues %+v", rqs)
	}
	q := rqs[0]
	if q.Current == nil || q.Current.PID != 1 || q.Current.Comm != "init" {
		t.Errorf("current %+v", q.Current)
	}
	if q.RT.Addr != rt+k.Offset("struct rt_rq", "active") || q.RT.RQ != rt {
		t.Errorf("RT array at %#x", q.RT.Addr)
	}
	var rtGot []int
	for _, e := range q.RT.Tasks() {
		rtGot = append(rtGot, e.Prio, e.Task.PID)
	}
	if want := []int{0, 10, 3, 11}; !equal(rtGot, want) {
		t.Errorf("RT (prio, pid) = %v, want %v", rtGot, want)
	}
	if len(q.RT.Entities) != 3 || q.RT.Entities[1].Group == nil || !q.RT.Entities[2].Task.Unlisted {
		t.Errorf("RT entities %+v", q.RT.Entities)
	}
	if q.CFS.Root != cfs+k.Offset("struct cfs_rq", "tasks_timeline") || q.CFS.Addr != cfs {
		t.Errorf("CFS root %#x", q.CFS.Root)
	}
	if got, want := pids(q.CFS.Tasks()), []int{23, 20, 21, 22}; !equal(got, want) {
		t.Errorf("CFS tasks %v, want %v (running group first, then the tree in order)", got, want)
	}
	if q.CFS.Running == nil || q.CFS.Running.Addr != kRq || len(q.CFS.Entities) != 3 || q.CFS.Entities[2].Group.Addr != hRq {
		t.Errorf("CFS structure %+v", q.CFS)
	}
	if cur := rqs[1].Current; cur == nil || !cur.Unlisted || cur.Addr != stray {
		t.Errorf("CPU 1 current %+v", cur)
	}
	if len(rqs[1].RT.Tasks()) != 0 || len(rqs[1].CFS.Tasks()) != 0 {
		t.Error("CPU 1 has queued tasks")
	}

	// A tree whose cached leftmost node is NULL is not walked (crash).
	k.Set(hRq, "struct cfs_rq", "tasks_timeline.rb_leftmost", 0)
	q, err = sched.Read(k.C, tb, 0)
	if err != nil || !equal(pids(q.CFS.Tasks()), []int{23, 20, 21}) {
		t.Errorf("leftmost NULL: %v, %v", pids(q.CFS.Tasks()), err)
	}
}

func TestRunQueueCorrupt(t *testing.T) {
	k := newKernel(1)
	var ts []*tasks.Task
	c1 := k.task(&ts, 20, 120, "c1")
	tb := tasks.NewTable(ts)
	cfs := k.rqs[0] + k.Offset("struct rq", "cfs")

	// A node that is its own left child: a cycle, named.
	k.tree(cfs, k.se(c1), k.se(c1), 0)
	q, err := sched.Read(k.C, tb, 0)
	if !errors.Is(err, walk.ErrCycle) || q == nil || q.Addr != k.rqs[0] {
		t.Errorf("cycle: %v (queue %v)", err, q)
	}

	// A group whose queue is the queue itself: nesting bounded.
	ent, _ := k.group("struct sched_entity", "struct cfs_rq")
	k.Set(ent, "struct sched_entity", "my_q", cfs)
	k.tree(cfs, ent, 0, 0)
	if _, err := sched.Read(k.C, tb, 0); err == nil {
		t.Error("a group containing itself was read")
	}
	k.tree(cfs, 0, 0, 0)
	k.Set(cfs, "struct cfs_rq", "tasks_timeline.rb_leftmost", 0)
	k.Set(cfs, "struct cfs_rq", "curr", ent)
	if _, err := sched.Read(k.C, tb, 0); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Errorf("a running group containing itself: %v", err)
	}
	k.Set(cfs, "struct cfs_rq", "curr", 0)

	// An RT list leading to unmapped memory: the error names the address.
	rt := k.rqs[0] + k.Offset("struct rq", "rt")
	k.Put64(rt+k.Offset("struct rt_rq", "active.queue"), 0xffff999900000000)
	if _, err := sched.Read(k.C, tb, 0); err == nil || !strings.Contains(err.Error(), "0xffff999900000000") {
		t.Errorf("unmapped RT list: %v", err)
	}
	if _, err := sched.Read(k.C, tb, 5); err == nil {
		t.Error("a CPU without a run queue was read")
	}
	if _, err := sched.Read(nil, tb, 0); err == nil {
		t.Error("Read(nil) did not fail")
	}
}

func equal(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
