package vmcore_test

import (
	"fmt"
	"log"

	"github.com/vmcoretools/vmcore/vmcore"
)

// The dump and the debuginfo vmlinux of its kernel for the examples that
// need one (a vmlinux is too big to commit; the lab test runs the example
// on lab dumps).
var (
	exampleDump    = "/var/crash/202412051200/vmcore"
	exampleVmlinux = "/usr/lib/debug/boot/vmlinux-6.1.0-56-cloud-amd64"
)

// Open a dump with its vmlinux and print the backtrace of the task that
// panicked, as crash's bt shows its frames.
func ExampleKernel_Backtrace() {
	d, err := vmcore.Open(exampleDump)
	if err != nil {
		log.Fatal(err)
	}
	defer d.Close()
	k, err := vmcore.OpenKernel(d, exampleVmlinux, vmcore.KernelOptions{})
	if err != nil {
		log.Fatal(err)
	}
	defer k.Close()
	t, err := k.PanicTask()
	if err != nil || t == nil {
		log.Fatal("no panic task: ", err)
	}
	bt, err := k.Backtrace(t)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("PID: %d  COMMAND: %q  CPU: %d\n", bt.PID, bt.Comm, bt.CPU)
	for _, f := range bt.Frames {
		module := ""
		if f.Module != "" {
			module = " [" + f.Module + "]"
		}
		fmt.Printf("%3s [%x] %s at %x%s\n", fmt.Sprintf("#%d", f.Level), f.Slot, f.Function, f.PC, module)
	}
	if bt.Err != nil {
		fmt.Println("the trace ends early:", bt.Err)
	}
}
