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
