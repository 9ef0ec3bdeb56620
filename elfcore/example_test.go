package elfcore_test

import (
	"errors"
	"fmt"
	"log"

	"github.com/vmcoretools/vmcore/elfcore"
	"github.com/vmcoretools/vmcore/physmem"
)

func ExampleOpen() {
	f, err := elfcore.Open("/var/crash/vmcore")
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	for _, w := range f.Warnings {
		fmt.Println("warning:", w)
	}
	fmt.Printf("%v %v, %d segments, %d notes\n", f.Machine, f.Class, len(f.Segments), len(f.Notes))

	page := make([]byte, 4096)
	if _, err := f.ReadAt(page, 0x1000000); errors.Is(err, physmem.ErrNotInDump) {
		fmt.Println("0x1000000 is not in the dump")
	} else if err != nil {
		log.Fatal(err)
	}

	cpus, err := f.PRStatus()
	if err != nil {
		fmt.Println("some CPU notes did not decode:", err)
	}
	for i, c := range cpus {
		if pc, ok := c.PC(); ok {
			fmt.Printf("CPU %d: pid %d pc %#x\n", i, c.Pid, pc)
		}
	}
}
