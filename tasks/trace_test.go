package tasks

import (
	"bytes"
	"debug/dwarf"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vmcoretools/vmcore/arch"
	"github.com/vmcoretools/vmcore/ktype"
	"github.com/vmcoretools/vmcore/value"
)

// symSource is a ktype.Source of symbols only, each 0x1000 bytes long.
type symSource map[string]ktype.Symbol

func (s symSource) Type(name string) (dwarf.Type, error) { return nil, fmt.Errorf("no type %s", name) }
func (s symSource) Variable(name string) (*ktype.Variable, error) {
	return nil, fmt.Errorf("no variable %s", name)
}
func (s symSource) Lookup(name string) (ktype.Symbol, bool) { v, ok := s[name]; return v, ok }
func (s symSource) SymbolAt(addr uint64) (ktype.Symbol, uint64, bool) {
	for _, v := range s {
		if addr >= v.Addr && addr < v.Addr+0x1000 {
			return v, addr - v.Addr, true
		}
	}
	return ktype.Symbol{}, 0, false
}
func (s symSource) Relocation() uint64 { return 0 }

// cannedTracer returns one trace for every task.
type cannedTracer struct {
	trace  arch.Trace
	stacks []arch.Stack
	got    arch.Task
	opt    arch.TraceOptions
}

func (c *cannedTracer) Trace(t arch.Task, opt arch.TraceOptions) *arch.Trace {
	c.got, c.opt = t, opt
	tr := c.trace
	return &tr
}
func (c *cannedTracer) Stacks(cpu int) []arch.Stack { return c.stacks }
func (c *cannedTracer) StackSize() uint64           { return 0x4000 }
func (c *cannedTracer) Methods() []arch.Method      { return []arch.Method{arch.MethodFP} }

// textCPU shows registers as "PC where".
type textCPU struct{ arch.CPU }

func (textCPU) RegsText(r *arch.Regs, form arch.RegsForm, where string) []string {
	return []string{fmt.Sprintf("pc %x %s form %d", uint64(r.PC), where, form)}
}

type lines struct{}

func (lines) LineAt(pc uint64) (string, int, bool) { return "/src/f.c", int(pc & 0xff), true }

// TestBacktraceModel turns an architecture's trace into the model: frames
// are named, placed on their stacks, with the switches between stacks,
// their words and source lines when asked for. The instruction an
// exception frame interrupted is a frame of its own when the exception
// frame was saved on another stack (an NMI's), as crash shows it, and is
// left to the exception frame above it otherwise.
func TestBacktraceModel(t *testing.T) {
	const (
		stack = 0xffffc90000010000
		irqLo = 0xffffc90000100000
		fnA   = 0xffffffff81001000
		fnB   = 0xffffffff81002000
		fnC   = 0xffffffff81003000
	)
	src := symSource{
		"fn_a": {Name: "fn_a", Addr: fnA}, "fn_b": {Name: "fn_b", Addr: fnB},
		"fn_c": {Name: "fn_c", Addr: fnC, Module: "lab"},
	}
	mem := mem{}
	for a := uint64(irqLo + 0x3f00); a < irqLo+0x4000; a += 8 {
		mem[a] = a & 0xfff
	}
	kregs := &arch.Regs{Regs: []arch.Reg{{Name: "pc", Value: fnB + 0x22}}, PC: fnB + 0x22, SP: stack + 0x3e00}
	user := &arch.Regs{Regs: []arch.Reg{{Name: "pc", Value: 0x401000}}, PC: 0x401000, User: true}
	ct := &cannedTracer{
		stacks: []arch.Stack{{Name: "NMI", Lo: irqLo, Hi: irqLo + 0x4000}},
		trace: arch.Trace{Origin: arch.OriginStackMark, Err: errors.New("stop"), Frames: []arch.Frame{
			{Slot: irqLo + 0x3f00, RawSlot: irqLo + 0x3f00, PC: fnA + 0x10, By: arch.MethodStart},
			{Slot: irqLo + 0x3f18, RawSlot: irqLo + 0x3f18, PC: fnA + 0x40, By: arch.MethodORC, Regs: kregs, RegsAddr: irqLo + 0x3f20},
			{Slot: stack + 0x3e00, RawSlot: stack + 0x3e00, PC: fnB + 0x22, By: arch.MethodRegs, Interrupted: true},
			{Slot: stack + 0x3e18, RawSlot: stack + 0x3e10, PC: fnC + 0x33, By: arch.MethodORC, Regs: user, RegsAddr: stack + 0x3f58},
		}},
	}
	tb := NewTable([]*Task{{Addr: 0xffff888000001000, PID: 7, Comm: "lab", CPU: 0, Active: true, Stack: stack, ThreadSP: stack + 0x3d00}})
	tb.Current = []uint64{0xffff888000001000}
	tr := &Tracer{Table: tb, Values: value.New(src, mem), CPU: ct, Arch: textCPU{}, Lines: lines{}, PanicCPU: 0}
	bt := tr.Backtrace(tb.Tasks[0], TraceOptions{Words: true, Lines: true, Methods: []arch.Method{arch.MethodFP}})
	// An exited task whose stack was freed: nothing is walked.
	zombie := &Task{Addr: 0xffff888000002000, PID: 9, Comm: "gone", State: exitZombie}
	if zb := tr.Backtrace(zombie); !errors.Is(zb.Err, ErrNoStack) || len(zb.Frames) != 0 || ct.got.Addr == zombie.Addr {
		t.Errorf("a task without a stack: %+v (the architecture was asked: %v)", zb, ct.got.Addr == zombie.Addr)
	}
	if ct.got.Stack != stack || ct.got.SavedSP != stack+0x3d00 || !ct.got.Panic || !ct.got.Active || fmt.Sprint(ct.opt.Methods) != "[fp]" {
		t.Errorf("the architecture was asked for %+v, %+v", ct.got, ct.opt)
	}
	if bt.PID != 7 || !bt.Panic || bt.Origin != arch.OriginStackMark || bt.Err == nil || len(bt.Frames) != 4 {
		t.Fatalf("backtrace %+v", bt)
	}
	f0, f1, fi, f2 := bt.Frames[0], bt.Frames[1], bt.Frames[2], bt.Frames[3]
	if f0.Level != 0 || f0.Function != "fn_a" || f0.Offset != 0x10 || f0.Stack != "NMI" || f0.Switch != nil || f0.File != "/src/f.c" || f0.Line != 0x10 {
		t.Errorf("frame 0: %+v", f0)
	}
	// Frame 0's words run from above its slot up to and including the
	// return address into frame 1.
	if f0.WordsAddr != irqLo+0x3f08 || len(f0.Words) != 3 || f0.Words[2] != (irqLo+0x3f18)&0xfff {
		t.Errorf("frame 0 words at %#x: %x", f0.WordsAddr, f0.Words)
	}
	if f1.Level != 1 || f1.Stack != "NMI" || f1.Switch == nil || f1.Switch.Marker != "--- <NMI exception stack> ---" || f1.Switch.To != "task" {
		t.Errorf("frame 1: %+v, switch %+v", f1, f1.Switch)
	}
	if ex := f1.Exception; ex == nil || ex.Where != "fn_b+34" || ex.Addr != irqLo+0x3f20 || fmt.Sprint(ex.Text) != fmt.Sprintf("[pc %x fn_b+34 form 0]", uint64(fnB+0x22)) {
		t.Errorf("frame 1 exception: %+v", f1.Exception)
	}
	// Frame 1's caller is below it, on another stack: no words, as crash.
	if f1.WordsErr != "" || f1.Words != nil {
		t.Errorf("frame 1 words: %x, %q", f1.Words, f1.WordsErr)
	}
	// The interrupted function, at the stack pointer the NMI saved.
	if fi.Level != 2 || fi.Function != "fn_b" || fi.Offset != 0x22 || fi.Slot != stack+0x3e00 || fi.Stack != "task" || fi.By != arch.MethodRegs || fi.Exception != nil {
		t.Errorf("interrupted frame: %+v", fi)
	}
	if f2.Level != 3 || f2.Slot != stack+0x3e18 || f2.Module != "lab" || f2.Stack != "task" || f2.Exception == nil || f2.Exception.Where != "" || !f2.Exception.Regs.User {
		t.Errorf("frame 2: %+v", f2)
	}
	if r := bt.UserRegs(); r != user {
		t.Errorf("UserRegs = %+v, want the last frame's user registers", r)
	}
	if len(bt.Stacks) != 2 || bt.Stacks[0].Name != "task" || bt.Stacks[0].Hi != stack+0x4000 {
		t.Errorf("stacks: %+v", bt.Stacks)
	}

	// Words that cannot be read say why.
	delete(mem, irqLo+0x3f10)
	bt = tr.Backtrace(tb.Tasks[0], TraceOptions{Words: true})
	if f := bt.Frames[0]; f.Words != nil || !strings.Contains(f.WordsErr, "0xffffc90000103f08") {
		t.Errorf("unreadable words: %x, %q", f.Words, f.WordsErr)
	}

	// Without options: no words, no lines.
	bt = tr.Backtrace(tb.Tasks[0])
	if bt.Frames[0].Words != nil || bt.Frames[0].File != "" || ct.opt.Methods != nil {
		t.Errorf("no options: %+v, %+v", bt.Frames[0], ct.opt)
	}

	// JSON: hex words, the error's text, no Go-only fields.
	var jb bytes.Buffer
	enc := json.NewEncoder(&jb)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(bt); err != nil {
		t.Fatal(err)
	}
	b := jb.Bytes()
	js := string(b)
	for _, want := range []string{`"pid":7`, `"task":"0xffff888000001000"`, `"origin":"stack-mark"`, `"error":"stop"`,
		`"function":"fn_c"`, `"module":"lab"`, `"marker":"--- <NMI exception stack> ---"`, `"where":"fn_b+34"`, `"by":"orc"`} {
		if !strings.Contains(js, want) {
			t.Errorf("JSON lacks %s: %s", want, js)
		}
	}
	if strings.Contains(js, "Text") || strings.Contains(js, `"Task"`) {
		t.Errorf("JSON has Go-only fields: %s", js)
	}
	var back struct {
		Frames []Frame `json:"frames"`
		Error  string  `json:"error"`
	}
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(bt.Frames[2].PC, back.Frames[2].PC); diff != "" || back.Error != "stop" {
		t.Errorf("JSON round trip: %s %q", diff, back.Error)
	}
}

// TestInterruptedInStack: an exception frame saved on the stack of the
// code it interrupted (a page fault, an interrupt taken on the task stack)
// names that code; the interrupted instruction is not a frame of its own,
// as in crash.
func TestInterruptedInStack(t *testing.T) {
	const (
		stack = 0xffffc90000010000
		fnA   = 0xffffffff81001000
		fnB   = 0xffffffff81002000
	)
	src := symSource{"fn_a": {Name: "fn_a", Addr: fnA}, "fn_b": {Name: "fn_b", Addr: fnB}}
	kregs := &arch.Regs{PC: fnB + 0x22, SP: stack + 0x3e00}
	ct := &cannedTracer{trace: arch.Trace{Frames: []arch.Frame{
		{Slot: stack + 0x3d00, RawSlot: stack + 0x3d00, PC: fnA + 0x10, By: arch.MethodORC, Regs: kregs, RegsAddr: stack + 0x3d08},
		{Slot: stack + 0x3e00, RawSlot: stack + 0x3e00, PC: fnB + 0x22, By: arch.MethodRegs, Interrupted: true},
		{Slot: stack + 0x3e18, RawSlot: stack + 0x3e18, PC: fnA + 0x80, By: arch.MethodORC},
	}}}
	tb := NewTable([]*Task{{Addr: 0xffff888000001000, PID: 7, Comm: "lab", Stack: stack}})
	tr := &Tracer{Table: tb, Values: value.New(src, mem{}), CPU: ct, Arch: textCPU{}, PanicCPU: -1}
	bt := tr.Backtrace(tb.Tasks[0])
	if len(bt.Frames) != 2 || bt.Frames[0].Exception == nil || bt.Frames[0].Exception.Where != "fn_b+34" ||
		bt.Frames[1].Level != 1 || bt.Frames[1].Offset != 0x80 || bt.Frames[0].Switch != nil {
		t.Errorf("frames: %+v", bt.Frames)
	}
}

// TestBacktraceWithoutTracer is an error value, not a panic.
func TestBacktraceWithoutTracer(t *testing.T) {
	tr := &Tracer{Table: NewTable(nil), PanicCPU: -1}
	if bt := tr.Backtrace(&Task{PID: 1}); bt.Err == nil || len(bt.Frames) != 0 {
		t.Errorf("%+v", bt)
	}
}

// TestPanicTask finds the panicking CPU's task.
func TestPanicTask(t *testing.T) {
	tb := NewTable([]*Task{{Addr: 0x1000, PID: 1}, {Addr: 0x2000, PID: 2}})
	tb.Current = []uint64{0x1000, 0x2000}
	tr := &Tracer{Table: tb, PanicCPU: 1}
	if p := tr.PanicTask(); p == nil || p.PID != 2 {
		t.Errorf("PanicTask = %+v", p)
	}
	tr.PanicCPU = -1
	if p := tr.PanicTask(); p != nil {
		t.Errorf("PanicTask without a panic = %+v", p)
	}
}
