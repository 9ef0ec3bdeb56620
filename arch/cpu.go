package arch

import (
	"debug/elf"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/vmcoretools/vmcore/elfcore"
)

// CPU is the registers, unwinding and stacks part of an Arch: it decodes
// the registers a dump saved for each CPU, and unwinds kernel stacks of
// that machine (its unwind tables, exception frames, the CPU's IRQ, NMI
// and exception stacks, and where a task's trace starts).
type CPU interface {
	// DumpRegs decodes the registers a dump saved for one CPU, from its
	// NT_PRSTATUS and from QEMU's CPU-state note (either may be nil);
	// ok is false when neither holds this machine's registers.
	DumpRegs(pr *elfcore.PRStatus, qemu *elfcore.QEMUCPUState) (r *Regs, ok bool)
	// NewTracer prepares stack traces of a kernel of this machine: it
	// reads the vmlinux's unwind tables (k.Image) and learns the stack
	// layout from k's symbols and types.
	NewTracer(k Kernel, cfg TraceConfig) (Tracer, error)
	// RegsText is the registers as crash prints them, one string a line
	// (each with crash's indentation, without the newline). where names
	// the interrupted instruction (sym+off), shown first for registers
	// saved in kernel mode; "" leaves that line out.
	RegsText(r *Regs, form RegsForm, where string) []string
	// ThreadFlags are the machine's bits of thread_info.flags that the
	// views read (they are #defines, in no type information).
	ThreadFlags() ThreadFlags
}

// ThreadFlags are the bits of thread_info.flags that differ by machine.
type ThreadFlags struct {
	// SigPending is TIF_SIGPENDING: a signal is pending for the task.
	SigPending uint64
}

// Kernel is what a CPU needs from the layers above to trace a kernel's
// stacks: kernel virtual memory, symbols, the layout of a few structures,
// per-CPU variables and the vmlinux's ELF sections. The kernel model
// implements it over its symbol and type source.
type Kernel interface {
	// ReadAt reads kernel virtual memory (off is the address).
	io.ReaderAt
	// SymbolAt names the function or object holding addr and its start.
	SymbolAt(addr uint64) (name string, start uint64, ok bool)
	// Symbol returns the relocated address of a symbol.
	Symbol(name string) (addr uint64, ok bool)
	// Member returns offsetof and sizeof of a member path of a type:
	// ("struct inactive_task_frame", "ret_addr").
	Member(typ, path string) (off, size int64, err error)
	// Fields lists the direct members of a struct type.
	Fields(typ string) ([]Field, error)
	// PerCPU returns the address of CPU cpu's instance of a per-CPU
	// variable.
	PerCPU(name string, cpu int) (addr uint64, err error)
	// Image is the vmlinux, for its unwind tables; Relocation is the
	// KASLR offset of its addresses.
	Image() *elf.File
	Relocation() uint64
}

// Field is one member of a struct type.
type Field struct {
	Name         string
	Offset, Size int64
}

// TraceConfig is what a tracer is told rather than finds: the dump's
// registers and the crash's CPU.
type TraceConfig struct {
	// CPURegs are the registers the dump saved for each CPU, by CPU
	// number; nil entries are unknown.
	CPURegs []*Regs
	// PanicCPU is the CPU that called panic, -1 when none did.
	PanicCPU int
	// RegsBeforeIPIMarks makes a stopped CPU's saved registers win over
	// the marks the stop IPI left on its IRQ stack. crash reads the
	// other CPUs' registers from compressed (diskdump) dumps but not from
	// ELF ones, and so starts such a CPU's trace from its registers in
	// the one and from the stack mark in the other; set it for
	// compressed dumps to print what crash prints.
	RegsBeforeIPIMarks bool
	// Modules are the loaded modules, whose architecture part
	// (mod->arch) may hold their unwind tables.
	Modules []Module
}

// Module is a loaded module as the unwinder needs it: where its struct
// module is, and the ranges of its live code (an unwind table may still
// hold entries for its freed init code, which other code may now occupy).
type Module struct {
	Struct uint64
	Text   [][2]uint64 // [start, end) of each live code range
}

// Tracer unwinds the kernel stacks of one kernel.
type Tracer interface {
	// Trace unwinds one task's kernel stack.
	Trace(t Task, opt TraceOptions) *Trace
	// Stacks lists a CPU's own stacks (IRQ, NMI, exception stacks).
	Stacks(cpu int) []Stack
	// StackSize is the size of a task's kernel stack (THREAD_SIZE).
	StackSize() uint64
	// Methods are the unwind methods this tracer can use, in the order
	// it tries them.
	Methods() []Method
}

// Task is what a tracer needs of a task.
type Task struct {
	Addr  uint64 // the task_struct
	Stack uint64 // the base of its kernel stack
	// SavedSP is the stack pointer saved when the task was switched out
	// (x86's thread.sp); 0 when unknown.
	SavedSP uint64
	CPU     int
	// Active is set for a task a CPU was running at the crash, Panic for
	// the one that called panic.
	Active, Panic bool
}

// TraceOptions change how one trace is unwound.
type TraceOptions struct {
	// Methods, when set, are the only unwind methods used (a test of the
	// fallbacks: CFI and frame pointers without ORC).
	Methods []Method
}

// Uses reports whether m may be used under o.
func (o TraceOptions) Uses(m Method) bool {
	if o.Methods == nil {
		return true
	}
	for _, x := range o.Methods {
		if x == m {
			return true
		}
	}
	return false
}

// Method says how a frame was found.
type Method string

// Unwind methods.
const (
	MethodStart Method = "start" // where the trace starts
	MethodORC   Method = "orc"   // the kernel's ORC tables (x86)
	MethodCFI   Method = "cfi"   // the vmlinux's .debug_frame
	MethodFP    Method = "fp"    // the frame-pointer chain
	// MethodPrologue: the function's machine code read from its start
	// (a kernel without its vmlinux, where ORC has no entry).
	MethodPrologue Method = "prologue"
	MethodRegs     Method = "regs" // the registers of an exception frame
	MethodCall     Method = "call" // the return address of a call to the function, found on the stack
)

// Origin says where a trace's starting registers came from.
type Origin string

// Origins of a trace.
const (
	// OriginCPURegs: the registers the dump saved for the task's CPU.
	OriginCPURegs Origin = "cpu-registers"
	// OriginStackMark: the return address the crash path (kexec, the
	// NMI or IPI that stopped a CPU, panic, sysrq) left on the stack, as
	// crash searches for it.
	OriginStackMark Origin = "stack-mark"
	// OriginSwitchFrame: the frame a sleeping task switched out with.
	OriginSwitchFrame Origin = "switch-frame"
	// OriginUserRegs: the task has no kernel frames to show, only user
	// registers (a CPU caught in user mode, a task forked but never run).
	OriginUserRegs Origin = "user-registers"
)

// KexecMark tells whether a function is one of the kernel's crash-kexec
// path whose return address, found on a panicked task's stack, starts its
// trace (OriginStackMark) before any other mark: where kdump ran, the
// trace starts there.
func KexecMark(function string) bool {
	switch function {
	case "machine_kexec", "crash_kexec", "try_crashdump":
		return true
	}
	return false
}

// Trace is one task's unwound kernel stack, as the architecture finds it.
type Trace struct {
	Origin Origin
	// StartRegs are the registers the trace started from when they are
	// the CPU's saved registers (Origin OriginCPURegs); the first frame
	// is then the interrupted instruction.
	StartRegs *Regs
	// Frames from the innermost.
	Frames []Frame
	// UserRegs are the user registers shown instead of kernel frames
	// (Origin OriginUserRegs).
	UserRegs *Regs
	// Err says why the walk ended before the outermost frame.
	Err error
}

// Frame is one frame as the unwinder found it.
type Frame struct {
	// Slot is the stack word the PC was read from, as crash prints it;
	// RawSlot where the unwinder read it (they differ where crash shows
	// the stack pointer an IRQ stack saved).
	Slot, RawSlot uint64
	PC            uint64
	By            Method
	// Regs, when set, is an exception frame saved above this frame, at
	// RegsAddr.
	Regs     *Regs
	RegsAddr uint64
	// Interrupted marks a frame whose PC is the instruction an exception
	// frame (or the CPU's saved registers) interrupted; crash shows it
	// inside the exception frame rather than as a frame, unless the
	// exception frame is on another stack (an NMI's).
	Interrupted bool
}

// RegsForm chooses how crash shows a set of registers.
type RegsForm int

// Register display forms.
const (
	// FormException is a full exception frame.
	FormException RegsForm = iota
	// FormCPU is the registers a dump saved for a CPU, shown where a
	// trace starts from them.
	FormCPU
)

// Word is a machine word: an address or a register's value. Its JSON and
// text form is hexadecimal ("0xffffffff81000000"), exact where JSON
// numbers are not.
type Word uint64

// MarshalText writes w as 0x-prefixed hex.
func (w Word) MarshalText() ([]byte, error) {
	return []byte("0x" + strconv.FormatUint(uint64(w), 16)), nil
}

// UnmarshalText reads hex with or without 0x, or decimal with a leading
// digit other than 0.
func (w *Word) UnmarshalText(b []byte) error {
	s := string(b)
	base := 10
	if h, ok := strings.CutPrefix(strings.ToLower(s), "0x"); ok {
		s, base = h, 16
	}
	v, err := strconv.ParseUint(s, base, 64)
	if err != nil {
		return fmt.Errorf("arch: bad word %q: %w", b, err)
	}
	*w = Word(v)
	return nil
}

// Reg is one register by the architecture's name for it.
type Reg struct {
	Name  string `json:"name"`
	Value Word   `json:"value"`
}

// Regs is a set of saved registers, named as the architecture names
// them, in its display order; PC, SP and FP repeat the program counter,
// stack pointer and frame pointer among them.
type Regs struct {
	Regs []Reg `json:"regs"`
	PC   Word  `json:"pc"`
	SP   Word  `json:"sp"`
	FP   Word  `json:"fp"`
	// User marks registers saved while the CPU ran user code.
	User bool `json:"user"`
	// Partial marks a frame that saved only some registers (x86's iret
	// frame: the PC, SP, flags and segments); Regs lists only those.
	Partial bool `json:"partial,omitempty"`
}

// Get returns a register by name.
func (r *Regs) Get(name string) (uint64, bool) {
	for _, x := range r.Regs {
		if x.Name == name {
			return uint64(x.Value), true
		}
	}
	return 0, false
}

// Stack is one of a CPU's own stacks, or a task's.
type Stack struct {
	// Name is crash's: "IRQ", "NMI", "DOUBLEFAULT", ...; "task" for a
	// task's stack.
	Name string `json:"name"`
	Lo   Word   `json:"lo"`
	Hi   Word   `json:"hi"`
}

// Contains reports whether addr is on the stack.
func (s Stack) Contains(addr uint64) bool { return addr >= uint64(s.Lo) && addr < uint64(s.Hi) }

// Marker is the line crash prints where a trace leaves the stack.
func (s Stack) Marker() string {
	if s.Name == "IRQ" {
		return "--- <IRQ stack> ---"
	}
	return "--- <" + s.Name + " exception stack> ---"
}
