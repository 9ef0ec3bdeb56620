package repl

import "testing"

// TestLabEvalGroup compares eval (its quirks included: one operator, the
// first parenthesised argument alone, k/m/g), ptov, ptob and btop with
// crash 8.0.6 (testdata/lab/crash-groups/eval.cmds).
func TestLabEvalGroup(t *testing.T) {
	if n := compareCrashGroup(t, "eval", nil); n == 0 {
		t.Error("nothing compared")
	}
}
