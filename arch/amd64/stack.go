package amd64

import (
	"encoding/binary"
	"fmt"
	"strings"
	"sync"

	"github.com/vmcoretools/vmcore/arch"
	"github.com/vmcoretools/vmcore/arch/amd64/unwind"
)

// Tracer finds where each task's stack trace starts, as crash does for
// x86_64 dumps, and unwinds it. Its methods are safe for concurrent use.
type Tracer struct {
	k          arch.Kernel
	cfg        arch.TraceConfig
	walker     unwind.Walker
	threadSize uint64
	// retOff and bpOff locate ret_addr and bp in struct
	// inactive_task_frame, the frame __switch_to_asm leaves at thread.sp;
	// frameErr says why they are unknown.
	retOff, bpOff int64
	frameErr      error
	retFromFork   uint64

	mu     sync.Mutex
	stacks map[int][]arch.Stack
}

var _ arch.Tracer = (*Tracer)(nil)

// StackSize is THREAD_SIZE.
func (tr *Tracer) StackSize() uint64 { return tr.threadSize }

// Methods are ORC (when the vmlinux has its tables), CFI (when it has
// .debug_frame) and frame pointers, in that order.
func (tr *Tracer) Methods() []arch.Method {
	var m []arch.Method
	if tr.walker.ORC != nil && tr.walker.ORC.Len() > 0 {
		m = append(m, arch.MethodORC)
	}
	if tr.walker.CFI != nil {
		m = append(m, arch.MethodCFI)
	}
	return append(m, arch.MethodFP)
}

func (tr *Tracer) cpuRegs(cpu int) *unwind.Regs {
	if cpu < 0 || cpu >= len(tr.cfg.CPURegs) {
		return nil
	}
	return PtRegs(tr.cfg.CPURegs[cpu])
}

func (tr *Tracer) read(p []byte, addr uint64, what string) error {
	n, err := tr.k.ReadAt(p, int64(addr))
	if n == len(p) {
		return nil
	}
	if err == nil {
		err = fmt.Errorf("short read")
	}
	return fmt.Errorf("cannot read %s at %#x: %w", what, addr, err)
}

// inStack accepts addresses on t's kernel stack and on the per-CPU
// stacks above the direct map (IRQ and exception stacks live in the
// vmalloc area and the CPU entry area).
func (tr *Tracer) inStack(t arch.Task) func(uint64) bool {
	return func(a uint64) bool {
		if a >= t.Stack && a < t.Stack+tr.threadSize {
			return true
		}
		return a >= 0xffff800000000000
	}
}

// Trace unwinds t: an active task from the spot on its stack where the
// crash path left its mark (as crash finds it), or from its CPU's saved
// registers; a sleeping task from the frame __switch_to_asm saved at
// thread.sp.
func (tr *Tracer) Trace(t arch.Task, opt arch.TraceOptions) *arch.Trace {
	w := tr.walker
	if !opt.Uses(arch.MethodORC) {
		w.ORC = &unwind.Table{}
	}
	if !opt.Uses(arch.MethodCFI) {
		w.CFI = nil
	}
	w.NoFP = !opt.Uses(arch.MethodFP)
	tc := &arch.Trace{}
	var start unwind.Start
	var err error
	scanned := false
	cpuRegs := tr.cpuRegs(t.CPU)
	if t.Active {
		if cpuRegs != nil && cpuRegs.UserMode() && tr.cfg.PanicCPU < 0 {
			// A dump of a running machine (QEMU's dump-guest-memory
			// without a panic) caught this CPU in user code.
			tc.Origin, tc.UserRegs = arch.OriginUserRegs, ArchRegs(cpuRegs, false)
			return tc
		}
		start, tc.Origin, err = tr.scanStart(t)
		scanned = err == nil && start.Slot != 0 && !start.Signal
	} else {
		tc.Origin = arch.OriginSwitchFrame
		start, err = tr.sleepingStart(t)
	}
	if err != nil {
		tc.Err = err
		return tc
	}
	if tr.retFromFork != 0 && start.PC == tr.retFromFork {
		// Forked, never run: the switch frame returns to the start of
		// ret_from_fork, and the only context is the user one.
		if r := tr.topRegs(t); r != nil && r.UserMode() {
			tc.Origin, tc.UserRegs = arch.OriginUserRegs, ArchRegs(r, false)
			return tc
		}
	}
	frames, werr := w.Walk(start, tr.inStack(t))
	if start.Signal && t.Active && cpuRegs != nil && len(frames) > 0 {
		tc.StartRegs = ArchRegs(cpuRegs, false)
		frames[0].Interrupted = true
	}
	if n := len(frames); n > 0 && frames[n-1].Regs == nil && frames[n-1].Slot+8 == t.Stack+tr.threadSize-unwind.PtRegsSize {
		// The last return address sits just below the pt_regs the entry
		// code saved at the top of the stack, which CFI (no ORC) cannot
		// describe: show the user registers there, as ORC's REGS would.
		if r := tr.topRegs(t); r != nil && r.UserMode() {
			frames[n-1].Regs, frames[n-1].RegsAddr = r, t.Stack+tr.threadSize-unwind.PtRegsSize
		}
	}
	if n := len(frames); n > 0 && frames[n-1].Regs == nil && frames[n-1].Interrupted && frames[n-1].Slot < userSpaceTop {
		// An exception (the panic's NMI) caught the CPU in kernel code
		// with the user's stack pointer: the first instructions of
		// entry_SYSCALL_64, before it switches to the task's stack. crash
		// shows after that frame the user registers at the top of the
		// task's stack, as after every user task's trace; they are the
		// previous system call's, since the entry code has not yet saved
		// this one's.
		if r := tr.topRegs(t); r != nil && r.UserMode() {
			frames[n-1].Regs, frames[n-1].RegsAddr = r, t.Stack+tr.threadSize-unwind.PtRegsSize
		}
	}
	if werr != nil && len(frames) == 1 && scanned {
		// The function the search stopped in keeps its frame with the
		// frame pointer, whose value at that point is lost: find its
		// caller's return address by the call instruction before it.
		if slot, ok := tr.callerSlot(t, start); ok {
			var b [8]byte
			if err := tr.read(b[:], slot, "return address"); err == nil {
				pc := binary.LittleEndian.Uint64(b[:])
				more, err := w.Walk(unwind.Start{PC: pc, Slot: slot, SP: slot + 8}, tr.inStack(t))
				if len(more) > 0 {
					more[0].By = arch.MethodCall
				}
				frames, werr = append(frames, more...), err
			}
		}
	}
	tc.Err = werr
	tc.Frames = tr.archFrames(t, frames)
	return tc
}

// archFrames converts the walk's frames, with the slot crash shows: the
// first frame after an IRQ stack at the stack pointer the IRQ stack
// saved, one word above the return address.
func (tr *Tracer) archFrames(t arch.Task, frames []unwind.Frame) []arch.Frame {
	stacks := tr.Stacks(t.CPU)
	stackOf := func(a uint64) int {
		for i, st := range stacks {
			if st.Contains(a) {
				return i
			}
		}
		return -1
	}
	out := make([]arch.Frame, len(frames))
	for i, f := range frames {
		slot := f.Slot
		if i > 0 {
			if k := stackOf(frames[i-1].Slot); k >= 0 && stacks[k].Name == "IRQ" && stackOf(f.Slot) != k {
				slot += 8
			}
		}
		out[i] = arch.Frame{Slot: slot, RawSlot: f.Slot, PC: f.PC, By: f.By,
			Regs: ArchRegs(f.Regs, f.Partial), RegsAddr: f.RegsAddr, Interrupted: f.Interrupted}
	}
	return out
}

// topRegs reads the struct pt_regs at the top of t's stack, where the
// entry code saves the user context.
func (tr *Tracer) topRegs(t arch.Task) *unwind.Regs {
	buf := make([]byte, unwind.PtRegsSize)
	if err := tr.read(buf, t.Stack+tr.threadSize-unwind.PtRegsSize, "pt_regs"); err != nil {
		return nil
	}
	return unwind.DecodeRegs(buf)
}

// callerSlot searches t's stack above the start for the first return
// address whose call instruction (e8 rel32) calls the function holding
// start.PC, as crash's x86_64_function_called_by.
func (tr *Tracer) callerSlot(t arch.Task, start unwind.Start) (uint64, bool) {
	_, fn, ok := tr.k.SymbolAt(start.PC)
	if !ok {
		return 0, false
	}
	top := t.Stack + tr.threadSize
	if start.SP >= top || start.SP < t.Stack {
		return 0, false
	}
	buf := make([]byte, top-start.SP)
	if err := tr.read(buf, start.SP, "kernel stack"); err != nil {
		return 0, false
	}
	for off := 0; off+8 <= len(buf); off += 8 {
		ret := binary.LittleEndian.Uint64(buf[off:])
		if ret < 0xffffffff80000000 {
			continue
		}
		var call [5]byte
		if err := tr.read(call[:], ret-5, "call instruction"); err != nil || call[0] != 0xe8 {
			continue
		}
		target := ret + uint64(int64(int32(binary.LittleEndian.Uint32(call[1:]))))
		if target == fn {
			return start.SP + uint64(off), true
		}
	}
	return 0, false
}

// sleepingStart reads the switch frame (struct inactive_task_frame) at
// thread.sp: the return address into __schedule's caller chain and the
// saved frame pointer.
func (tr *Tracer) sleepingStart(t arch.Task) (unwind.Start, error) {
	if tr.frameErr != nil {
		return unwind.Start{}, tr.frameErr
	}
	sp := t.SavedSP
	if sp < t.Stack || sp >= t.Stack+tr.threadSize {
		return unwind.Start{}, fmt.Errorf("thread.sp %#x is not on the task's stack %#x-%#x", sp, t.Stack, t.Stack+tr.threadSize)
	}
	var b [8]byte
	if err := tr.read(b[:], sp+uint64(tr.retOff), "inactive_task_frame.ret_addr"); err != nil {
		return unwind.Start{}, err
	}
	ret := binary.LittleEndian.Uint64(b[:])
	if err := tr.read(b[:], sp+uint64(tr.bpOff), "inactive_task_frame.bp"); err != nil {
		return unwind.Start{}, err
	}
	bp := binary.LittleEndian.Uint64(b[:])
	slot := sp + uint64(tr.retOff)
	return unwind.Start{PC: ret, Slot: slot, SP: slot + 8, BP: bp}, nil
}

// scanStart finds where to start an active task's trace as crash does
// for a dump: the registers saved for a CPU are those of the context the
// crash interrupted (user mode, for a CPU stopped by NMI) or of
// crash_setup_regs, so the stack is searched for the return addresses
// the crash path leaves: machine_kexec, crash_kexec, crash_nmi_callback
// (on other CPUs), the last panic, the last sysrq_handle_crash, the stop
// IPI's handler on the IRQ stack; then the CPU's registers; then the
// last switch frame.
func (tr *Tracer) scanStart(t arch.Task) (unwind.Start, arch.Origin, error) {
	mark := func(pc, slot uint64) (unwind.Start, arch.Origin, error) {
		return unwind.Start{PC: pc, Slot: slot, SP: slot + 8}, arch.OriginStackMark, nil
	}
	var panicAt, sysrqAt, callAt uint64
	var panicPC, sysrqPC, callPC uint64
	// The task's stack first, then the CPU's IRQ and exception stacks,
	// where an NMI that interrupted kernel code runs crash_nmi_callback.
	ranges := []arch.Stack{{Name: "task", Lo: arch.Word(t.Stack), Hi: arch.Word(t.Stack + tr.threadSize)}}
	if t.CPU >= 0 {
		ranges = append(ranges, tr.Stacks(t.CPU)...)
	}
	for ri, rg := range ranges {
		buf := make([]byte, rg.Hi-rg.Lo)
		if err := tr.read(buf, uint64(rg.Lo), rg.Name+" stack"); err != nil {
			if ri == 0 {
				return unwind.Start{}, arch.OriginStackMark, err
			}
			continue
		}
		for i := uint64(0); i+8 <= uint64(len(buf)); i += 8 {
			w := binary.LittleEndian.Uint64(buf[i:])
			if w < 0xffffffff80000000 {
				continue
			}
			name, _, ok := tr.k.SymbolAt(w)
			if !ok {
				continue
			}
			slot := uint64(rg.Lo) + i
			if arch.KexecMark(name) {
				return mark(w, slot)
			}
			switch name {
			case "panic":
				if ri == 0 {
					panicAt, panicPC = slot, w
				}
			case "sysrq_handle_crash":
				if ri == 0 {
					sysrqAt, sysrqPC = slot, w
				}
			case "crash_nmi_callback":
				if !t.Panic {
					return mark(w, slot)
				}
			case "stop_this_cpu", "smp_call_function_interrupt":
				// A CPU stopped by the panic's IPI, on its IRQ stack.
				if !t.Panic && ri > 0 {
					callAt, callPC = slot, w
				}
			}
		}
		if ri == 0 && panicAt != 0 {
			return mark(panicPC, panicAt)
		}
	}
	if sysrqAt != 0 {
		return mark(sysrqPC, sysrqAt)
	}
	r := tr.cpuRegs(t.CPU)
	haveRegs := r != nil && !r.UserMode()
	if callAt != 0 && !(tr.cfg.RegsBeforeIPIMarks && haveRegs) {
		return mark(callPC, callAt)
	}
	if haveRegs && r.IP != 0 {
		return unwind.Start{PC: r.IP, SP: r.SP, BP: r.BP, Signal: true, Slot: r.SP}, arch.OriginCPURegs, nil
	}
	// Nothing marks the stack: fall back to the last switch frame.
	s, err := tr.sleepingStart(t)
	return s, arch.OriginSwitchFrame, err
}

var estackNames = map[string]string{"DF": "DOUBLEFAULT", "NMI": "NMI", "DB": "DEBUG", "MCE": "MCE", "VC": "VC", "VC2": "VC2"}

// Stacks lists a CPU's IRQ stack (hardirq_stack_ptr, per-CPU until 6.1,
// in pcpu_hot since 6.2, points at its last word) and its exception
// stacks (cea_exception_stacks), as far as the vmlinux describes them.
func (tr *Tracer) Stacks(cpu int) []arch.Stack {
	if cpu < 0 {
		return nil
	}
	tr.mu.Lock()
	if s, ok := tr.stacks[cpu]; ok {
		tr.mu.Unlock()
		return s
	}
	tr.mu.Unlock()
	k := tr.k
	var out []arch.Stack
	word := func(addr uint64) (uint64, bool) {
		var b [8]byte
		if tr.read(b[:], addr, "per-CPU pointer") != nil {
			return 0, false
		}
		return binary.LittleEndian.Uint64(b[:]), true
	}
	addr, err := k.PerCPU("hardirq_stack_ptr", cpu)
	if err != nil {
		if hot, err2 := k.PerCPU("pcpu_hot", cpu); err2 == nil {
			if off, _, err3 := k.Member("struct pcpu_hot", "hardirq_stack_ptr"); err3 == nil {
				addr, err = hot+uint64(off), nil
			}
		}
	}
	if err == nil {
		if p, ok := word(addr); ok && p != 0 {
			out = append(out, arch.Stack{Name: "IRQ", Lo: arch.Word(p + 8 - tr.threadSize), Hi: arch.Word(p + 8)})
		}
	}
	if addr, err := k.PerCPU("cea_exception_stacks", cpu); err == nil {
		if base, ok := word(addr); ok && base != 0 {
			if fields, err := k.Fields("struct cea_exception_stacks"); err == nil {
				for _, f := range fields {
					name, ok := strings.CutSuffix(f.Name, "_stack")
					if !ok || f.Size <= 0 || f.Size > 1<<20 {
						continue
					}
					if n, ok := estackNames[name]; ok {
						name = n
					}
					lo := base + uint64(f.Offset)
					out = append(out, arch.Stack{Name: name, Lo: arch.Word(lo), Hi: arch.Word(lo + uint64(f.Size))})
				}
			}
		}
	}
	tr.mu.Lock()
	if tr.stacks == nil {
		tr.stacks = map[int][]arch.Stack{}
	}
	if len(tr.stacks) < 4096 {
		tr.stacks[cpu] = out
	}
	tr.mu.Unlock()
	return out
}
