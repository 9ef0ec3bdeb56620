package repl

import "testing"

// TestLabSearchGroup compares search (kernel virtual memory bounded and
// whole, physical memory, the panic task's user memory; -w/-h, -m, -c,
// -x, several values; crash's usage errors) with crash 8.0.6
// (testdata/lab/crash-groups/search.cmds).
func TestLabSearchGroup(t *testing.T) {
	if n := compareCrashGroup(t, "search", searchGroupKnown); n == 0 {
		t.Error("nothing compared")
	}
}

const searchTwice = "crash's vmalloc range spans the kernel image, so a start in the image is searched twice and every match printed twice; here once"

var searchGroupKnown = []groupDiff{{
	Cmd:   "search",
	Why:   "crash is silent about the pages a filtered dump lacks; this project says how many were not searched",
	Strip: "search: not searched: ",
},
	{Cmd: "search -s init_task", Why: searchTwice, Dedupe: true},
	{Cmd: "search -w -s init_task", Why: searchTwice, Dedupe: true},
	{Cmd: "search -h -s init_task", Why: searchTwice, Dedupe: true},
	{Cmd: "search -c -s linux_banner", Why: searchTwice, Dedupe: true},
}
