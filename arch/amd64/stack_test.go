package amd64

import (
	"debug/elf"
	"encoding/binary"
	"fmt"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vmcoretools/vmcore/arch"
	"github.com/vmcoretools/vmcore/arch/amd64/unwind"
	"github.com/vmcoretools/vmcore/elfcore"
)

// fakeKernel is a synthetic kernel: sparse memory of 8-byte words, a
// symbol table, two structure layouts and per-CPU variables.
type fakeKernel struct {
	mem    map[uint64]uint64
	syms   map[string]uint64 // name -> address; each symbol runs to the next
	percpu map[string]uint64 // name -> CPU 0's instance
}

func (k *fakeKernel) ReadAt(p []byte, off int64) (int, error) {
	a := uint64(off)
	for i := 0; i < len(p); i += 8 {
		v, ok := k.mem[(a+uint64(i))&^7]
		if !ok {
			return i, fmt.Errorf("no memory at %#x", a+uint64(i))
		}
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], v)
		copy(p[i:], b[(a+uint64(i))&7:])
	}
	return len(p), nil
}

func (k *fakeKernel) SymbolAt(addr uint64) (string, uint64, bool) {
	type sym struct {
		name string
		addr uint64
	}
	var all []sym
	for n, a := range k.syms {
		all = append(all, sym{n, a})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].addr < all[j].addr })
	i := sort.Search(len(all), func(i int) bool { return all[i].addr > addr }) - 1
	if i < 0 || addr-all[i].addr >= 0x1000 {
		return "", 0, false
	}
	return all[i].name, all[i].addr, true
}

func (k *fakeKernel) Symbol(name string) (uint64, bool) { a, ok := k.syms[name]; return a, ok }

func (k *fakeKernel) Member(typ, path string) (int64, int64, error) {
	switch typ + "." + path {
	case "struct inactive_task_frame.bp":
		return 40, 8, nil
	case "struct inactive_task_frame.ret_addr":
		return 48, 8, nil
	}
	return 0, 0, fmt.Errorf("no member %s.%s", typ, path)
}

func (k *fakeKernel) Fields(typ string) ([]arch.Field, error) {
	if typ == "struct cea_exception_stacks" {
		return []arch.Field{{Name: "DF_stack_guard", Offset: 0, Size: 4096}, {Name: "DF_stack", Offset: 4096, Size: 8192},
			{Name: "NMI_stack_guard", Offset: 12288, Size: 4096}, {Name: "NMI_stack", Offset: 16384, Size: 8192}}, nil
	}
	return nil, fmt.Errorf("no type %s", typ)
}

func (k *fakeKernel) PerCPU(name string, cpu int) (uint64, error) {
	if a, ok := k.percpu[name]; ok && cpu == 0 {
		return a, nil
	}
	return 0, fmt.Errorf("no per-CPU %s for CPU %d", name, cpu)
}

func (k *fakeKernel) Image() *elf.File   { return nil }
func (k *fakeKernel) Relocation() uint64 { return 0 }

// Addresses of the synthetic kernel.
const (
	taskStack = 0xffffc90000010000 // 16 KiB, aligned
	irqTop    = 0xffffc90000108000 // the IRQ stack's end
	ceaBase   = 0xfffffe0000001000 // cea_exception_stacks
	fnSched   = 0xffffffff81001000 // schedule
	fnKthread = 0xffffffff81002000 // kthread
	fnStop    = 0xffffffff81003000 // stop_this_cpu: ORC call, sp+8
	fnIRQ     = 0xffffffff81004000 // an IRQ entry: ORC, SP indirect +8
	fnEnd     = 0xffffffff81005000 // the stack's end: ORC end
	fnPanic   = 0xffffffff81006000 // panic
	fnIdle    = 0xffffffff81007000 // default_idle
)

func newFake() *fakeKernel {
	return &fakeKernel{
		mem: map[uint64]uint64{
			0xffffffff82000000: irqTop - 8, // hardirq_stack_ptr
			0xffffffff82000008: ceaBase,    // cea_exception_stacks
		},
		syms: map[string]uint64{"schedule": fnSched, "kthread": fnKthread, "stop_this_cpu": fnStop,
			"asm_sysvec": fnIRQ, "ret_from_fork_asm": fnEnd, "panic": fnPanic, "default_idle": fnIdle,
			"__start_init_task": 0xffffffff83000000, "__end_init_task": 0xffffffff83004000},
		percpu: map[string]uint64{"hardirq_stack_ptr": 0xffffffff82000000, "cea_exception_stacks": 0xffffffff82000008},
	}
}

// testORC encodes ORC rows (layout V1) for the synthetic functions.
func testORC(t *testing.T) *unwind.Table {
	t.Helper()
	type row struct {
		ip       uint64
		w        uint16
		spOffset int16
	}
	rows := []row{
		{fnStop, unwind.RegSP, 8},               // call, sp+8
		{fnIRQ, unwind.RegSPIndirect, 8},        // call, [sp]+8
		{fnEnd, unwind.RegUndefined | 1<<10, 0}, // end of stack
		{fnPanic, unwind.RegSP, 8},
		{fnPanic + 0x1000, unwind.RegUndefined, 0}, // no information beyond
	}
	const ipAddr = 0xffffffff84000000
	ip := make([]byte, 4*len(rows))
	orc := make([]byte, 6*len(rows))
	for i, r := range rows {
		binary.LittleEndian.PutUint32(ip[4*i:], uint32(int32(int64(r.ip)-int64(ipAddr+uint64(4*i)))))
		binary.LittleEndian.PutUint16(orc[6*i:], uint16(r.spOffset))
		binary.LittleEndian.PutUint16(orc[6*i+4:], r.w)
	}
	tb, err := unwind.ParseORC(ip, ipAddr, orc, unwind.LayoutV1)
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

// TestTraceSleeping starts a sleeping task at its switch frame and
// follows the frame pointers (no ORC, no CFI for this code).
func TestTraceSleeping(t *testing.T) {
	k := newFake()
	sp := uint64(taskStack + 0x3e00)
	k.mem[sp+48] = fnSched + 0x10           // inactive_task_frame.ret_addr
	k.mem[sp+40] = taskStack + 0x3e50       // inactive_task_frame.bp
	k.mem[taskStack+0x3e50] = 0             // the caller's rbp: the chain ends
	k.mem[taskStack+0x3e58] = fnKthread + 8 // return address
	tr := newTracer(k, arch.TraceConfig{PanicCPU: -1}, &unwind.Table{}, nil)
	if tr.StackSize() != 0x4000 {
		t.Errorf("StackSize = %#x, want THREAD_SIZE from the init stack's bounds", tr.StackSize())
	}
	got := tr.Trace(arch.Task{Stack: taskStack, SavedSP: sp, CPU: 0}, arch.TraceOptions{})
	want := &arch.Trace{Origin: arch.OriginSwitchFrame, Frames: []arch.Frame{
		{Slot: sp + 48, RawSlot: sp + 48, PC: fnSched + 0x10, By: arch.MethodStart},
		{Slot: taskStack + 0x3e58, RawSlot: taskStack + 0x3e58, PC: fnKthread + 8, By: arch.MethodFP},
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("sleeping trace (-want +got):\n%s", diff)
	}
	// Without frame pointers the walk ends at the first frame and says
	// why.
	got = tr.Trace(arch.Task{Stack: taskStack, SavedSP: sp, CPU: 0}, arch.TraceOptions{Methods: []arch.Method{arch.MethodORC, arch.MethodCFI}})
	if len(got.Frames) != 1 || got.Err == nil {
		t.Errorf("without frame pointers: %+v", got)
	}
	// A saved stack pointer off the stack is an error naming it.
	got = tr.Trace(arch.Task{Stack: taskStack, SavedSP: 0xdead, CPU: 0}, arch.TraceOptions{})
	if got.Err == nil || len(got.Frames) != 0 {
		t.Errorf("bad thread.sp: %+v", got)
	}
	// An unreadable switch frame too.
	got = tr.Trace(arch.Task{Stack: taskStack, SavedSP: taskStack + 0x100, CPU: 0}, arch.TraceOptions{})
	if got.Err == nil || len(got.Frames) != 0 {
		t.Errorf("unreadable switch frame: %+v", got)
	}
}

// TestTraceIRQStack starts a stopped CPU's task at the stop IPI's mark
// on the IRQ stack and crosses to the task stack, where crash shows the
// first frame at the stack pointer the IRQ stack saved.
func TestTraceIRQStack(t *testing.T) {
	k := newFake()
	for a := uint64(taskStack); a < taskStack+0x4000; a += 8 {
		k.mem[a] = 0
	}
	irqLo := uint64(irqTop - 0x4000)
	for a := irqLo; a < irqTop; a += 8 {
		k.mem[a] = 0
	}
	mark := uint64(irqTop - 0x100)
	back := uint64(taskStack + 0x3f00)
	k.mem[mark] = fnStop + 0x20  // the stop IPI's handler
	k.mem[mark+8] = fnIRQ + 0x30 // return into the IRQ entry
	k.mem[mark+16] = back        // the task's stack pointer the IRQ stack saved
	k.mem[back] = fnEnd + 4      // return into the end of the stack
	tr := newTracer(k, arch.TraceConfig{PanicCPU: 1}, testORC(t), nil)
	stacks := tr.Stacks(0)
	wantStacks := []arch.Stack{
		{Name: "IRQ", Lo: arch.Word(irqLo), Hi: irqTop},
		{Name: "DOUBLEFAULT", Lo: ceaBase + 4096, Hi: ceaBase + 12288},
		{Name: "NMI", Lo: ceaBase + 16384, Hi: ceaBase + 24576},
	}
	if diff := cmp.Diff(wantStacks, stacks); diff != "" {
		t.Errorf("Stacks (-want +got):\n%s", diff)
	}
	got := tr.Trace(arch.Task{Stack: taskStack, CPU: 0, Active: true}, arch.TraceOptions{})
	want := &arch.Trace{Origin: arch.OriginStackMark, Frames: []arch.Frame{
		{Slot: mark, RawSlot: mark, PC: fnStop + 0x20, By: arch.MethodStart},
		{Slot: mark + 8, RawSlot: mark + 8, PC: fnIRQ + 0x30, By: arch.MethodORC},
		{Slot: back + 8, RawSlot: back, PC: fnEnd + 4, By: arch.MethodORC},
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("IRQ stack trace (-want +got):\n%s", diff)
	}
	// The panic task's mark on its own stack wins over everything but
	// kexec's.
	k.mem[taskStack+0x3000] = fnPanic + 0x40
	k.mem[taskStack+0x3008] = fnEnd + 4
	got = tr.Trace(arch.Task{Stack: taskStack, CPU: 0, Active: true, Panic: true}, arch.TraceOptions{})
	if got.Origin != arch.OriginStackMark || len(got.Frames) != 2 || got.Frames[0].PC != fnPanic+0x40 || got.Frames[1].Slot != taskStack+0x3008 || got.Err != nil {
		t.Errorf("panic task: %+v", got)
	}
}

// TestTraceCPURegs starts an active task with no mark on its stacks from
// the registers the dump saved for its CPU; a CPU caught in user mode in
// a dump without a panic gives only those user registers.
func TestTraceCPURegs(t *testing.T) {
	k := newFake()
	for a := uint64(taskStack); a < taskStack+0x4000; a += 8 {
		k.mem[a] = 0
	}
	k.mem[taskStack+0x3fa0] = 0
	k.mem[taskStack+0x3fa8] = fnKthread + 8
	g := make([]uint64, 27)
	g[4], g[16], g[17], g[19], g[20] = taskStack+0x3fa0, fnIdle+5, 0x10, taskStack+0x3f80, 0x18 // rbp rip cs rsp ss
	regs, ok := CPU{}.DumpRegs(&elfcore.PRStatus{Machine: elf.EM_X86_64, Regs: g}, nil)
	if !ok || regs.User || regs.PC != fnIdle+5 || regs.FP != taskStack+0x3fa0 {
		t.Fatalf("DumpRegs: %+v", regs)
	}
	tr := newTracer(k, arch.TraceConfig{PanicCPU: -1, CPURegs: []*arch.Regs{regs}}, &unwind.Table{}, nil)
	got := tr.Trace(arch.Task{Stack: taskStack, CPU: 0, Active: true}, arch.TraceOptions{})
	want := &arch.Trace{Origin: arch.OriginCPURegs, StartRegs: regs, Frames: []arch.Frame{
		{Slot: taskStack + 0x3f80, RawSlot: taskStack + 0x3f80, PC: fnIdle + 5, By: arch.MethodStart, Interrupted: true},
		{Slot: taskStack + 0x3fa8, RawSlot: taskStack + 0x3fa8, PC: fnKthread + 8, By: arch.MethodFP},
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("trace from CPU registers (-want +got):\n%s", diff)
	}
	g[17] = 0x33 // user mode
	user, _ := CPU{}.DumpRegs(&elfcore.PRStatus{Machine: elf.EM_X86_64, Regs: g}, nil)
	tr = newTracer(k, arch.TraceConfig{PanicCPU: -1, CPURegs: []*arch.Regs{user}}, &unwind.Table{}, nil)
	got = tr.Trace(arch.Task{Stack: taskStack, CPU: 0, Active: true}, arch.TraceOptions{})
	if got.Origin != arch.OriginUserRegs || got.UserRegs == nil || !got.UserRegs.User || len(got.Frames) != 0 {
		t.Errorf("CPU in user mode: %+v", got)
	}
}

// TestRegs checks the register values: names in crash's order, the
// partial iret frame, QEMU's note, and crash's display.
func TestRegs(t *testing.T) {
	p := &unwind.Regs{IP: 0xffffffff81000010, SP: 0xffffc90000013f00, Flags: 0x246, AX: 1, BP: 2, R15: 3, OrigAX: 0xffffffffffffffff, CS: 0x10, SS: 0x18}
	full := ArchRegs(p, false)
	if len(full.Regs) != 21 || full.Regs[0].Name != "rip" || full.Regs[20].Name != "ss" || full.User {
		t.Errorf("full regs: %+v", full)
	}
	if v, ok := full.Get("r15"); !ok || v != 3 {
		t.Errorf("r15 = %#x, %v", v, ok)
	}
	if diff := cmp.Diff(p, PtRegs(full)); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	part := ArchRegs(p, true)
	var names []string
	for _, r := range part.Regs {
		names = append(names, r.Name)
	}
	if fmt.Sprint(names) != "[rip rsp rflags cs ss]" || !part.Partial {
		t.Errorf("iret frame: %v", names)
	}
	want := []string{
		"    [exception RIP: f+16]",
		"    RIP: ffffffff81000010  RSP: ffffc90000013f00  RFLAGS: 00000246",
		"    CS: 0010  SS: 0018",
	}
	if diff := cmp.Diff(want, CPU{}.RegsText(part, arch.FormException, "f+16")); diff != "" {
		t.Errorf("iret frame text (-want +got):\n%s", diff)
	}
	cpuText := CPU{}.RegsText(full, arch.FormCPU, "f+16")
	if len(cpuText) != 8 || cpuText[7] != "    CS: 0010  SS: 0018" || cpuText[4] != "    RBP: 0000000000000002   R8: 0000000000000000   R9: 0000000000000000" {
		t.Errorf("CPU registers text: %q", cpuText)
	}
	q := &elfcore.QEMUCPUState{RIP: 0x401000, RSP: 0x7ffe0000, RBP: 0x7ffe0010, CS: elfcore.QEMUSegment{Selector: 0x33}, SS: elfcore.QEMUSegment{Selector: 0x2b}}
	r, ok := CPU{}.DumpRegs(nil, q)
	if !ok || !r.User || r.PC != 0x401000 || r.FP != 0x7ffe0010 {
		t.Errorf("QEMU state: %+v, %v", r, ok)
	}
	if _, ok := (CPU{}).DumpRegs(&elfcore.PRStatus{Machine: elf.EM_AARCH64, Regs: make([]uint64, 34)}, nil); ok {
		t.Error("an arm64 NT_PRSTATUS decoded as x86_64 registers")
	}
}

// TestNewTracerWithoutImage: without a vmlinux the tracer takes the
// kernel's ORC tables from memory; a kernel without them unwinds by frame
// pointers, and tables whose bounds are wrong are an error, not a panic.
func TestNewTracerWithoutImage(t *testing.T) {
	if _, err := (CPU{}).NewTracer(newFake(), arch.TraceConfig{}); err != nil {
		t.Errorf("a kernel without ORC symbols: %v", err)
	}
	k := newFake()
	k.syms["__start_orc_unwind_ip"], k.syms["__stop_orc_unwind_ip"] = 0x2000, 0x1000
	k.syms["__start_orc_unwind"], k.syms["__stop_orc_unwind"] = 0x3000, 0x3000
	if _, err := (CPU{}).NewTracer(k, arch.TraceConfig{}); err == nil {
		t.Error("ORC bounds that end before they start: no error")
	}
	if _, err := arch.ForMachine("x86_64"); err != nil {
		t.Errorf("x86_64 has no CPU registered: %v", err)
	}
	if _, err := arch.ForMachine("pdp11"); err == nil {
		t.Error("a CPU for an unknown machine")
	}
}

// FuzzTrace traces tasks whose stacks, saved stack pointer and CPU
// registers are arbitrary: errors are fine, panics and endless walks are
// not.
func FuzzTrace(f *testing.F) {
	seed := make([]byte, 64)
	binary.LittleEndian.PutUint64(seed[0:], fnStop+0x20)
	binary.LittleEndian.PutUint64(seed[8:], fnIRQ+0x30)
	binary.LittleEndian.PutUint64(seed[16:], taskStack+0x3f00)
	f.Add(seed, uint16(0x3e00), uint8(1), uint64(fnIdle+5))
	f.Fuzz(func(t *testing.T, data []byte, spOff uint16, flags uint8, ip uint64) {
		k := newFake()
		for i := 0; i+8 <= len(data) && i < 0x4000; i += 8 {
			w := binary.LittleEndian.Uint64(data[i:])
			k.mem[taskStack+0x4000-uint64(len(data)&^7)+uint64(i)] = w
			k.mem[irqTop-0x1000+uint64(i)] = w ^ 0x5a5a
		}
		g := make([]uint64, 27)
		g[4], g[16], g[17], g[19] = taskStack+uint64(spOff), ip, uint64(flags&3), taskStack+uint64(spOff)
		regs, _ := CPU{}.DumpRegs(&elfcore.PRStatus{Machine: elf.EM_X86_64, Regs: g}, nil)
		tr := newTracer(k, arch.TraceConfig{PanicCPU: int(flags>>2&1) - 1, CPURegs: []*arch.Regs{regs}, RegsBeforeIPIMarks: flags&8 != 0}, testORC(t), nil)
		task := arch.Task{Stack: taskStack, SavedSP: taskStack + uint64(spOff), CPU: int(flags >> 4 & 1), Active: flags&32 != 0, Panic: flags&64 != 0}
		got := tr.Trace(task, arch.TraceOptions{})
		if len(got.Frames) > 2*256+1 {
			t.Fatalf("%d frames", len(got.Frames))
		}
	})
}

// TestTraceAtSyscallEntry: the NMI found the CPU on entry_SYSCALL_64's
// first instruction, still on the user's stack. As crash does, the trace
// ends with that frame and the user registers at the top of the task's
// stack (the previous system call's).
func TestTraceAtSyscallEntry(t *testing.T) {
	k := newFake()
	const fnEntry = 0xffffffff81008000
	k.syms["entry_SYSCALL_64"] = fnEntry
	for a := uint64(taskStack); a < taskStack+0x4000; a += 8 {
		k.mem[a] = 0
	}
	top := uint64(taskStack + 0x4000 - unwind.PtRegsSize)
	k.mem[top+128], k.mem[top+136], k.mem[top+152], k.mem[top+160] = 0x47b5e1, 0x33, 0x7ffc801688c0, 0x2b // ip cs sp ss
	const userSP = 0x7ffc80168890
	g := make([]uint64, 27)
	g[16], g[17], g[19], g[20] = fnEntry, 0x10, userSP, 0x18 // rip cs rsp ss
	regs, _ := CPU{}.DumpRegs(&elfcore.PRStatus{Machine: elf.EM_X86_64, Regs: g}, nil)
	tr := newTracer(k, arch.TraceConfig{PanicCPU: -1, CPURegs: []*arch.Regs{regs}}, &unwind.Table{}, nil)
	got := tr.Trace(arch.Task{Stack: taskStack, CPU: 0, Active: true}, arch.TraceOptions{})
	if len(got.Frames) != 1 {
		t.Fatalf("frames %+v (err %v), want the entry frame alone", got.Frames, got.Err)
	}
	f := got.Frames[0]
	if f.PC != fnEntry || f.Slot != userSP || !f.Interrupted {
		t.Errorf("entry frame %+v", f)
	}
	if f.Regs == nil || f.RegsAddr != top || !f.Regs.User || f.Regs.PC != 0x47b5e1 || f.Regs.SP != 0x7ffc801688c0 {
		t.Errorf("user registers after the entry frame: %+v at %#x, want the pt_regs at %#x", f.Regs, f.RegsAddr, top)
	}
	// A kernel thread's top pt_regs are not user registers: none shown.
	k.mem[top+136] = 0
	if got := tr.Trace(arch.Task{Stack: taskStack, CPU: 0, Active: true}, arch.TraceOptions{}); len(got.Frames) != 1 || got.Frames[0].Regs != nil {
		t.Errorf("kernel thread: %+v", got.Frames)
	}
}
