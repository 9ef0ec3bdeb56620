package repl

import "testing"

// TestLabKmemGroup compares kmem -V (the vm_stat and event counters),
// kmem -z (zones) and kmem -o (per-CPU offsets) with crash 8.0.6
// (testdata/lab/crash-groups/kmem.cmds); kmem -i is compared on every lab
// dump by TestLabAgainstCrash.
func TestLabKmemGroup(t *testing.T) {
	if n := compareCrashGroup(t, "kmem", nil); n == 0 {
		t.Error("nothing compared")
	}
}
