package vmcore

import (
	"fmt"
	"strings"

	"github.com/vmcoretools/vmcore/tasks"
)

// Load opens a dump (the files of one dump: several for a split set) and
// the debuginfo vmlinux of its kernel together, checked as NewKernel
// checks them. Closing the Kernel closes both.
func Load(vmlinux string, dumpFiles ...string) (*Kernel, error) {
	d, err := Open(dumpFiles...)
	if err != nil {
		return nil, err
	}
	k, err := OpenKernel(d, vmlinux, KernelOptions{})
	if err != nil {
		d.Close()
		return nil, err
	}
	k.ownDump = true
	return k, nil
}

// PanicBacktrace is the backtrace of the task that called panic, or an
// error when no CPU did (a dump taken from a live or hung machine: see
// Tasks and Backtrace for every task then).
func (k *Kernel) PanicBacktrace(opt ...tasks.TraceOptions) (*tasks.Backtrace, error) {
	t, err := k.PanicTask()
	if err != nil {
		return nil, err
	}
	if t == nil {
		return nil, fmt.Errorf("vmcore: no task called panic in %s", orName(strings.Join(k.Dump.Paths(), ", "), "the dump"))
	}
	return k.Backtrace(t, opt...)
}
