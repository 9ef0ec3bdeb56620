package repl

import "testing"

// TestLabSymGroup compares sym with crash 8.0.6: names, addresses,
// offsets into functions and data symbols, with the source path of text.
func TestLabSymGroup(t *testing.T) {
	n := compareCrashGroup(t, "sym", nil)
	t.Logf("%d sym outputs compared", n)
}

// TestLabSysGroup compares sys, TASKS included, with crash.
func TestLabSysGroup(t *testing.T) {
	n := compareCrashGroup(t, "sys", []groupDiff{{
		Cmd: "sys", Kernel: "6.12",
		Why: "crash 8.0.6 guesses HZ wrongly on 6.12: its UPTIME for a kernel that panicked 11 s after boot is 00:03:47 (TestLabAgainstCrash compares the other fields)",
	}})
	t.Logf("%d sys outputs compared", n)
}

// TestLabSysCGroup compares sys -c, the system call table with each
// entry's source position, with crash.
func TestLabSysCGroup(t *testing.T) {
	n := compareCrashGroup(t, "sysc", nil)
	t.Logf("%d sys -c outputs compared", n)
}
