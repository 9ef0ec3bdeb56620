package repl

import "testing"

// TestLabLogRdGroup compares log's options and rd's sizes, formats,
// symbols, expressions and counts with crash 8.0.6.
func TestLabLogRdGroup(t *testing.T) {
	n := compareCrashGroup(t, "logrd", logRdGroupKnown)
	t.Logf("%d log/rd outputs compared", n)
}

// crash's evall() returns nopt.ll_num, which eval_common() fills only for
// LONG_LONG requests: on 64-bit machines every (expression) is 0.
const crashRdExpr = "crash (8.0.6 and 9.0.2) evaluates rd's (expression) to 0 on x86_64 (evall returns the long-long result eval_common did not fill) and reads user address 0; ours reads at the expression's value, as crash's help describes"

var logRdGroupKnown = []groupDiff{
	{Cmd: "rd (", Why: crashRdExpr},
	{Cmd: "rd -32 (", Why: crashRdExpr},
}
