package repl

import (
	"testing"

	"github.com/vmcoretools/vmcore/arch"
	"github.com/vmcoretools/vmcore/tasks"
)

// TestPanicBySysrq: crash's set marks the panic task (SYSRQ) where sysrq-c
// panicked a machine without kdump (its stack search met
// sysrq_handle_crash before any kexec mark; crash 8.0.6 says so of the
// lab's q612-panic-elf), (PANIC) where kdump ran.
func TestPanicBySysrq(t *testing.T) {
	frames := func(names ...string) []tasks.Frame {
		var out []tasks.Frame
		for _, n := range names {
			out = append(out, tasks.Frame{Function: n})
		}
		return out
	}
	for _, tc := range []struct {
		bt   tasks.Backtrace
		want bool
	}{
		{tasks.Backtrace{Origin: arch.OriginStackMark, Frames: frames("panic", "sysrq_handle_crash", "__handle_sysrq")}, true},
		{tasks.Backtrace{Origin: arch.OriginStackMark, Frames: frames("machine_kexec", "__crash_kexec", "panic", "sysrq_handle_crash")}, false},
		{tasks.Backtrace{Origin: arch.OriginStackMark, Frames: frames("panic", "oops_end", "page_fault_oops")}, false},
		{tasks.Backtrace{Origin: arch.OriginCPURegs, Frames: frames("panic", "sysrq_handle_crash")}, false},
		{tasks.Backtrace{Origin: arch.OriginStackMark}, false},
	} {
		if got := panicBySysrq(&tc.bt); got != tc.want {
			t.Errorf("%v from %s: %v, want %v", tc.bt.Frames, tc.bt.Origin, got, tc.want)
		}
	}
}
