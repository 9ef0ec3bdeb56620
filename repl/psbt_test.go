package repl

import (
	"bytes"
	"debug/elf"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vmcoretools/vmcore/arch"
	"github.com/vmcoretools/vmcore/elfcore"
	"github.com/vmcoretools/vmcore/tasks"
)

// TestPsLineFormat checks crash's columns: the active mark, widths, the
// state, %MEM centred in four columns, KiB, and [kernel threads].
func TestPsLineFormat(t *testing.T) {
	tb := &tasks.Table{PageSize: 4096, TotalPages: 207000}
	var b bytes.Buffer
	writePsLine(&b, tb, &tasks.Task{Addr: 0xffff8e88c2750000, PID: 117, PPID: 1, CPU: 1, Comm: "lab-panic", Active: true, TotalVM: 565, RSS: 414})
	writePsLine(&b, tb, &tasks.Task{Addr: 0xffff8e88c11fa0c0, PID: 3, PPID: 2, CPU: 0, Comm: "rcu_gp", State: 0x402, Flags: 0x00200000})
	writePsLine(&b, tb, &tasks.Task{Addr: 0xffff8e88c11fc180, PID: 1234567, PPID: 1, CPU: 12, Comm: "big", State: 1, TotalVM: 1 << 30, RSS: 207000})
	want := ">     117       1   1  ffff8e88c2750000  RU   0.2     2260     1656  lab-panic\n" +
		"        3       2   0  ffff8e88c11fa0c0  ID   0.0        0        0  [rcu_gp]\n" +
		"  1234567       1  12  ffff8e88c11fc180  IN  100.0 4294967296   828000  big\n"
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("ps lines (-want +got):\n%s", diff)
	}
}

func TestTaskHeaderAndRegs(t *testing.T) {
	cpu, err := arch.ForMachine("x86_64")
	if err != nil {
		t.Fatal(err)
	}
	// NT_PRSTATUS's elf_gregset_t: rax, orig_rax, rip, cs, eflags, rsp, ss.
	g := make([]uint64, 27)
	g[10], g[15], g[16], g[17], g[18], g[19], g[20] = 0xffffffffffffffda, 1, 0x47b7a0, 0x33, 0x202, 0x7ffebc9e00e8, 0x2b
	user, ok := cpu.DumpRegs(&elfcore.PRStatus{Machine: elf.EM_X86_64, Regs: g}, nil)
	if !ok || !user.User {
		t.Fatalf("DumpRegs: %+v, %v", user, ok)
	}
	bt := &tasks.Backtrace{
		Frames: []tasks.Frame{
			{Level: 0, Slot: 0xfffffe0000009e58, PC: 0xffffffff8a2417d5, Function: "crash_nmi_callback", Stack: "NMI",
				Switch:    &tasks.StackSwitch{From: "NMI", To: "task", Marker: "--- <NMI exception stack> ---"},
				WordsAddr: 0xfffffe0000009e60, Words: []arch.Word{1, 2, 3}},
			{Level: 1, Slot: 0xffffb3c0c0013e20, PC: 0xffffffffc06f1010, Function: "lab_fn", Module: "lab", Stack: "task",
				File: "/build/lab.c", Line: 12},
		},
		User: &tasks.Exception{Regs: user, Text: cpu.RegsText(user, arch.FormException, "")},
	}
	var b bytes.Buffer
	writeTaskHeader(&b, &tasks.Task{Addr: 0xffff8e88c2750000, PID: 117, CPU: 1, Comm: "lab-panic"})
	writeBacktrace(&b, bt)
	want := `PID: 117      TASK: ffff8e88c2750000  CPU: 1    COMMAND: "lab-panic"
 #0 [fffffe0000009e58] crash_nmi_callback at ffffffff8a2417d5
    fffffe0000009e60: 0000000000000001 0000000000000002 
    fffffe0000009e70: 0000000000000003 
--- <NMI exception stack> ---
 #1 [ffffb3c0c0013e20] lab_fn at ffffffffc06f1010 [lab]
    /build/lab.c: 12
    RIP: 000000000047b7a0  RSP: 00007ffebc9e00e8  RFLAGS: 00000202
    RAX: ffffffffffffffda  RBX: 0000000000000000  RCX: 0000000000000000
    RDX: 0000000000000000  RSI: 0000000000000000  RDI: 0000000000000000
    RBP: 0000000000000000   R8: 0000000000000000   R9: 0000000000000000
    R10: 0000000000000000  R11: 0000000000000000  R12: 0000000000000000
    R13: 0000000000000000  R14: 0000000000000000  R15: 0000000000000000
    ORIG_RAX: 0000000000000001  CS: 0033  SS: 002b
`
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
