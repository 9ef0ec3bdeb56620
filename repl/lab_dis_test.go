package repl

import "testing"

// TestLabDisGroup compares dis with crash 8.0.6 (gdb's disassembler) on the
// dis group: whole functions with calls, jumps, rip-relative operands,
// stac/clac and endbr64, dis -r, and an address with a count.
func TestLabDisGroup(t *testing.T) {
	n := compareCrashGroup(t, "dis", nil)
	t.Logf("%d dis outputs compared", n)
}
