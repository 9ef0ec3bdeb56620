package sched_test

import (
	"fmt"

	"github.com/vmcoretools/vmcore/sched"
	"github.com/vmcoretools/vmcore/tasks"
	"github.com/vmcoretools/vmcore/value"
)

// exampleKernel is a synthetic two-CPU kernel: on CPU 0, init runs, one
// real-time task and two fair tasks wait; CPU 1 is idle.
func exampleKernel() (*value.Context, *tasks.Table) {
	k := newKernel(2)
	var ts []*tasks.Task
	swapper := k.task(&ts, 0, 120, "swapper/1")
	init := k.task(&ts, 1, 120, "init")
	rt := k.task(&ts, 30, 49, "irq/24-nvme")
	a := k.task(&ts, 40, 120, "make")
	b := k.task(&ts, 41, 120, "cc1")
	k.Set(k.rqs[0], "struct rq", "curr", init)
	k.Set(k.rqs[1], "struct rq", "curr", swapper)
	k.rtQueue(k.rqs[0]+k.Offset("struct rq", "rt"), 49, k.rtse(rt))
	k.tree(k.rqs[0]+k.Offset("struct rq", "cfs"), k.se(b), k.se(a), 0)
	return k.C, tasks.NewTable(ts)
}

// Each CPU's run queue: the task running, then the queued tasks in the
// order the scheduler picks them.
func ExampleRunQueues() {
	c, tb := exampleKernel() // with a dump: kernel.Values and kernel.Tasks()
	rqs, err := sched.RunQueues(c, tb, []int{0, 1})
	if err != nil {
		fmt.Println(err)
	}
	for _, rq := range rqs {
		fmt.Printf("CPU %d: %s running\n", rq.CPU, rq.Current.Comm)
		for _, e := range rq.RT.Tasks() {
			fmt.Printf("  RT [%d] %d %s\n", e.Prio, e.Task.PID, e.Task.Comm)
		}
		for _, t := range rq.CFS.Tasks() {
			fmt.Printf("  CFS [%d] %d %s\n", t.Prio, t.PID, t.Comm)
		}
	}
	// Output:
	// CPU 0: init running
	//   RT [49] 30 irq/24-nvme
	//   CFS [120] 40 make
	//   CFS [120] 41 cc1
	// CPU 1: swapper/1 running
}
