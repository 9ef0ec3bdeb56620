package repl

import "testing"

// TestLabTreeGroup compares tree (red-black trees, xarrays and maple
// trees, from their roots and from a node; -p, -l, -s, -x/-d; errors) with
// crash 8.0.6 (testdata/lab/crash-groups/tree.cmds).
func TestLabTreeGroup(t *testing.T) {
	if n := compareCrashGroup(t, "tree", treeGroupKnown); n == 0 {
		t.Error("nothing compared")
	}
}

var treeGroupKnown = []groupDiff{{
	Cmd: "tree -t radix -r pid_namespace.idr init_pid_ns",
	// Where crash is wrong: since 4.20 radix_tree_root is a #define
	// of struct xarray, which crash's check for the member xa_head
	// does not see, so it fails ("radix trees do not exist or have
	// changed their format"); its own help says such a tree is
	// walked as an XArray.
	Why:  "crash fails on a radix tree that is an xarray; the truth is its tree -t xarray of the same root",
	Like: "tree -t xarray -r pid_namespace.idr init_pid_ns",
}}
