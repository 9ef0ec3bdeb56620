package repl

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/vmcoretools/vmcore/internal/lab"
)

// TestLabSlabObjectInTailPage asks kmem -s for the last word of every
// task_struct object on each kernel's ELF kdump: task_structs live in
// multi-page slabs, so many of those words are in a tail page, whose
// struct page names the head differently from kernel to kernel
// (compound_head before 7.1; compound_info, a mask where vmemmap tails are
// shared, from 7.1). Each must be found in task_struct's cache as its own
// object. crash's development branch (which reads 7.2) finds them too;
// the first version of this reader did not on 7.2.
func TestLabSlabObjectInTailPage(t *testing.T) {
	eachLabSession(t, lab.Open(t), []string{"k510-elf", "k61-elf", "k612-elf", "ksid-elf"}, "no ELF kdump in the lab", func(t *testing.T, _ *lab.Dump, s *Session) {
		tb, err := s.TaskTable()
		if err != nil {
			t.Fatal(err)
		}
		// The cache's object size, not sizeof: task_struct ends
		// in an FPU state sized at boot (arch_task_struct_size).
		out, _ := runLine(t, s, "kmem", "-s", "task_struct")
		lines := strings.Split(out, "\n")
		var f []string
		if len(lines) > 1 {
			f = strings.Fields(lines[1])
		}
		if len(f) < 2 {
			t.Fatalf("kmem -s task_struct: %q", out)
		}
		size, err := strconv.ParseUint(f[1], 10, 64)
		if err != nil {
			t.Fatalf("kmem -s task_struct: %q", out)
		}
		tails := 0
		for _, tk := range tb.Tasks {
			if tk.PID == 0 {
				continue // the idle tasks are static, not slab objects
			}
			last := tk.Addr + size - 8
			if last/4096 != tk.Addr/4096 {
				tails++
			}
			got, errOut := runLine(t, s, "kmem", "-s", fmt.Sprintf("%#x", last))
			if !strings.Contains(got, " task_struct\n") || !strings.Contains(got, fmt.Sprintf("[%x]", tk.Addr)) {
				t.Errorf("kmem -s %#x (the last word of %s's task_struct %#x): %s%s", last, tk.Comm, tk.Addr, got, errOut)
			}
		}
		t.Logf("%d task_structs, %d ending in another page than they start", len(tb.Tasks), tails)
		if tails == 0 {
			t.Error("no task_struct crosses a page: the test proves nothing here")
		}
	})
}
