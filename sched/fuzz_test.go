package sched_test

import (
	"testing"

	"github.com/vmcoretools/vmcore/sched"
	"github.com/vmcoretools/vmcore/tasks"
	"github.com/vmcoretools/vmcore/value"
)

// repeating is memory in which every address is readable: the input,
// repeated. Every link a run queue holds leads somewhere, so the walk's
// bounds, not unmapped memory, must end it.
type repeating []byte

func (r repeating) ReadAt(p []byte, off int64) (int, error) {
	for i := range p {
		p[i] = r[(uint64(off)+uint64(i))%uint64(len(r))]
	}
	return len(p), nil
}

// FuzzRunQueue reads a run queue over arbitrary memory: it ends, without
// a panic, with queues or an error.
func FuzzRunQueue(f *testing.F) {
	k := newKernel(1)
	var ts []*tasks.Task
	c1 := k.task(&ts, 20, 120, "c1")
	k.tree(k.rqs[0]+k.Offset("struct rq", "cfs"), k.se(c1), 0, 0)
	seed := make([]byte, 8192)
	k.Mem.ReadAt(seed, int64(k.rqs[0]&^4095))
	f.Add(seed)
	f.Add([]byte{0})
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) == 0 || len(b) > 1<<14 {
			return
		}
		c := value.New(k.Kernel, repeating(b))
		c.PerCPUOffset = k.C.PerCPUOffset
		rq, err := sched.Read(c, tasks.NewTable(ts), 0)
		if err == nil && rq == nil {
			t.Fatal("no queue and no error")
		}
		if rq != nil {
			rq.RT.Tasks()
			rq.CFS.Tasks()
		}
	})
}
