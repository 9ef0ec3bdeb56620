package repl

// The session's kernel views of the system, its run queues and its
// modules, as values (packages system, sched, module): sys, runq and mod
// format them; -json printers marshal them.

import (
	"github.com/vmcoretools/vmcore/module"
	"github.com/vmcoretools/vmcore/sched"
	"github.com/vmcoretools/vmcore/system"
)

// SystemSummary is the model's system summary (package system) from what
// the session has: the kernel's types with a vmlinux, the dump's own
// records (VMCOREINFO, CPUs, date, RAM, the kernel log) without.
func (s *Session) SystemSummary() *system.Summary {
	if s.Kernel != nil {
		return s.Kernel.Summary()
	}
	if s.Debug == nil {
		// The kernel's own BTF and kallsyms give what the vmlinux would.
		if k, err := s.dumpKernel(); err == nil {
			return k.Summary()
		}
	}
	return s.Dump.Summary()
}

// RunQueues reads the run queue of each of the dump's CPUs. On an error
// the queues read before it, and the part read of the failing one, come
// with it.
func (s *Session) RunQueues() ([]*sched.RunQueue, error) {
	if k, err := s.kernel(); err == nil {
		return k.RunQueues()
	}
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
	if s.Debug == nil {
		// Without a vmlinux no symbols were loaded at the start: count
		// each module's own table now, as the session with one did.
		module.ReadSymbols(vals, mods)
		return mods, err
	}
	for i := range mods {
		mods[i].KallsymsSymbols = s.moduleSymbols[mods[i].Addr]
	}
	return mods, err
}
