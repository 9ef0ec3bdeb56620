package repl

import "testing"

// TestLabPGroup compares p, whatis, struct and union with crash 8.0.6 on
// real kernel data: C expressions (arithmetic, casts, &, *, ->, [],
// sizeof, comparisons, ?:), per-CPU variables, enums, bools, function
// pointers and functions, char arrays and pointers, structs and arrays of
// structs, p -x and p/x, and the $N history numbering, which runs through
// the whole group as in one crash session.
func TestLabPGroup(t *testing.T) {
	compareCrashGroup(t, "p", pGroupKnown)
}

var pGroupKnown = []groupDiff{
	{Cmd: "whatis init_task.tasks.next", Why: "crash is wrong: its whatis takes init_task as a type name (arg_to_datatype) and prints struct task_struct; gdb's whatis, which we follow, says struct list_head *"},
	{Cmd: "p cpu_number:a", Kernel: "6.12", Why: "6.12 has no cpu_number variable (it moved into pcpu_hot): crash prints only \"gdb request failed: p cpu_number:a\", we print gdb's reason (No symbol \"cpu_number\" in current context.)"},
}
