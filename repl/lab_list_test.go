package repl

import "testing"

// TestLabListGroup compares list (embedded and stand-alone heads, -s with
// members, -r, -e, -l, -x/-d, raw offsets, errors) with crash 8.0.6
// (testdata/lab/crash-groups/list.cmds).
func TestLabListGroup(t *testing.T) {
	if n := compareCrashGroup(t, "list", nil); n == 0 {
		t.Error("nothing compared")
	}
}
