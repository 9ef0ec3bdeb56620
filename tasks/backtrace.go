package tasks

import (
	"debug/dwarf"
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/vmcoretools/vmcore/ktype"

	"github.com/vmcoretools/vmcore/arch/amd64/unwind"
	"github.com/vmcoretools/vmcore/value"
)

// Trace is a task's stack trace.
type Trace struct {
	Task   *Task
	Frames []unwind.Frame
	// StartRegs, when set, are the CPU registers the trace started from
	// (a dump that saved the CPU's state, such as QEMU's, where the crash
	// path left no mark on the stack); the first frame is the interrupted
	// instruction.
	StartRegs *unwind.Regs
	// UserRegs, when set, are user-mode registers shown instead of
	// frames: those of a task forked but never run (at the top of its
	// stack), or of a CPU that was running user code when the dump was
	// taken.
	UserRegs *unwind.Regs
	// Err says why the walk stopped before the outermost frame, nil when
	// it got there.
	Err error
}

// Tracer finds where each task's stack trace starts and unwinds it.
type Tracer struct {
	Table  *Table
	Values *value.Context
	Walker *unwind.Walker
	// CPURegs are the registers the dump saved for each CPU (NT_PRSTATUS
	// or QEMU's note), by CPU number; nil entries are unknown.
	CPURegs []*unwind.Regs
	// PanicCPU is the CPU that called panic, -1 when none did.
	PanicCPU int
	// RegsBeforeIPIMarks says the CPU registers win over a stopped CPU's
	// stop_this_cpu return address found on its IRQ stack. crash reads
	// the registers of the other CPUs from compressed (diskdump) dumps
	// but not from ELF ones, and so starts the same CPU's trace from its
	// registers in the one and from the stack mark in the other; set it
	// for compressed dumps to print what crash prints.
	RegsBeforeIPIMarks bool

	threadSize uint64
	stacks     [][]Stack // CPUStacks by CPU, filled on first use
	retOff     int64     // inactive_task_frame.ret_addr
	bpOff      int64     // inactive_task_frame.bp
}

// NewTracer prepares traces of tb's tasks, unwinding with orc.
func NewTracer(tb *Table, c *value.Context, orc *unwind.Table, cpuRegs []*unwind.Regs) *Tracer {
	tr := &Tracer{Table: tb, Values: c, CPURegs: cpuRegs, PanicCPU: -1, threadSize: 16384, retOff: 48, bpOff: 40}
	tr.Walker = &unwind.Walker{ORC: orc, Reloc: c.Types.Relocation(), Mem: c.Mem}
	// THREAD_SIZE from the linker script's init stack bounds (a DWARF
	// type lookup of union thread_union scans every unit when, as in
	// Debian's 6.1, the type is absent).
	if a, ok := c.Types.Lookup("__start_init_task"); ok {
		if b, ok := c.Types.Lookup("__end_init_task"); ok && b.Addr > a.Addr && b.Addr-a.Addr <= 1<<20 && b.Addr-a.Addr >= 4096 {
			tr.threadSize = b.Addr - a.Addr
		}
	}
	if off, _, err := offsetOf(c.Types, "struct inactive_task_frame", "ret_addr"); err == nil {
		tr.retOff = off
	}
	if off, _, err := offsetOf(c.Types, "struct inactive_task_frame", "bp"); err == nil {
		tr.bpOff = off
	}
	if v, err := c.Var("panic_cpu"); err == nil {
		if m, err := v.Member("counter"); err == nil {
			v = m
		}
		if n, err := v.Int(); err == nil && n >= 0 && int(n) < len(tb.Current) {
			tr.PanicCPU = int(n)
		}
	}
	return tr
}

// PanicTask is the task that called panic: the current task of the
// panicking CPU, or nil.
func (tr *Tracer) PanicTask() *Task {
	if tr.PanicCPU < 0 || tr.PanicCPU >= len(tr.Table.Current) {
		return nil
	}
	return tr.Table.ByAddr(tr.Table.Current[tr.PanicCPU])
}

// inStack accepts addresses on t's kernel stack and on the per-CPU
// stacks above the direct map (IRQ and exception stacks live in the
// vmalloc area and the CPU entry area).
func (tr *Tracer) inStack(t *Task) func(uint64) bool {
	return func(a uint64) bool {
		if a >= t.Stack && a < t.Stack+tr.threadSize {
			return true
		}
		return a >= 0xffff800000000000
	}
}

// Backtrace unwinds t: an active task from the spot on its stack where
// the crash path left its mark (as crash finds it), a sleeping task from
// the frame __switch_to_asm saved at thread.sp.
func (tr *Tracer) Backtrace(t *Task) *Trace {
	tc := &Trace{Task: t}
	var start unwind.Start
	var err error
	scanned := false
	if t.Active {
		if t.CPU < len(tr.CPURegs) && tr.CPURegs[t.CPU] != nil && tr.CPURegs[t.CPU].UserMode() && tr.PanicCPU < 0 {
			// A dump of a running machine (QEMU's dump-guest-memory
			// without a panic) caught this CPU in user code.
			tc.UserRegs = tr.CPURegs[t.CPU]
			return tc
		}
		start, scanned, err = tr.activeStart(t)
	} else {
		start, err = tr.sleepingStart(t)
	}
	if err != nil {
		tc.Err = err
		return tc
	}
	if s, ok := tr.Values.Types.Lookup("ret_from_fork"); ok && start.PC == s.Addr {
		// Forked, never run: the switch frame returns to the start of
		// ret_from_fork, and the only context is the user one.
		if r := tr.topRegs(t); r != nil && r.UserMode() {
			tc.UserRegs = r
			return tc
		}
	}
	tc.Frames, tc.Err = tr.Walker.Walk(start, tr.inStack(t))
	if start.Signal && t.Active && t.CPU < len(tr.CPURegs) && tr.CPURegs[t.CPU] != nil && len(tc.Frames) > 0 {
		tc.StartRegs = tr.CPURegs[t.CPU]
		tc.Frames[0].Interrupted = true
	}
	if n := len(tc.Frames); n > 0 && tc.Frames[n-1].Regs == nil && tc.Frames[n-1].Slot+8 == t.Stack+tr.threadSize-unwind.PtRegsSize {
		// The last return address sits just below the pt_regs the entry
		// code saved at the top of the stack, which CFI (no ORC) cannot
		// describe: show the user registers there, as ORC's REGS would.
		if r := tr.topRegs(t); r != nil && r.UserMode() {
			tc.Frames[n-1].Regs, tc.Frames[n-1].RegsAddr = r, t.Stack+tr.threadSize-unwind.PtRegsSize
		}
	}
	if tc.Err != nil && len(tc.Frames) == 1 && scanned {
		// The function the search stopped in keeps its frame with the
		// frame pointer, whose value at that point is lost: find its
		// caller's return address by the call instruction before it.
		if slot, ok := tr.callerSlot(t, start); ok {
			var b [8]byte
			if err := tr.Values.Read(b[:], slot, "return address"); err == nil {
				pc := binary.LittleEndian.Uint64(b[:])
				more, err := tr.Walker.Walk(unwind.Start{PC: pc, Slot: slot, SP: slot + 8}, tr.inStack(t))
				tc.Frames, tc.Err = append(tc.Frames, more...), err
			}
		}
	}
	return tc
}

// topRegs reads the struct pt_regs at the top of t's stack, where the
// entry code saves the user context.
func (tr *Tracer) topRegs(t *Task) *unwind.Regs {
	buf := make([]byte, unwind.PtRegsSize)
	if err := tr.Values.Read(buf, t.Stack+tr.threadSize-unwind.PtRegsSize, "pt_regs"); err != nil {
		return nil
	}
	return unwind.DecodeRegs(buf)
}

// callerSlot searches t's stack above the start for the first return
// address whose call instruction (e8 rel32) calls the function holding
// start.PC, as crash's x86_64_function_called_by.
func (tr *Tracer) callerSlot(t *Task, start unwind.Start) (uint64, bool) {
	syms := tr.Values.Types
	fn, _, ok := syms.SymbolAt(start.PC)
	if !ok {
		return 0, false
	}
	top := t.Stack + tr.threadSize
	if start.SP >= top || start.SP < t.Stack {
		return 0, false
	}
	buf := make([]byte, top-start.SP)
	if err := tr.Values.Read(buf, start.SP, "kernel stack"); err != nil {
		return 0, false
	}
	for off := 0; off+8 <= len(buf); off += 8 {
		ret := binary.LittleEndian.Uint64(buf[off:])
		if ret < 0xffffffff80000000 {
			continue
		}
		var call [5]byte
		if err := tr.Values.Read(call[:], ret-5, "call instruction"); err != nil || call[0] != 0xe8 {
			continue
		}
		target := ret + uint64(int64(int32(binary.LittleEndian.Uint32(call[1:]))))
		if target == fn.Addr {
			return start.SP + uint64(off), true
		}
	}
	return 0, false
}

func (tr *Tracer) sleepingStart(t *Task) (unwind.Start, error) {
	sp := t.ThreadSP
	if sp < t.Stack || sp >= t.Stack+tr.threadSize {
		return unwind.Start{}, fmt.Errorf("thread.sp %#x is not on the task's stack %#x-%#x", sp, t.Stack, t.Stack+tr.threadSize)
	}
	var b [8]byte
	if err := tr.Values.Read(b[:], sp+uint64(tr.retOff), "inactive_task_frame.ret_addr"); err != nil {
		return unwind.Start{}, err
	}
	ret := binary.LittleEndian.Uint64(b[:])
	if err := tr.Values.Read(b[:], sp+uint64(tr.bpOff), "inactive_task_frame.bp"); err != nil {
		return unwind.Start{}, err
	}
	bp := binary.LittleEndian.Uint64(b[:])
	slot := sp + uint64(tr.retOff)
	return unwind.Start{PC: ret, Slot: slot, SP: slot + 8, BP: bp}, nil
}

// activeStart finds where to start an active task's trace as crash does
// for a dump: the registers saved for a CPU are those of the context the
// crash interrupted (user mode, for a CPU stopped by NMI) or of
// crash_setup_regs, so the stack is searched for the return addresses the
// crash path leaves: machine_kexec, crash_kexec, crash_nmi_callback (on
// other CPUs), the last panic, the last sysrq_handle_crash.
func (tr *Tracer) activeStart(t *Task) (start unwind.Start, scanned bool, err error) {
	start, err = tr.scanStart(t)
	if err == nil && start.Slot != 0 && !start.Signal {
		return start, true, nil
	}
	return start, false, err
}

func (tr *Tracer) scanStart(t *Task) (unwind.Start, error) {
	panicTask := tr.PanicTask() == t
	var panicAt, sysrqAt, callAt uint64
	var panicPC, sysrqPC, callPC uint64
	// The task's stack first, then the CPU's IRQ and exception stacks,
	// where an NMI that interrupted kernel code runs crash_nmi_callback.
	ranges := []Stack{{Name: "task", Lo: t.Stack, Hi: t.Stack + tr.threadSize}}
	if t.CPU >= 0 {
		ranges = append(ranges, tr.CPUStacks(t.CPU)...)
	}
	syms := tr.Values.Types
	for ri, rg := range ranges {
		buf := make([]byte, rg.Hi-rg.Lo)
		if err := tr.Values.Read(buf, rg.Lo, rg.Name+" stack"); err != nil {
			if ri == 0 {
				return unwind.Start{}, err
			}
			continue
		}
		for i := uint64(0); i+8 <= uint64(len(buf)); i += 8 {
			w := binary.LittleEndian.Uint64(buf[i:])
			if w < 0xffffffff80000000 {
				continue
			}
			s, _, ok := syms.SymbolAt(w)
			if !ok {
				continue
			}
			slot := rg.Lo + i
			switch s.Name {
			case "machine_kexec", "crash_kexec", "try_crashdump":
				return unwind.Start{PC: w, Slot: slot, SP: slot + 8}, nil
			case "panic":
				if ri == 0 {
					panicAt, panicPC = slot, w
				}
			case "sysrq_handle_crash":
				if ri == 0 {
					sysrqAt, sysrqPC = slot, w
				}
			case "crash_nmi_callback":
				if !panicTask {
					return unwind.Start{PC: w, Slot: slot, SP: slot + 8}, nil
				}
			case "stop_this_cpu", "smp_call_function_interrupt":
				// A CPU stopped by the panic's IPI, on its IRQ stack.
				if !panicTask && ri > 0 {
					callAt, callPC = slot, w
				}
			}
		}
		if ri == 0 && panicAt != 0 {
			return unwind.Start{PC: panicPC, Slot: panicAt, SP: panicAt + 8}, nil
		}
	}
	if sysrqAt != 0 {
		return unwind.Start{PC: sysrqPC, Slot: sysrqAt, SP: sysrqAt + 8}, nil
	}
	haveRegs := t.CPU >= 0 && t.CPU < len(tr.CPURegs) && tr.CPURegs[t.CPU] != nil && !tr.CPURegs[t.CPU].UserMode()
	if callAt != 0 && !(tr.RegsBeforeIPIMarks && haveRegs) {
		return unwind.Start{PC: callPC, Slot: callAt, SP: callAt + 8}, nil
	}
	if t.CPU < len(tr.CPURegs) {
		if r := tr.CPURegs[t.CPU]; r != nil && !r.UserMode() && r.IP != 0 {
			return unwind.Start{PC: r.IP, SP: r.SP, BP: r.BP, Signal: true, Slot: r.SP}, nil
		}
	}
	// Nothing marks the stack: fall back to the last switch frame.
	return tr.sleepingStart(t)
}

// Stack is one of a CPU's own stacks: the hard-IRQ stack or an exception
// (IST) stack in the CPU entry area.
type Stack struct {
	Name   string // "IRQ", or crash's exception stack names: "NMI", "DOUBLEFAULT", ...
	Lo, Hi uint64
}

// Marker is the line crash prints where a trace leaves the stack.
func (s Stack) Marker() string {
	if s.Name == "IRQ" {
		return "--- <IRQ stack> ---"
	}
	return "--- <" + s.Name + " exception stack> ---"
}

var estackNames = map[string]string{"DF": "DOUBLEFAULT", "NMI": "NMI", "DB": "DEBUG", "MCE": "MCE", "VC": "VC", "VC2": "VC2"}

// CPUStacks lists a CPU's IRQ stack (hardirq_stack_ptr, per-CPU until
// 6.1, in pcpu_hot since 6.2, points at its last word) and its exception
// stacks (cea_exception_stacks), as far as the vmlinux describes them.
func (tr *Tracer) CPUStacks(cpu int) []Stack {
	if cpu >= 0 && cpu < len(tr.stacks) && tr.stacks[cpu] != nil {
		return tr.stacks[cpu]
	}
	c := tr.Values
	var out []Stack
	v, err := c.PerCPU("hardirq_stack_ptr", cpu)
	if err != nil {
		if hot, err2 := c.PerCPU("pcpu_hot", cpu); err2 == nil {
			v, err = hot.Member("hardirq_stack_ptr")
		}
	}
	if err == nil {
		if p, err := v.Uint(); err == nil && p != 0 {
			out = append(out, Stack{Name: "IRQ", Lo: p + 8 - tr.threadSize, Hi: p + 8})
		}
	}
	if v, err := c.PerCPU("cea_exception_stacks", cpu); err == nil {
		if base, err := v.Uint(); err == nil && base != 0 {
			if ty, err := c.Types.Type("struct cea_exception_stacks"); err == nil {
				if st, ok := ktype.Strip(ty).(*dwarf.StructType); ok {
					for _, f := range st.Field {
						name, ok := strings.CutSuffix(f.Name, "_stack")
						if !ok || f.Type.Size() <= 0 || f.Type.Size() > 1<<20 {
							continue
						}
						if n, ok := estackNames[name]; ok {
							name = n
						}
						lo := base + uint64(f.ByteOffset)
						out = append(out, Stack{Name: name, Lo: lo, Hi: lo + uint64(f.Type.Size())})
					}
				}
			}
		}
	}
	if cpu >= 0 && cpu < 4096 {
		for len(tr.stacks) <= cpu {
			tr.stacks = append(tr.stacks, nil)
		}
		tr.stacks[cpu] = out
	}
	return out
}
