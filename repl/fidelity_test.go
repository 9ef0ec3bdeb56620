package repl

import (
	"strings"
	"testing"

	"github.com/vmcoretools/vmcore/module"
	"github.com/vmcoretools/vmcore/tasks"
)

// TestSortModules: crash lists modules by the base of their core text,
// not by the address of their struct module (which differ in order once
// many modules are loaded and freed).
func TestSortModules(t *testing.T) {
	mods := []module.Module{
		{Name: "a", Addr: 0xffffffffc0100000, Base: 0xffffffffc0300000},
		{Name: "b", Addr: 0xffffffffc0200000, Base: 0xffffffffc0010000},
		{Name: "c", Addr: 0xffffffffc0050000, Base: 0xffffffffc0200000},
	}
	sortModules(mods)
	if mods[0].Name != "b" || mods[1].Name != "c" || mods[2].Name != "a" {
		t.Errorf("order %s %s %s, want b c a", mods[0].Name, mods[1].Name, mods[2].Name)
	}
}

// TestNoStackLine: a task whose stack was freed prints crash's
// "(no stack)" under its header.
func TestNoStackLine(t *testing.T) {
	var b strings.Builder
	writeBacktrace(&b, &tasks.Backtrace{Err: tasks.ErrNoStack})
	if b.String() != "(no stack)\n" {
		t.Errorf("got %q", b.String())
	}
}

// TestNMIFrameOrder: where a trace leaves an NMI stack whose last frame
// holds the interrupted registers, crash prints the registers, then the
// "--- <NMI exception stack> ---" line, then the interrupted function as
// a frame of its own; clone suffixes (.isra.N, .part.N) are stripped from
// frame names and from the exception RIP, as crash's symbol table has them.
func TestNMIFrameOrder(t *testing.T) {
	ex := &tasks.Exception{Where: "finish_task_switch.isra.0+145", Text: []string{
		"    [exception RIP: finish_task_switch.isra.0+145]",
		"    RIP: ffffffff810cf231  RSP: ffffc90000003e60  RFLAGS: 00000246",
	}}
	bt := &tasks.Backtrace{Frames: []tasks.Frame{
		{Level: 0, Slot: 0xfffffe0000083ef0, PC: 0xffffffff81c01680, Function: "end_repeat_nmi",
			Exception: ex, Switch: &tasks.StackSwitch{From: "NMI", To: "task", Marker: "--- <NMI exception stack> ---"}},
		{Level: 1, Slot: 0xffffc90000003e60, PC: 0xffffffff810cf231, Function: "finish_task_switch.isra.0", Offset: 145},
		{Level: 2, Slot: 0xffffc90000003e98, PC: 0xffffffff81a0c000, Function: "__aa_create_ns.part.0.cold"},
	}}
	var b strings.Builder
	writeBacktrace(&b, bt)
	want := ` #0 [fffffe0000083ef0] end_repeat_nmi at ffffffff81c01680
    [exception RIP: finish_task_switch+145]
    RIP: ffffffff810cf231  RSP: ffffc90000003e60  RFLAGS: 00000246
--- <NMI exception stack> ---
 #1 [ffffc90000003e60] finish_task_switch at ffffffff810cf231
 #2 [ffffc90000003e98] __aa_create_ns at ffffffff81a0c000
`
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}
