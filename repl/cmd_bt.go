package repl

import (
	"debug/dwarf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"path"
	"sync"

	"github.com/vmcoretools/vmcore/arch/amd64/unwind"
	"github.com/vmcoretools/vmcore/tasks"
	"github.com/vmcoretools/vmcore/vmcore"
)

func init() {
	register(&Command{
		Name:    "bt",
		Usage:   "[-a] [-f] [-l] [pid | task] ...",
		Summary: "backtrace",
		Help: `Prints a task's kernel stack trace as crash does: its header, then
"#N [stack address] function at return address" from the innermost frame,
and the user registers saved at the system call entry. Without an argument,
the current context (set; the panic task at start). Tasks that were running
start where the crash path left its mark on their stack (machine_kexec,
crash_nmi_callback, panic), others from the frame they switched out with.
Unwinds with the vmlinux's ORC tables, frame pointers where ORC has no entry.

  -a  the active task of every CPU
  -f  the stack words of each frame
  -l  the source file and line of each frame`,
		Options:      []string{"-a", "-f", "-l"},
		NeedsVMLinux: true,
		Run:          runBt,
	})
	delete(planned, "bt")
}

var tracers sync.Map // *Session -> *tracerEntry

type tracerEntry struct {
	once sync.Once
	tr   *tasks.Tracer
	err  error
}

// Tracer returns the session's stack tracer, made on first use.
func (s *Session) Tracer() (*tasks.Tracer, error) {
	tb, err := s.TaskTable()
	if err != nil {
		return nil, err
	}
	v, _ := s.Values()
	e, _ := tracers.LoadOrStore(s, &tracerEntry{})
	ent := e.(*tracerEntry)
	ent.once.Do(func() {
		orc, err := unwind.LoadORC(s.Debug.ELF())
		if errors.Is(err, unwind.ErrNoORC) {
			// A kernel built with frame pointers: .debug_frame and the
			// frame pointers do the unwinding.
			orc, err = &unwind.Table{}, nil
		}
		if err != nil {
			ent.err = err
			return
		}
		var regs []*unwind.Regs
		for _, c := range s.Dump.CPUs() {
			for len(regs) <= c.Index {
				regs = append(regs, nil)
			}
			if c.PRStatus != nil {
				if r, ok := c.PRStatus.AMD64(); ok {
					regs[c.Index] = &unwind.Regs{R15: r.R15, R14: r.R14, R13: r.R13, R12: r.R12, BP: r.RBP, BX: r.RBX,
						R11: r.R11, R10: r.R10, R9: r.R9, R8: r.R8, AX: r.RAX, CX: r.RCX, DX: r.RDX, SI: r.RSI, DI: r.RDI,
						OrigAX: r.OrigRAX, IP: r.RIP, CS: r.CS, Flags: r.EFlags, SP: r.RSP, SS: r.SS}
				}
			}
		}
		ent.tr = tasks.NewTracer(tb, v, orc, regs)
		ent.tr.RegsBeforeIPIMarks = s.Dump.Format() != vmcore.FormatELF
		// .debug_frame covers what ORC leaves out; without it the walk
		// stops there and says so.
		if cfi, err := unwind.LoadCFI(s.Debug.ELF()); err == nil {
			ent.tr.Walker.CFI = cfi
		}
	})
	return ent.tr, ent.err
}

// currentTasks holds set's context per session.
var currentTasks sync.Map // *Session -> *tasks.Task

// CurrentTask is the context bt and task use without arguments: set by
// set, else the panic task, else pid 0 on CPU 0 as crash.
func (s *Session) CurrentTask() (*tasks.Task, error) {
	if t, ok := currentTasks.Load(s); ok {
		return t.(*tasks.Task), nil
	}
	tr, err := s.Tracer()
	if err != nil {
		return nil, err
	}
	if t := tr.PanicTask(); t != nil {
		return t, nil
	}
	// Without a panic, crash starts in the context of CPU 0's idle task.
	if len(tr.Table.Tasks) > 0 {
		return tr.Table.Tasks[0], nil
	}
	return nil, fmt.Errorf("no tasks")
}

type btOptions struct{ frames, lines bool }

func runBt(c *Context, args []string) error {
	opts, rest, err := getopt(args, "afl", "")
	if err != nil {
		return err
	}
	var all bool
	var bo btOptions
	for _, o := range opts {
		switch o.name {
		case "a":
			all = true
		case "f":
			bo.frames = true
		case "l":
			bo.lines = true
		}
	}
	tr, err := c.Session.Tracer()
	if err != nil {
		return err
	}
	var sel []*tasks.Task
	switch {
	case all:
		for _, a := range tr.Table.Current {
			if t := tr.Table.ByAddr(a); t != nil {
				sel = append(sel, t)
			}
		}
	case len(rest) > 0:
		if sel, err = selectTasks(tr.Table, rest); err != nil {
			return err
		}
	default:
		t, err := c.Session.CurrentTask()
		if err != nil {
			return err
		}
		sel = []*tasks.Task{t}
	}
	for i, t := range sel {
		if err := c.Stopped(); err != nil {
			return err
		}
		if i > 0 {
			fmt.Fprintln(c.Out)
		}
		writeBacktrace(c, tr, t, bo)
	}
	return nil
}

// writeBacktrace prints one task's trace in crash's format.
func writeBacktrace(c *Context, tr *tasks.Tracer, t *tasks.Task, bo btOptions) {
	w := c.Out
	s := c.Session
	writeTaskHeader(w, t)
	trace := tr.Backtrace(t)
	if r := trace.StartRegs; r != nil {
		// Started from the registers the dump saved for the CPU: crash
		// shows them as an exception frame without ORIG_RAX.
		fmt.Fprintf(w, "    [exception RIP: %s]\n", symOff(s, r.IP))
		writeRegs(w, r)
		fmt.Fprintf(w, "    CS: %04x  SS: %04x\n", r.CS, r.SS)
	}
	cpuStacks := tr.CPUStacks(t.CPU)
	stackOf := func(a uint64) int {
		for i, st := range cpuStacks {
			if a >= st.Lo && a < st.Hi {
				return i
			}
		}
		return -1
	}
	level := 0
	for i, f := range trace.Frames {
		if f.Interrupted {
			// crash names the interrupted instruction inside the
			// exception frame printed above, not as a frame of its own.
			continue
		}
		name, module := "??", ""
		if sym, _, ok := s.Debug.SymbolAt(f.PC); ok {
			name = sym.Name
			if sym.Module != "" {
				module = " [" + sym.Module + "]" // crash names a module's frames' module
			}
		}
		lead := " "
		if level >= 10 {
			lead = ""
		}
		slot := f.Slot
		if i > 0 {
			// crash shows the first frame after an IRQ stack at the
			// stack pointer the IRQ stack saved, one word above the
			// return address.
			if k := stackOf(trace.Frames[i-1].Slot); k >= 0 && cpuStacks[k].Name == "IRQ" && stackOf(f.Slot) != k {
				slot += 8
			}
		}
		fmt.Fprintf(w, "%s#%d [%x] %s at %x%s\n", lead, level, slot, name, f.PC, module)
		level++
		if bo.lines {
			if fr, err := s.Debug.Lines(f.PC); err == nil && len(fr) > 0 {
				l := fr[0]
				fmt.Fprintf(w, "    %s: %d\n", withCompDir(s, f.PC, l.File), l.Line)
			}
		}
		if i+1 < len(trace.Frames) {
			if k := stackOf(f.Slot); k >= 0 && stackOf(trace.Frames[i+1].Slot) != k {
				fmt.Fprintln(w, cpuStacks[k].Marker())
			}
		}
		if bo.frames && i+1 < len(trace.Frames) && trace.Frames[i+1].Slot > f.Slot {
			writeFrameWords(w, tr, f.Slot+8, trace.Frames[i+1].Slot+8)
		}
		if f.Regs != nil {
			if !f.Regs.UserMode() {
				fmt.Fprintf(w, "    [exception RIP: %s]\n", symOff(s, f.Regs.IP))
			}
			writeExceptionFrame(w, f.Regs, f.Partial)
		}
	}
	if trace.UserRegs != nil {
		writeExceptionFrame(w, trace.UserRegs, false)
	}
	if trace.Err != nil {
		fmt.Fprintf(w, "bt: the trace ends here: %v\n", trace.Err)
	}
}

// writeFrameWords prints the stack words [from, to) two a line, as bt -f:
// a frame's words run up to and including the return address into the
// next frame.
func writeFrameWords(w io.Writer, tr *tasks.Tracer, from, to uint64) {
	if to-from > 1<<16 {
		to = from + 1<<16
	}
	buf := make([]byte, to-from)
	if err := tr.Values.Read(buf, from, "stack frame"); err != nil {
		fmt.Fprintf(w, "    (%v)\n", err)
		return
	}
	for off := uint64(0); off < uint64(len(buf)); off += 16 {
		fmt.Fprintf(w, "    %x: %016x ", from+off, binary.LittleEndian.Uint64(buf[off:]))
		if off+8 < uint64(len(buf)) {
			fmt.Fprintf(w, "%016x ", binary.LittleEndian.Uint64(buf[off+8:]))
		}
		fmt.Fprintln(w)
	}
}

// withCompDir joins a relative source path to the compilation directory
// of the unit holding pc, as gdb (and so crash's bt -l) shows it:
// debian/build/build_amd64_none_cloud-amd64/kernel/panic.c.
func withCompDir(s *Session, pc uint64, file string) string {
	if file == "" || path.IsAbs(file) {
		return file
	}
	d, err := s.Debug.DWARF()
	if err != nil {
		return file
	}
	e, err := d.Reader().SeekPC(pc - s.Debug.Relocation())
	if err != nil {
		return file
	}
	if dir, ok := e.Val(dwarf.AttrCompDir).(string); ok && dir != "" {
		return path.Join(dir, file)
	}
	return file
}

// symOff names a code address as crash's exception frames do: sym+off.
func symOff(s *Session, pc uint64) string {
	sym, off, ok := s.Debug.SymbolAt(pc)
	switch {
	case !ok:
		return fmt.Sprintf("%x", pc)
	case off == 0:
		return sym.Name
	}
	return fmt.Sprintf("%s+%d", sym.Name, off)
}

// writeRegs prints the general registers of an exception frame.
func writeRegs(w io.Writer, r *unwind.Regs) {
	fmt.Fprintf(w, "    RIP: %016x  RSP: %016x  RFLAGS: %08x\n", r.IP, r.SP, r.Flags)
	fmt.Fprintf(w, "    RAX: %016x  RBX: %016x  RCX: %016x\n", r.AX, r.BX, r.CX)
	fmt.Fprintf(w, "    RDX: %016x  RSI: %016x  RDI: %016x\n", r.DX, r.SI, r.DI)
	fmt.Fprintf(w, "    RBP: %016x   R8: %016x   R9: %016x\n", r.BP, r.R8, r.R9)
	fmt.Fprintf(w, "    R10: %016x  R11: %016x  R12: %016x\n", r.R10, r.R11, r.R12)
	fmt.Fprintf(w, "    R13: %016x  R14: %016x  R15: %016x\n", r.R13, r.R14, r.R15)
}

// writeExceptionFrame prints saved registers as crash's exception frames.
func writeExceptionFrame(w io.Writer, r *unwind.Regs, partial bool) {
	if partial {
		fmt.Fprintf(w, "    RIP: %016x  RSP: %016x  RFLAGS: %08x\n", r.IP, r.SP, r.Flags)
		fmt.Fprintf(w, "    CS: %04x  SS: %04x\n", r.CS, r.SS)
		return
	}
	writeRegs(w, r)
	fmt.Fprintf(w, "    ORIG_RAX: %016x  CS: %04x  SS: %04x\n", r.OrigAX, r.CS, r.SS)
}
