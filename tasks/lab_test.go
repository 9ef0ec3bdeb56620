package tasks_test

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/vmcoretools/vmcore/arch"
	"github.com/vmcoretools/vmcore/internal/lab"
	"github.com/vmcoretools/vmcore/physmem"
	. "github.com/vmcoretools/vmcore/tasks"
	"github.com/vmcoretools/vmcore/value"
	"github.com/vmcoretools/vmcore/vmcore"
)

// damaged reads through to the dump except in [lo, hi), which reads as
// excluded, and at patch addresses, which read as the given words.
type damaged struct {
	inner  io.ReaderAt
	lo, hi uint64
	patch  map[uint64]uint64
}

func (d damaged) ReadAt(p []byte, off int64) (int, error) {
	a := uint64(off)
	if a < d.hi && a+uint64(len(p)) > d.lo {
		return 0, &physmem.Error{Addr: a, Kind: physmem.Excluded}
	}
	n, err := d.inner.ReadAt(p, off)
	for pa, v := range d.patch {
		if pa >= a && pa+8 <= a+uint64(n) {
			for i := range 8 {
				p[pa-a+uint64(i)] = byte(v >> (8 * i))
			}
		}
	}
	return n, err
}

// damagedKernel is a kernel whose memory reads through damaged.
type damagedKernel struct {
	arch.Kernel
	mem damaged
}

func (d damagedKernel) ReadAt(p []byte, off int64) (int, error) { return d.mem.ReadAt(p, off) }

func openLab(t *testing.T) (*vmcore.Kernel, func()) {
	l := lab.Open(t)
	d := l.Dump("k61-kdump-zlib-d31")
	if d == nil {
		t.Skip("the lab has no k61-kdump-zlib-d31")
	}
	dump, err := vmcore.Open(d.Files...)
	if err != nil {
		t.Fatal(err)
	}
	k, err := vmcore.OpenKernel(dump, d.Vmlinux, vmcore.KernelOptions{})
	if err != nil {
		dump.Close()
		t.Fatal(err)
	}
	return k, func() { k.Close(); dump.Close() }
}

// TestLabExcludedStack: a task whose stack cannot be read gets a trace
// that ends with an error naming the excluded page; the others are
// untouched.
func TestLabExcludedStack(t *testing.T) {
	k, done := openLab(t)
	defer done()
	tb, err := Load(k.Values)
	if err != nil {
		t.Fatal(err)
	}
	initTask := tb.ByPID(1)[0]
	mem := damaged{inner: k.Values.Mem, lo: initTask.Stack, hi: initTask.Stack + 16384}
	ctx := value.New(k.Syms.Source(), mem)
	cpu, err := arch.ForMachine("x86_64")
	if err != nil {
		t.Fatal(err)
	}
	at, err := cpu.NewTracer(damagedKernel{k.ArchKernel(), mem}, arch.TraceConfig{PanicCPU: -1})
	if err != nil {
		t.Fatal(err)
	}
	tr := &Tracer{Table: tb, Values: ctx, CPU: at, Arch: cpu, PanicCPU: -1}
	bad := tr.Backtrace(initTask)
	if bad.Err == nil || !errors.Is(bad.Err, physmem.ErrExcluded) || len(bad.Frames) != 0 {
		t.Errorf("init with its stack excluded: frames %v, err %v; want no frame and an excluded-page error", bad.Frames, bad.Err)
	}
	good := tr.Backtrace(tb.ByPID(2)[0])
	if good.Err != nil || len(good.Frames) < 3 {
		t.Errorf("kthreadd: %d frames, %v", len(good.Frames), good.Err)
	}
}

// TestLabBrokenTaskList: a task list whose link points to garbage, or
// back into itself, ends with a warning, never a panic or a hang.
func TestLabBrokenTaskList(t *testing.T) {
	k, done := openLab(t)
	defer done()
	it, err := k.Syms.Variable("init_task")
	if err != nil {
		t.Fatal(err)
	}
	off, err := k.Syms.Offset("struct task_struct", "tasks")
	if err != nil {
		t.Fatal(err)
	}
	tb, err := Load(k.Values)
	if err != nil {
		t.Fatal(err)
	}
	second := tb.ByPID(2)[0]
	for name, patch := range map[string]map[uint64]uint64{
		"garbage": {second.Addr + uint64(off): 0xdead000000000100},
		"cycle":   {second.Addr + uint64(off): second.Addr + uint64(off)},
		"null":    {it.Addr + uint64(off): 0},
	} {
		ctx := value.New(k.Syms.Source(), damaged{inner: k.Values.Mem, patch: patch})
		got, err := Load(ctx)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if len(got.Warnings) == 0 || !strings.Contains(strings.Join(got.Warnings, "\n"), "task") {
			t.Errorf("%s: no warning about the task list: %q", name, got.Warnings)
		}
		if len(got.Tasks) >= len(tb.Tasks) {
			t.Errorf("%s: %d tasks from a broken list, %d from the whole one", name, len(got.Tasks), len(tb.Tasks))
		}
	}
}
