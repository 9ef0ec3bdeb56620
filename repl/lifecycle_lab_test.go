package repl

import (
	"bytes"
	"runtime"
	"testing"

	"github.com/vmcoretools/vmcore/internal/lab"
)

// heapMiB is the live heap after two collections.
func heapMiB() float64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return float64(m.HeapAlloc) / (1 << 20)
}

// TestLabSessionsClose opens, uses and closes 50 sessions on one real dump
// in one process and checks that the heap comes back near where it
// started: a session's task table, tracer, symbol tables and the kernel
// model go with it. The first session is a warm-up (package-level tables
// such as the disassembler's are built once per process).
func TestLabSessionsClose(t *testing.T) {
	l := lab.Open(t)
	d := l.Dump("k61-kdump-zlib-d31")
	if d == nil {
		t.Skip("lab has no k61-kdump-zlib-d31")
	}
	n := 50
	if testing.Short() {
		n = 10
	}
	var whileOpen float64
	use := func(measure bool) {
		s, err := OpenSession(d.Vmlinux, d.Files...)
		if err != nil {
			t.Fatal(err)
		}
		var out, errOut bytes.Buffer
		lp := &Loop{Session: s, Out: &out, Err: &errOut}
		for _, cmd := range []string{"ps", "bt -a", "sym schedule", "runq", "files 1", "dis -r schedule", "struct task_struct.comm 1"} {
			lp.RunLine(cmd)
		}
		if out.Len() < 1000 {
			t.Fatalf("the commands printed %d bytes: %s", out.Len(), errOut.String())
		}
		if measure {
			whileOpen = heapMiB()
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	use(false)
	start := heapMiB()
	for i := range n {
		use(i == 0)
	}
	end := heapMiB()
	t.Logf("%d sessions opened, used and closed: live heap %.1f MiB after the first, %.1f MiB while one is open, %.1f MiB after the last (%+.1f MiB)", n, start, whileOpen, end, end-start)
	// Each session holds tens of MiB while open (task table, symbol
	// tables, DWARF indexes); a leak of even one of them per session
	// would grow the heap by far more than this over 50 sessions.
	if end-start > 8 {
		t.Errorf("live heap grew by %.1f MiB over %d sessions (%.1f -> %.1f MiB): sessions leak", end-start, n, start, end)
	}
}
