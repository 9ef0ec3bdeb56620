package vmcore

import (
	"debug/dwarf"
	"debug/elf"
	"errors"
	"fmt"
	"path"
	"strings"
	"sync"

	"github.com/vmcoretools/vmcore/arch"
	_ "github.com/vmcoretools/vmcore/arch/all" // every architecture's CPU
	"github.com/vmcoretools/vmcore/kmem"
	"github.com/vmcoretools/vmcore/ktype"
	"github.com/vmcoretools/vmcore/module"
	"github.com/vmcoretools/vmcore/system"
	"github.com/vmcoretools/vmcore/tasks"
)

// model is the kernel model a Kernel builds on first use: the task
// table and the stack tracer.
type model struct {
	tasksOnce sync.Once
	tasks     *tasks.Table
	tasksErr  error

	tracerOnce sync.Once
	tracer     *tasks.Tracer
	tracerErr  error

	memOnce sync.Once
	mem     *kmem.Memory
}

// Tasks is the dump's task table, read once.
func (k *Kernel) Tasks() (*tasks.Table, error) {
	k.model.tasksOnce.Do(func() {
		k.model.tasks, k.model.tasksErr = tasks.Load(k.Values)
		if tb := k.model.tasks; tb != nil {
			if up, err := system.Uptime(k.Values); err == nil {
				tb.Uptime = up
			}
		}
	})
	return k.model.tasks, k.model.tasksErr
}

// Tracer is the kernel's stack tracer, made on first use: the
// architecture's unwinder (for x86_64: ORC, then .debug_frame CFI, then
// frame pointers) over the task table, with the registers the dump saved
// for each CPU.
func (k *Kernel) Tracer() (*tasks.Tracer, error) {
	k.model.tracerOnce.Do(func() { k.model.tracer, k.model.tracerErr = k.newTracer() })
	return k.model.tracer, k.model.tracerErr
}

func (k *Kernel) machine() string {
	if m := k.Dump.Arch(); m != "" {
		return m
	}
	return "x86_64"
}

func (k *Kernel) newTracer() (*tasks.Tracer, error) {
	tb, err := k.Tasks()
	if err != nil {
		return nil, err
	}
	cpu, err := arch.ForMachine(k.machine())
	if err != nil {
		return nil, err
	}
	cfg := arch.TraceConfig{
		PanicCPU: tasks.PanicCPU(k.Values, len(tb.Current)),
		// crash reads the registers of the other CPUs from compressed
		// dumps, not from ELF ones.
		RegsBeforeIPIMarks: k.Dump.Format() != FormatELF,
	}
	for _, c := range k.Dump.CPUs() {
		if c.Index < 0 || c.Index >= 1<<16 {
			continue
		}
		for len(cfg.CPURegs) <= c.Index {
			cfg.CPURegs = append(cfg.CPURegs, nil)
		}
		if r, ok := cpu.DumpRegs(c.PRStatus, c.QEMU); ok {
			cfg.CPURegs[c.Index] = r
		}
	}
	if mods, _ := module.List(k.Values); len(mods) > 0 {
		// Their unwind tables: a module that cannot be listed is
		// unwound by the other methods.
		for _, m := range mods {
			cfg.Modules = append(cfg.Modules, archModule(m))
		}
	}
	at, err := cpu.NewTracer(k.ArchKernel(), cfg)
	if err != nil {
		return nil, err
	}
	return &tasks.Tracer{Table: tb, Values: k.Values, CPU: at, Arch: cpu, Lines: lineSource{k}, PanicCPU: cfg.PanicCPU}, nil
}

// PanicTask is the task that called panic (the current task of
// panic_cpu), or nil when no CPU did.
func (k *Kernel) PanicTask() (*tasks.Task, error) {
	tb, err := k.Tasks()
	if err != nil {
		return nil, err
	}
	if c := tasks.PanicCPU(k.Values, len(tb.Current)); c >= 0 {
		return tb.ByAddr(tb.Current[c]), nil
	}
	return nil, nil
}

// Backtrace unwinds t's kernel stack as crash's bt does: an active task
// from where the crash path left its mark on the stack or from its CPU's
// saved registers, a sleeping one from its switch frame. opt adds source
// lines and frame words; the error is for a kernel whose stacks cannot be
// traced at all (a trace that ends early says why in its Err).
func (k *Kernel) Backtrace(t *tasks.Task, opt ...tasks.TraceOptions) (*tasks.Backtrace, error) {
	if t == nil {
		return nil, errors.New("vmcore: Backtrace of a nil task")
	}
	tr, err := k.Tracer()
	if err != nil {
		return nil, err
	}
	return tr.Backtrace(t, opt...), nil
}

// ArchKernel is what the architecture layer needs of this kernel
// (arch.Kernel): its memory, symbols, type layouts, per-CPU variables and
// the vmlinux's sections.
func (k *Kernel) ArchKernel() arch.Kernel { return archKernel{k} }

type archKernel struct{ k *Kernel }

func (a archKernel) ReadAt(p []byte, off int64) (int, error) { return a.k.Values.Mem.ReadAt(p, off) }

func (a archKernel) SymbolAt(addr uint64) (string, uint64, bool) {
	s, _, ok := a.k.Values.Types.SymbolAt(addr)
	return s.Name, s.Addr, ok
}

func (a archKernel) Symbol(name string) (uint64, bool) {
	s, ok := a.k.Values.Types.Lookup(name)
	return s.Addr, ok
}

func (a archKernel) Member(typ, p string) (int64, int64, error) {
	m, err := ktype.MemberOf(a.k.Values.Types, typ, p)
	if err != nil {
		return 0, 0, err
	}
	return m.Offset, m.Type.Size(), nil
}

func (a archKernel) Fields(typ string) ([]arch.Field, error) {
	t, err := a.k.Values.Types.Type(typ)
	if err != nil {
		return nil, err
	}
	st, ok := ktype.Strip(t).(*dwarf.StructType)
	if !ok {
		return nil, fmt.Errorf("vmcore: %s is not a struct", typ)
	}
	out := make([]arch.Field, 0, len(st.Field))
	for _, f := range st.Field {
		out = append(out, arch.Field{Name: f.Name, Offset: f.ByteOffset, Size: f.Type.Size()})
	}
	return out, nil
}

func (a archKernel) PerCPU(name string, cpu int) (uint64, error) {
	v, err := a.k.Values.PerCPU(name, cpu)
	if err != nil {
		return 0, err
	}
	return v.Addr, nil
}

// Image is the vmlinux's ELF file; nil without one.
func (a archKernel) Image() *elf.File {
	if a.k.Syms == nil {
		return nil
	}
	return a.k.Syms.ELF()
}
func (a archKernel) Relocation() uint64 { return a.k.Values.Types.Relocation() }

// lineSource gives a code address's source position as gdb (and so
// crash's bt -l) shows it: the innermost inlined position, its path
// joined to the compilation directory of its unit.
type lineSource struct{ k *Kernel }

func (l lineSource) LineAt(pc uint64) (string, int, bool) {
	if l.k.Syms == nil {
		return "", 0, false // the line tables are the vmlinux's
	}
	fr, err := l.k.Syms.Lines(pc)
	if err != nil || len(fr) == 0 {
		return "", 0, false
	}
	return l.withCompDir(pc, fr[0].File), fr[0].Line, true
}

func (l lineSource) withCompDir(pc uint64, file string) string {
	if file == "" || path.IsAbs(file) {
		return file
	}
	d, err := l.k.Syms.DWARF()
	if err != nil {
		return file
	}
	e, err := d.Reader().SeekPC(pc - l.k.Syms.Relocation())
	if err != nil {
		return file
	}
	if dir, ok := e.Val(dwarf.AttrCompDir).(string); ok && dir != "" {
		// DWARF 4 line tables (gcc 10, as for 5.10) come joined to a
		// relative comp_dir already.
		if strings.HasPrefix(file, strings.TrimSuffix(dir, "/")+"/") {
			return file
		}
		return path.Join(dir, file)
	}
	return file
}

// archModule is a module as the unwinder needs it: its struct module and
// its live code (MOD_TEXT since 6.4, the core layout before: its text is
// at its start, and the rest of it holds no code ORC covers).
func archModule(m module.Module) arch.Module {
	am := arch.Module{Struct: m.Addr}
	for _, r := range m.Regions {
		if !r.Init && (r.Name == "MOD_TEXT" || r.Name == "core_layout") && r.Size > 0 {
			am.Text = append(am.Text, [2]uint64{r.Base, r.Base + r.Size})
		}
	}
	return am
}
