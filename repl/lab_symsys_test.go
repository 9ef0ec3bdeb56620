package repl

import "testing"

// TestLabSymGroup compares sym with crash 8.0.6: names, addresses,
// offsets into functions and data symbols, with the source path of text.
func TestLabSymGroup(t *testing.T) {
	n := compareCrashGroup(t, "sym", nil)
	t.Logf("%d sym outputs compared", n)
}
