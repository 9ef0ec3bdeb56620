package repl

import "testing"

// TestLabKmemGroup compares kmem -V (the vm_stat and event counters),
// kmem -z (zones), kmem -o (per-CPU offsets) and kmem -s (the SLUB caches,
// all or one by name) with crash 8.0.6
// (testdata/lab/crash-groups/kmem.cmds); kmem -i is compared on every lab
// dump by TestLabAgainstCrash.
func TestLabKmemGroup(t *testing.T) {
	known := []groupDiff{{Cmd: "kmem -s no_such_cache",
		Why: "crash prints nothing for a cache name it does not know; this tool says that there is no such cache (exit status 1 under -c)"}}
	if n := compareCrashGroup(t, "kmem", known); n == 0 {
		t.Error("nothing compared")
	}
}
