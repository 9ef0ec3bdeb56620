// Tasklist prints a crashed kernel's tasks and the panic task's backtrace
// with the exported API alone: tasklist VMLINUX DUMP...
package main

import (
	"fmt"
	"log"
	"os"

	"github.com/vmcoretools/vmcore/vmcore"
)

func main() {
	k := must(vmcore.Load(os.Args[1], os.Args[2:]...)) // the vmlinux, the dump's files
	defer k.Close()
	for _, t := range must(k.Tasks()).Tasks {
		fmt.Printf("%d %d %d %x %s %s\n", t.PID, t.PPID, t.CPU, t.Addr, t.StateString(), t.Comm)
	}
	for _, f := range must(k.PanicBacktrace()).Frames {
		fmt.Printf("#%d [%x] %s at %x\n", f.Level, f.Slot, f.Function, f.PC)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		log.Fatal(err)
	}
	return v
}
