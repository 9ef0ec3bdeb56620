package repl

import "testing"

// TestLabKmemGroup compares kmem -V (the vm_stat and event counters),
// kmem -z (zones), kmem -o (per-CPU offsets), kmem -s and -S (the SLUB
// caches, and one cache's every slab and object), -v (vmalloc areas), -f
// (free lists), -h (huge pages), -g (page flags), -p (struct pages, all
// and by address) and kmem ADDRESS (a live and a free slab object, a task
// and its stack, a page, kernel data and text, a physical address) with
// crash 8.0.6 (testdata/lab/crash-groups/kmem.cmds); kmem -i is compared
// on every lab dump by TestLabAgainstCrash.
func TestLabKmemGroup(t *testing.T) {
	if n := compareCrashGroup(t, "kmem", kmemGroupKnown); n == 0 {
		t.Error("nothing compared")
	}
}

const kmemNoSuchCache = "crash prints nothing for a cache name it does not know; this tool says that there is no such cache (exit status 1 under -c)"

var kmemGroupKnown = []groupDiff{{Cmd: "kmem -s no_such_cache", Why: kmemNoSuchCache}, {Cmd: "kmem -S no_such_cache", Why: kmemNoSuchCache},
	// Linux 6.9 made a memory block's state an enum counting from 0
	// (MEM_ONLINE = 0); crash still decodes the older bits (MEM_ONLINE
	// = 1) and calls an online block UNKNOWN. The type says which.
	{Cmd: "kmem -n", Kernel: "6.12", Why: "crash reads 6.12's enum memory_block_state as the old bits", Replace: []string{"UNKNOWN", "ONLINE "}},
	{Cmd: "kmem -n", Kernel: "sid", Why: "crash reads 7.x's enum memory_block_state as the old bits", Replace: []string{"UNKNOWN", "ONLINE "}}}
