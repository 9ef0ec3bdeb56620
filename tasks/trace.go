package tasks

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/vmcoretools/vmcore/arch"
	"github.com/vmcoretools/vmcore/value"
)

// Backtrace is a task's kernel stack trace: its frames from the
// innermost, the exception frames and stack switches between them, and
// where the trace started. It is what crash's bt shows, as a value; its
// JSON form is the fields' tags plus "error" (Err's text).
type Backtrace struct {
	// Task is the task traced; PID, Comm, TaskAddr, CPU, Active and
	// Panic repeat what identifies it.
	Task     *Task     `json:"-"`
	PID      int       `json:"pid"`
	Comm     string    `json:"comm"`
	TaskAddr arch.Word `json:"task"`
	CPU      int       `json:"cpu"`
	Active   bool      `json:"active"`
	Panic    bool      `json:"panic,omitempty"`
	// Origin says where the starting registers came from: the dump's
	// saved registers of the CPU, crash's marks on the stack, the switch
	// frame of a sleeping task, or only user registers.
	Origin arch.Origin `json:"origin"`
	// Start, when set, is the CPU's saved registers the trace started
	// from (Origin arch.OriginCPURegs): crash shows them as an exception
	// frame before the first frame.
	Start *Exception `json:"start,omitempty"`
	// Frames from the innermost; crash's "#0", "#1", ...
	Frames []Frame `json:"frames"`
	// User holds the user registers at the system call entry (or of a
	// CPU caught in user mode, or of a task forked but never run) shown
	// after the frames, when the walk did not end at an exception frame
	// holding them.
	User *Exception `json:"user,omitempty"`
	// Stacks are the stacks the trace may visit: the task's and its
	// CPU's IRQ, NMI and exception stacks.
	Stacks []arch.Stack `json:"stacks,omitempty"`
	// Err says why the trace ended before the outermost frame; nil when
	// it got there.
	Err error `json:"-"`
}

// ErrNoStack is a Backtrace's Err for a task without a kernel stack (an
// exited task whose stack was freed: task_struct.stack is NULL).
var ErrNoStack = errors.New("tasks: the task has no kernel stack (freed when it exited)")

// MarshalJSON adds Err's text as "error".
func (b *Backtrace) MarshalJSON() ([]byte, error) {
	type plain Backtrace
	var e string
	if b.Err != nil {
		e = b.Err.Error()
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // crash's markers: "--- <IRQ stack> ---"
	if err := enc.Encode(struct {
		*plain
		Error string `json:"error,omitempty"`
	}{(*plain)(b), e}); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// UserRegs are the user-mode registers the trace ends with: those the
// entry code saved at the system call (or interrupt) that entered the
// kernel, the last frame's exception frame; or User; nil for a kernel
// thread.
func (b *Backtrace) UserRegs() *arch.Regs {
	if n := len(b.Frames); n > 0 {
		if ex := b.Frames[n-1].Exception; ex != nil && ex.Regs != nil && ex.Regs.User {
			return ex.Regs
		}
	}
	if b.User != nil {
		return b.User.Regs
	}
	return nil
}

// Frame is one frame of a backtrace.
type Frame struct {
	// Level is crash's frame number.
	Level int `json:"level"`
	// Slot is the stack address crash prints in brackets: where the
	// return address was read from.
	Slot arch.Word `json:"slot"`
	// PC is the return address (or, for the first frame, where the task
	// stopped).
	PC arch.Word `json:"pc"`
	// Function and Offset name PC; Function is "" when no symbol holds
	// it. Module is the module the code belongs to, "" for the kernel.
	Function string `json:"function,omitempty"`
	Offset   uint64 `json:"offset"`
	Module   string `json:"module,omitempty"`
	// File and Line are PC's source position (TraceOptions.Lines), as
	// gdb shows it: the innermost inlined position, the path joined to
	// the compilation directory.
	File string `json:"file,omitempty"`
	Line int    `json:"line,omitempty"`
	// Stack names the stack the frame is on: "task", or a CPU stack's
	// crash name ("IRQ", "NMI", ...); "" when on none known.
	Stack string `json:"stack"`
	// By says how the frame was found (start, orc, cfi, fp, call).
	By arch.Method `json:"by"`
	// Words are the frame's stack words (TraceOptions.Words, crash's
	// bt -f), from WordsAddr up to and including the return address into
	// the next frame; WordsErr says why they could not be read.
	Words     []arch.Word `json:"words,omitempty"`
	WordsAddr arch.Word   `json:"words_addr,omitempty"`
	WordsErr  string      `json:"words_error,omitempty"`
	// Switch, when set, says the trace leaves this frame's stack for
	// another after this frame.
	Switch *StackSwitch `json:"switch,omitempty"`
	// Exception, when set, is the exception frame saved above this
	// frame: the registers of the code it interrupted, whose PC is the
	// next frame's (or user registers, ending the trace).
	Exception *Exception `json:"exception,omitempty"`
}

// StackSwitch is a passage from one stack to another.
type StackSwitch struct {
	From string `json:"from"`
	To   string `json:"to"`
	// Marker is the line crash prints there: "--- <IRQ stack> ---".
	Marker string `json:"marker"`
}

// Exception is a set of saved registers within a trace.
type Exception struct {
	// Addr is where the registers were saved (0 for a CPU's registers
	// from the dump).
	Addr arch.Word `json:"addr,omitempty"`
	// Where names the interrupted instruction (sym+off, or hex), for
	// registers saved in kernel mode.
	Where string     `json:"where,omitempty"`
	Regs  *arch.Regs `json:"regs"`
	// File and Line are the interrupted instruction's source position
	// (TraceOptions.Lines; kernel registers only).
	File string `json:"file,omitempty"`
	Line int    `json:"line,omitempty"`
	// Text is the registers as crash prints them, a string a line.
	Text []string `json:"-"`
}

// TraceOptions say what a backtrace includes beyond its frames.
type TraceOptions struct {
	// Lines adds each frame's source file and line (bt -l).
	Lines bool
	// Words adds each frame's stack words (bt -f).
	Words bool
	// Methods, when set, are the only unwind methods used.
	Methods []arch.Method
}

// LineSource gives the source position of a code address.
type LineSource interface {
	LineAt(pc uint64) (file string, line int, ok bool)
}

// Tracer makes the backtraces of a task table's tasks.
type Tracer struct {
	Table  *Table
	Values *value.Context
	// CPU is the architecture's tracer: start points and unwinding.
	CPU arch.Tracer
	// Arch shows registers as crash does.
	Arch arch.CPU
	// Lines gives source positions; nil leaves them out.
	Lines LineSource
	// PanicCPU is the CPU that called panic, -1 when none did.
	PanicCPU int
}

// maxFrameWords bounds the words shown for one frame (64 KiB).
const maxFrameWords = 1 << 16

// PanicCPU reads panic_cpu: the CPU that called panic, or -1 when none
// did (or it is not one of the ncpu CPUs).
func PanicCPU(c *value.Context, ncpu int) int {
	v, err := c.Var("panic_cpu")
	if err != nil {
		return -1
	}
	if m, err := v.Member("counter"); err == nil {
		v = m
	}
	if n, err := v.Int(); err == nil && n >= 0 && int(n) < ncpu {
		return int(n)
	}
	return -1
}

// PanicTask is the task that called panic: the current task of the
// panicking CPU, or nil.
func (tr *Tracer) PanicTask() *Task {
	if tr.PanicCPU < 0 || tr.PanicCPU >= len(tr.Table.Current) {
		return nil
	}
	return tr.Table.ByAddr(tr.Table.Current[tr.PanicCPU])
}

// Backtrace unwinds t's kernel stack.
func (tr *Tracer) Backtrace(t *Task, opt ...TraceOptions) *Backtrace {
	var o TraceOptions
	if len(opt) > 0 {
		o = opt[0]
	}
	if tr.CPU == nil || t == nil {
		return &Backtrace{Frames: []Frame{}, Err: errors.New("tasks: a backtrace needs a task and an architecture's tracer")}
	}
	panicTask := tr.PanicTask() == t
	bt := &Backtrace{Task: t, PID: t.PID, Comm: t.Comm, TaskAddr: arch.Word(t.Addr), CPU: t.CPU, Active: t.Active, Panic: panicTask, Frames: []Frame{}}
	if t.Stack == 0 {
		// An exited task whose stack was freed (task_struct.stack is
		// NULL): nothing to walk, as crash's "(no stack)".
		bt.Err = ErrNoStack
		return bt
	}
	taskStack := arch.Stack{Name: "task", Lo: arch.Word(t.Stack), Hi: arch.Word(t.Stack + tr.CPU.StackSize())}
	cpuStacks := tr.CPU.Stacks(t.CPU)
	bt.Stacks = append([]arch.Stack{taskStack}, cpuStacks...)
	raw := tr.CPU.Trace(arch.Task{Addr: t.Addr, Stack: t.Stack, SavedSP: t.ThreadSP, CPU: t.CPU, Active: t.Active, Panic: panicTask},
		arch.TraceOptions{Methods: o.Methods})
	bt.Origin, bt.Err = raw.Origin, raw.Err
	if r := raw.StartRegs; r != nil {
		bt.Start = tr.exception(r, 0, arch.FormCPU)
	}
	if r := raw.UserRegs; r != nil {
		bt.User = tr.exception(r, 0, arch.FormException)
	}
	cpuStack := func(a uint64) int {
		for i, s := range cpuStacks {
			if s.Contains(a) {
				return i
			}
		}
		return -1
	}
	stackName := func(a uint64) string {
		if k := cpuStack(a); k >= 0 {
			return cpuStacks[k].Name
		}
		if taskStack.Contains(a) {
			return "task"
		}
		return ""
	}
	// crossesStack says whether the trace leaves a CPU stack between two
	// frames' slots.
	crossesStack := func(from, to uint64) bool {
		k := cpuStack(from)
		return k >= 0 && cpuStack(to) != k
	}
	frames := raw.Frames
	// The frames shown: crash names the instruction an exception
	// interrupted inside the exception frame shown above it, not as a
	// frame of its own, unless that exception frame was saved on another
	// stack (an NMI or exception stack): then the interrupted function
	// starts the trace on its own stack, as a frame.
	var shown []int
	for i, f := range frames {
		if f.Interrupted && !(i > 0 && crossesStack(frames[i-1].RawSlot, f.RawSlot)) {
			continue
		}
		shown = append(shown, i)
	}
	for n, i := range shown {
		f := frames[i]
		fr := Frame{Level: len(bt.Frames), Slot: arch.Word(f.Slot), PC: arch.Word(f.PC), By: f.By, Stack: stackName(f.RawSlot)}
		if s, off, ok := tr.Values.Types.SymbolAt(f.PC); ok {
			fr.Function, fr.Offset, fr.Module = s.Name, off, s.Module
		}
		if o.Lines && tr.Lines != nil {
			if file, line, ok := tr.Lines.LineAt(f.PC); ok {
				fr.File, fr.Line = file, line
			}
		}
		if i+1 < len(frames) {
			next := frames[i+1].RawSlot
			if crossesStack(f.RawSlot, next) {
				k := cpuStack(f.RawSlot)
				to := stackName(next)
				if to == "" {
					to = "task"
				}
				fr.Switch = &StackSwitch{From: cpuStacks[k].Name, To: to, Marker: cpuStacks[k].Marker()}
			} else if o.Words && n+1 < len(shown) {
				// crash's bt -f: the words above the slot shown, up to
				// and including the next frame's return address (past an
				// exception frame, to the frame after it); none where the
				// trace leaves a CPU stack.
				if to := frames[shown[n+1]].RawSlot; to > f.Slot {
					fr.WordsAddr = arch.Word(f.Slot + 8)
					fr.Words, fr.WordsErr = tr.words(f.Slot+8, to+8)
				}
			}
		}
		if f.Regs != nil {
			fr.Exception = tr.exception(f.Regs, f.RegsAddr, arch.FormException)
			if ex := fr.Exception; o.Lines && tr.Lines != nil && ex.Where != "" {
				ex.File, ex.Line, _ = tr.Lines.LineAt(uint64(f.Regs.PC))
			}
		}
		bt.Frames = append(bt.Frames, fr)
	}
	return bt
}

// exception describes saved registers.
func (tr *Tracer) exception(r *arch.Regs, addr uint64, form arch.RegsForm) *Exception {
	ex := &Exception{Addr: arch.Word(addr), Regs: r}
	if !r.User {
		ex.Where = tr.where(uint64(r.PC))
	}
	if tr.Arch != nil {
		ex.Text = tr.Arch.RegsText(r, form, ex.Where)
	}
	return ex
}

// words reads the stack words [from, to), at most maxFrameWords bytes.
func (tr *Tracer) words(from, to uint64) ([]arch.Word, string) {
	if to-from > maxFrameWords {
		to = from + maxFrameWords
	}
	buf := make([]byte, to-from)
	if err := tr.Values.Read(buf, from, "stack frame"); err != nil {
		return nil, err.Error()
	}
	out := make([]arch.Word, 0, len(buf)/8)
	for off := 0; off+8 <= len(buf); off += 8 {
		out = append(out, arch.Word(binary.LittleEndian.Uint64(buf[off:])))
	}
	return out, ""
}

// where names a code address as crash's exception frames do: sym+off,
// the bare symbol at its start, hex without a symbol.
func (tr *Tracer) where(pc uint64) string {
	s, off, ok := tr.Values.Types.SymbolAt(pc)
	switch {
	case !ok:
		return fmt.Sprintf("%x", pc)
	case off == 0:
		return s.Name
	}
	return fmt.Sprintf("%s+%d", s.Name, off)
}
