package dwarfsym_test

import (
	"fmt"
	"os"

	"github.com/vmcoretools/vmcore/dwarfsym"
)

func Example() {
	f, err := dwarfsym.Open("testdata/tiny.elf")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer f.Close()

	// Symbols both ways.
	s, _ := f.Lookup("second_task")
	fmt.Println(f.FormatAddr(s.Addr + 0x2c))

	// Types: sizeof, offsetof, and crash's struct -o.
	n, _ := f.Sizeof("struct task")
	off, _ := f.Offset("struct task", "tasks.next")
	fmt.Println(n, off)
	lh, _ := f.Type("struct list_head")
	dwarfsym.WriteLayout(os.Stdout, lh, false)

	// Per-CPU variables are offsets into each CPU's area.
	v, _ := f.Variable("current_task")
	fmt.Println(dwarfsym.Declare(v.Type, v.Name), v.PerCPU)
	// Output:
	// second_task+0x2c
	// 120 32
	// struct list_head {
	//    [0] struct list_head *next;
	//    [8] struct list_head *prev;
	// }
	// SIZE: 16
	// struct task *current_task true
}
