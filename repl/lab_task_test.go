package repl

import "testing"

// structPrinterDiff explains the whole task_struct's differences: they
// are the struct printer's (cmd_struct.go and package value, not this
// change's), which does not yet print as gdb does arrays of structs (gdb
// nests each element one level deeper), empty structs ("{<No data
// fields>}") and some char arrays.
const structPrinterDiff = "the whole task_struct and thread_info as the struct printer prints them: it differs from gdb in arrays of structs, empty structs and char arrays (cmd_struct.go, not this change)"

// TestLabTaskGroup compares task and set (which changes the task that
// task and bt use) with crash 8.0.6 on the group's dumps, in the
// recorded order (testdata/lab/crash-groups/task.cmds).
func TestLabTaskGroup(t *testing.T) {
	n := compareCrashGroup(t, "task", []groupDiff{
		{Cmd: "task 1", Why: structPrinterDiff},
		{Cmd: "task -R nosuch 1", Why: "crash prints \"task: nosuch: not a task_struct or thread_info member\" on its console only, not into the redirected output; ours goes to stderr, which this test merges with the output"},
	})
	t.Logf("%d outputs compared", n)
}
