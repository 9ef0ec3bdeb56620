package repl

import "testing"

// TestLabModSymGroup compares the commands that use the modules' own symbol
// tables (mod's [CONFIG_KALLSYMS], sym, dis and rd -s of module code) with
// crash 8.0.6 (testdata/lab/crash-groups/modsym.cmds).
func TestLabModSymGroup(t *testing.T) {
	if n := compareCrashGroup(t, "modsym", nil); n == 0 {
		t.Error("nothing compared")
	}
}
