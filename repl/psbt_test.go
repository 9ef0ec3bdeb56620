package repl

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vmcoretools/vmcore/arch/amd64/unwind"
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
	var b bytes.Buffer
	writeTaskHeader(&b, &tasks.Task{Addr: 0xffff8e88c2750000, PID: 117, CPU: 1, Comm: "lab-panic"})
	writeExceptionFrame(&b, &unwind.Regs{IP: 0x47b7a0, SP: 0x7ffebc9e00e8, Flags: 0x202, AX: 0xffffffffffffffda, OrigAX: 1, CS: 0x33, SS: 0x2b}, false)
	want := `PID: 117      TASK: ffff8e88c2750000  CPU: 1    COMMAND: "lab-panic"
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
