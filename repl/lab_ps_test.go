package repl

import "testing"

// TestLabPsGroup compares ps's options (-a -g -r -s -G -m -C -l -S -A -H
// -I -y -Y -t, task arguments, and crash's errors) with crash 8.0.6 on
// the group's dumps (testdata/lab/crash-groups/ps.cmds).
func TestLabPsGroup(t *testing.T) {
	n := compareCrashGroup(t, "ps", []groupDiff{
		{Cmd: "ps -t", Kernel: "6.12", Why: "crash 8.0.6 converts RUN TIME through an assumed HZ of 1000 (the 6.12 kernel has HZ=250) and prints minutes for a machine up 11 s; ours is the runqueue clock minus start_time"},
	})
	t.Logf("%d outputs compared", n)
}
