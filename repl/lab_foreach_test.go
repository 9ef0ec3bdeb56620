package repl

import "testing"

// TestLabForeachGroup compares foreach, with crash's task selectors and
// the ps, task, set and bt commands, with crash 8.0.6 on the group's
// dumps (testdata/lab/crash-groups/foreach.cmds).
func TestLabForeachGroup(t *testing.T) {
	n := compareCrashGroup(t, "foreach", []groupDiff{
		{Cmd: "foreach 1 lab-spin ps -t", Kernel: "6.12", Why: "crash 8.0.6 converts RUN TIME through an assumed HZ of 1000 (the 6.12 kernel has HZ=250); ours is the runqueue clock minus start_time"},
	})
	t.Logf("%d outputs compared", n)
}
