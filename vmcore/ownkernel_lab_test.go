package vmcore

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vmcoretools/vmcore/arch"
	"github.com/vmcoretools/vmcore/internal/lab"
	"github.com/vmcoretools/vmcore/tasks"
)

// TestLabKernelFromDump makes the kernel model of lab dumps of both
// kernels, ELF and compressed, from the dump alone (BTF and kallsyms) and
// checks that its views equal those made with the debuginfo vmlinux:
// every task's ps status, the modules, the run queues, the system
// summary, every task's open files and memory map, the memory summary,
// the slab caches, the zones and the vmalloc areas; and every task's
// backtrace (with its stack words), unwound with the ORC tables in the
// kernel's memory, equals the one unwound with the vmlinux's.
func TestLabKernelFromDump(t *testing.T) {
	l := lab.Open(t)
	for _, name := range []string{"k61-elf", "k61-kdump-zlib-d31", "k612-elf", "k612-kdump-lzo-d31", "k510-elf", "k510-kdump-zlib-d31", "ksid-elf", "ksid-mdf178-elf-d31"} {
		ld := l.Dump(name)
		if ld == nil {
			if strings.HasPrefix(name, "k61") { // the other kernels: build.sh without --only-6.1
				t.Errorf("the lab has no %s", name)
			}
			continue
		}
		t.Run(name, func(t *testing.T) {
			d, err := Open(ld.Files...)
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			withVmlinux, err := OpenKernel(d, ld.Vmlinux, KernelOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer withVmlinux.Close()
			own, err := OpenKernel(d, "", KernelOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer own.Close()
			if own.Syms != nil || own.Source == nil {
				t.Fatal("the dump-only kernel uses a vmlinux")
			}
			if own.Banner() != withVmlinux.Banner() || own.KASLROffset() != withVmlinux.KASLROffset() {
				t.Errorf("banner %q KASLR %#x, with the vmlinux %q %#x", own.Banner(), own.KASLROffset(), withVmlinux.Banner(), withVmlinux.KASLROffset())
			}
			same := func(what string, a, b any, errA, errB error) {
				t.Helper()
				if errA != nil || errB != nil {
					t.Errorf("%s: %v (with the vmlinux: %v)", what, errB, errA)
					return
				}
				if diff := cmp.Diff(a, b); diff != "" {
					t.Errorf("%s differs (-vmlinux +dump alone):\n%s", what, diff)
				}
			}
			ta, errA := withVmlinux.Tasks()
			tb, errB := own.Tasks()
			if errA != nil || errB != nil {
				t.Fatalf("tasks: %v, with the vmlinux %v", errB, errA)
			}
			if len(ta.Tasks) != len(tb.Tasks) || len(ta.Tasks) < 50 {
				t.Fatalf("%d tasks, with the vmlinux %d", len(tb.Tasks), len(ta.Tasks))
			}
			for i, task := range ta.Tasks {
				sa, errA := withVmlinux.Status(task)
				sb, errB := own.Status(tb.Tasks[i])
				same("ps of pid "+itoa(task.PID), sa, sb, errA, errB)
				fa, errA := withVmlinux.Files(task)
				fb, errB := own.Files(tb.Tasks[i])
				same("files of pid "+itoa(task.PID), fa, fb, errA, errB)
				va, errA := withVmlinux.AddressSpace(task)
				vb, errB := own.AddressSpace(tb.Tasks[i])
				same("vm of pid "+itoa(task.PID), va, vb, errA, errB)
			}
			cfi := 0
			for i, task := range ta.Tasks {
				ba, errA := withVmlinux.Backtrace(task, tasks.TraceOptions{Words: true})
				bb, errB := own.Backtrace(tb.Tasks[i], tasks.TraceOptions{Words: true})
				if errA != nil || errB != nil {
					t.Errorf("bt of pid %d: %v (with the vmlinux: %v)", task.PID, errB, errA)
					continue
				}
				// Code only the vmlinux's .debug_frame covers (not in
				// memory) is unwound by reading its prologue instead: the
				// same frame, found another way.
				for j, f := range ba.Frames {
					if f.By == arch.MethodCFI && j < len(bb.Frames) && bb.Frames[j].By == arch.MethodPrologue {
						cfi++
						bb.Frames[j].By = arch.MethodCFI
					}
				}
				same("bt of pid "+itoa(task.PID), ba, bb, nil, nil)
			}
			t.Logf("%d tasks' backtraces compared; %d frames found by the vmlinux's CFI were found by prologue analysis", len(ta.Tasks), cfi)
			ma, errA := withVmlinux.Modules()
			mb, errB := own.Modules()
			same("modules", ma, mb, errA, errB)
			ra, errA := withVmlinux.RunQueues()
			rb, errB := own.RunQueues()
			same("run queues", ra, rb, errA, errB)
			same("summary", withVmlinux.Summary(), own.Summary(), nil, nil)
			ia, errA := withVmlinux.Memory().Info()
			ib, errB := own.Memory().Info()
			same("memory summary", ia, ib, errA, errB)
			ca, errA := withVmlinux.Memory().Caches()
			cb, errB := own.Memory().Caches()
			same("slab caches", ca, cb, errA, errB)
			za, errA := withVmlinux.Memory().Zones()
			zb, errB := own.Memory().Zones()
			same("zones", za, zb, errA, errB)
			aa, errA := withVmlinux.Memory().VmapAreas()
			ab, errB := own.Memory().VmapAreas()
			same("vmalloc areas", aa, ab, errA, errB)
		})
	}
}

func itoa(n int) string { return fmt.Sprint(n) }
