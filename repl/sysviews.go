package repl

// The session's kernel views of the system, its run queues and its
// modules, as values (packages system, sched, module): sys, runq and mod
// format them; -json printers marshal them.

import (
	"github.com/vmcoretools/vmcore/module"
	"github.com/vmcoretools/vmcore/printk"
	"github.com/vmcoretools/vmcore/sched"
	"github.com/vmcoretools/vmcore/system"
)

// SystemSummary is the model's system summary (package system) from what
// the session has: the kernel's types with a vmlinux, the dump's own
// records (VMCOREINFO, CPUs, date, RAM, the kernel log) without.
func (s *Session) SystemSummary() *system.Summary {
	d := s.Dump
	src := system.Sources{
		Info:     d.Info(),
		Mem:      virtReader{s},
		DumpCPUs: d.NumCPUs(),
		PageSize: uint64(d.PageSize()),
		Release:  d.Release(),
		Machine:  d.Arch(),
		RAM: func() (uint64, error) {
			st, err := d.PageStats()
			return st.MemoryBytes, err
		},
		Log: func() ([]printk.Record, error) {
			recs, _, err := s.KernelLog()
			return recs, err
		},
	}
	if t, ok := d.CrashTime(); ok {
		src.CrashTime = t
	}
	if vals, err := s.Values(); err == nil {
		src.Values = vals
		src.Tasks = s.TaskTable
	}
	return system.Summarize(src)
}

// virtReader reads the session's kernel virtual memory as an io.ReaderAt.
type virtReader struct{ s *Session }

func (r virtReader) ReadAt(p []byte, off int64) (int, error) { return r.s.ReadVirt(p, uint64(off)) }

// RunQueues reads the run queue of each of the dump's CPUs. On an error
// the queues read before it, and the part read of the failing one, come
// with it.
func (s *Session) RunQueues() ([]*sched.RunQueue, error) {
	vals, err := s.Values()
	if err != nil {
		return nil, err
	}
	tb, err := s.TaskTable()
	if err != nil {
		return nil, err
	}
	cpus := make([]int, s.Dump.NumCPUs())
	for i := range cpus {
		cpus[i] = i
	}
	return sched.RunQueues(vals, tb, cpus)
}

// Modules lists the loaded modules in the kernel's list order, each with
// the number of symbols read from its own table when the session opened.
// On a broken list the modules before the break come with the error.
func (s *Session) Modules() ([]module.Module, error) {
	vals, err := s.Values()
	if err != nil {
		return nil, err
	}
	mods, err := module.List(vals)
	for i := range mods {
		mods[i].KallsymsSymbols = s.moduleSymbols[mods[i].Addr]
	}
	return mods, err
}
