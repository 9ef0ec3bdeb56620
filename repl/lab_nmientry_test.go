package repl

import (
	"os"
	"strings"
	"testing"

	"github.com/vmcoretools/vmcore/internal/lab"
)

// TestLabNMIAtSyscallEntry checks the lab's NMI run (testdata/lab/nmi.sh):
// the panic's NMI found CPU 1 on the first instruction of
// entry_SYSCALL_64, still on the user's stack. crash's bt shows the NMI
// frames, the exception frame, the entry frame at the user stack pointer
// and then the user registers at the top of the task's stack; ours must
// show that CPU's trace as crash does, and the lab must hold the case
// (TestLabBtMatchesCrash compares the whole of bt -a).
func TestLabNMIAtSyscallEntry(t *testing.T) {
	l := lab.Open(t)
	var names []string
	for _, d := range l.Dumps {
		if strings.Contains(d.Name, "nmi-") {
			names = append(names, d.Name)
		}
	}
	eachLabSession(t, l, names, "the lab has no NMI run (testdata/lab/nmi.sh)", func(t *testing.T, d *lab.Dump, s *Session) {
		got, _ := runLine(t, s, "bt", "-a")
		block := cpuBlock(got, "lab-syscalls")
		for _, want := range []string{
			"    [exception RIP: entry_SYSCALL_64]\n",
			"--- <NMI exception stack> ---\n",
			" entry_SYSCALL_64 at ",
			"    ORIG_RAX: ffffffffffffffff  CS: 0010  SS: 0018\n",
			"  CS: 0033  SS: 002b\n",
		} {
			if !strings.Contains(block, want) {
				t.Errorf("bt -a: lab-syscalls's trace lacks %q: the NMI did not find CPU 1 at entry_SYSCALL_64, or the trace is wrong:\n%s", want, block)
			}
		}
		ref, err := os.ReadFile(d.RefFile("crash-8.0.6", "bt-a.txt"))
		if err != nil {
			t.Skipf("no crash reference yet: %v", err)
		}
		if want := cpuBlock(string(ref), "lab-syscalls"); want != block {
			t.Errorf("lab-syscalls's trace differs from crash's:\ncrash:\n%s\nours:\n%s", want, block)
		}
	})
}

// cpuBlock is the trace of the task named comm in bt -a output: from its
// PID line to the next task's.
func cpuBlock(out, comm string) string {
	var b strings.Builder
	in := false
	for _, line := range strings.SplitAfter(out, "\n") {
		if strings.HasPrefix(line, "PID: ") {
			in = strings.Contains(line, `COMMAND: "`+comm+`"`)
		}
		if in {
			b.WriteString(line)
		}
	}
	return b.String()
}
