package vmcore

import (
	"fmt"

	"github.com/vmcoretools/vmcore/arch"
	"github.com/vmcoretools/vmcore/kmem"
	"github.com/vmcoretools/vmcore/module"
	"github.com/vmcoretools/vmcore/printk"
	"github.com/vmcoretools/vmcore/sched"
	"github.com/vmcoretools/vmcore/system"
	"github.com/vmcoretools/vmcore/tasks"
)

// The kernel model's views, one call each. Each is a function of a view
// package (system, sched, module, tasks) over the Kernel's typed reads;
// these methods only gather what the function needs.

// Summary is the system summary crash's sys shows, from the dump alone:
// what its own records tell (VMCOREINFO, the CPUs' notes, the date, the
// memory, the kernel log). Fields that need the kernel's types are nil,
// with the reason in Summary.Unknown; Kernel.Summary fills them.
func (d *Dump) Summary() *system.Summary { return system.Summarize(d.summarySources()) }

func (d *Dump) summarySources() system.Sources {
	src := system.Sources{
		Info:     d.Info(),
		Mem:      virtReader{d},
		DumpCPUs: d.NumCPUs(),
		PageSize: uint64(d.PageSize()),
		Release:  d.Release(),
		Machine:  d.Arch(),
		RAM: func() (uint64, error) {
			st, err := d.PageStats()
			return st.MemoryBytes, err
		},
		Log: func() ([]printk.Record, error) {
			recs, _, err := d.KernelLog()
			return recs, err
		},
	}
	if t, ok := d.CrashTime(); ok {
		src.CrashTime = t
	}
	return src
}

// virtReader reads a dump's kernel virtual memory as an io.ReaderAt.
type virtReader struct{ d *Dump }

func (r virtReader) ReadAt(p []byte, off int64) (int, error) { return r.d.ReadVirt(p, uint64(off)) }

// Summary is the system summary crash's sys shows: CPUs, date, uptime,
// load average, tasks, uname, memory, and the panic message with the
// panicking CPU and task. A part that cannot be read is nil, with its
// reason in Summary.Unknown.
func (k *Kernel) Summary() *system.Summary {
	src := k.Dump.summarySources()
	src.Values = k.Values
	src.Tasks = k.Tasks
	return system.Summarize(src)
}

// RunQueues reads the run queue of each of the dump's CPUs: its current
// task, RT priority arrays and CFS tree, as crash's runq walks them. On an
// error, the queues read before it come with it.
func (k *Kernel) RunQueues() ([]*sched.RunQueue, error) {
	tb, err := k.Tasks()
	if err != nil {
		return nil, err
	}
	cpus := make([]int, k.Dump.NumCPUs())
	for i := range cpus {
		cpus[i] = i
	}
	return sched.RunQueues(k.Values, tb, cpus)
}

// Modules lists the loaded modules in the kernel's list order. On a broken
// list the modules before the break come with the error.
func (k *Kernel) Modules() ([]module.Module, error) { return module.List(k.Values) }

// Status is what ps shows of a task: state, times, memory, parent, thread
// group, policy and priority.
func (k *Kernel) Status(t *tasks.Task) (tasks.Status, error) {
	tb, err := k.Tasks()
	if err != nil {
		return tasks.Status{}, err
	}
	return tb.Status(t), nil
}

// Files is a task's open files and its root and current directories, with
// paths built across mount points.
func (k *Kernel) Files(t *tasks.Task) (*tasks.FileSet, error) { return tasks.Files(k.Values, t) }

// Signals is a task's signal state: handlers, blocked and pending sets,
// the task's and its thread group's queues.
func (k *Kernel) Signals(t *tasks.Task) (*tasks.SignalState, error) {
	a, err := arch.ForMachine(k.machine())
	if err != nil {
		return nil, err
	}
	return tasks.Signals(k.Values, a.ThreadFlags(), t)
}

// AddressSpace is a task's memory map: its mm, page tables, RSS and size,
// and each mapping with its file.
func (k *Kernel) AddressSpace(t *tasks.Task) (*tasks.AddressSpace, error) {
	tb, err := k.Tasks()
	if err != nil {
		return nil, err
	}
	return tb.AddressSpace(k.Values, t)
}

// Memory is the kernel's memory view: the translation of an address as
// crash's vtop shows it, and struct pages (package kmem).
func (k *Kernel) Memory() *kmem.Memory {
	k.model.memOnce.Do(func() { k.model.mem = kmem.New(k.Virt, k.Values).UseVMCOREINFO(k.Dump.Info()) })
	return k.model.mem
}

// Vtop translates vaddr as crash's vtop does: an address below the top of
// user space in the address space of task t (nil: the panic task, crash's
// context at start), any other by the kernel's page tables. A kernel
// address translated with a task gives the kernel's translation, as
// crash's vtop -c does: every process maps the kernel alike.
func (k *Kernel) Vtop(vaddr uint64, t *tasks.Task) (*kmem.Translation, error) {
	m := k.Memory()
	if !k.Virt.UserAddr(vaddr) {
		return m.VtopKernel(vaddr), nil
	}
	if t == nil {
		pt, err := k.PanicTask()
		if err != nil {
			return nil, err
		}
		if pt == nil {
			return nil, fmt.Errorf("vmcore: %#x is a user address, and no task was given and the dump has no panic task", vaddr)
		}
		t = pt
	}
	return m.VtopUser(t, vaddr)
}
