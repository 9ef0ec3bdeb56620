package repl

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vmcoretools/vmcore/sched"
)

// writeRunqueue prints a run queue value in crash's layout: RT tasks at
// their queue's index, a group's tasks in its place (the running group's
// first), tasks outside the task list left out, a current task outside it
// as its address.
func TestWriteRunqueue(t *testing.T) {
	task := func(pid, prio int, addr uint64, comm string) *sched.Task {
		return &sched.Task{Addr: addr, PID: pid, Prio: prio, Comm: comm}
	}
	rq := &sched.RunQueue{
		CPU: 1, Addr: 0xffff88807e931980,
		Current: &sched.Task{Addr: 0xffff888001234000, Unlisted: true},
		RT: sched.RTQueue{Addr: 0xffff88807e931bc0, Entities: []sched.RTEntity{
			{Prio: 0, Task: task(10, 0, 0xffff888000010000, "migration/1")},
			{Prio: 5, Group: &sched.RTQueue{Entities: []sched.RTEntity{{Prio: 3, Task: task(123456, 96, 0xffff888000020000, "rt-in-group")}}}},
			{Prio: 7, Task: &sched.Task{Addr: 0xffff888000030000, Unlisted: true}},
		}},
		CFS: sched.CFSQueue{Root: 0xffff88807e931a30,
			Running: &sched.CFSQueue{Entities: []sched.CFSEntity{{Task: task(42, 120, 0xffff888000040000, "running-group")}}},
			Entities: []sched.CFSEntity{
				{Task: task(7, 100, 0xffff888000050000, "kworker/1:1")},
				{Group: &sched.CFSQueue{Entities: []sched.CFSEntity{{Task: task(8, 139, 0xffff888000060000, "nice19")}}}},
			}},
	}
	var out bytes.Buffer
	writeRunqueue(&out, rq)
	want := `CPU 1 RUNQUEUE: ffff88807e931980
  CURRENT: ffff888001234000
  RT PRIO_ARRAY: ffff88807e931bc0
     [  0] PID: 10     TASK: ffff888000010000  COMMAND: "migration/1"
     [  3] PID: 123456  TASK: ffff888000020000  COMMAND: "rt-in-group"
  CFS RB_ROOT: ffff88807e931a30
     [120] PID: 42     TASK: ffff888000040000  COMMAND: "running-group"
     [100] PID: 7      TASK: ffff888000050000  COMMAND: "kworker/1:1"
     [139] PID: 8      TASK: ffff888000060000  COMMAND: "nice19"
`
	if d := cmp.Diff(want, out.String()); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	out.Reset()
	writeRunqueue(&out, &sched.RunQueue{CPU: 0, Addr: 0x1000, Current: task(0, 120, 0x2000, "swapper/0"), RT: sched.RTQueue{Addr: 0x1100}, CFS: sched.CFSQueue{Root: 0x1200}})
	want = `CPU 0 RUNQUEUE: 1000
  CURRENT: PID: 0      TASK: 2000  COMMAND: "swapper/0"
  RT PRIO_ARRAY: 1100
     [no tasks queued]
  CFS RB_ROOT: 1200
     [no tasks queued]
`
	if d := cmp.Diff(want, out.String()); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}
