package repl

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vmcoretools/vmcore/dwarfsym"
	"github.com/vmcoretools/vmcore/internal/lab"
	"github.com/vmcoretools/vmcore/vmcore"
)

// labSession opens one lab dump with its vmlinux as the session does.
func labSession(t *testing.T, d *lab.Dump) (*Session, func()) {
	t.Helper()
	dump, err := vmcore.Open(d.Files...)
	if err != nil {
		t.Fatal(err)
	}
	f, err := dwarfsym.Open(d.Vmlinux)
	if err != nil {
		dump.Close()
		t.Fatal(err)
	}
	return NewKernelSession(dump, d.Vmlinux, f), func() { f.Close(); dump.Close() }
}

func runLine(t *testing.T, s *Session, args ...string) (string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	l := &Loop{Session: s, Out: &out, Err: &errOut}
	l.RunArgs(args)
	return out.String(), errOut.String()
}

// TestLabPsMatchesCrash compares ps, and ps with command filters, with
// crash 8.0.6 line for line on every 6.1 lab dump.
func TestLabPsMatchesCrash(t *testing.T) {
	l := lab.Open(t)
	n := 0
	for _, d := range l.Dumps {
		if d.Kernel != "6.1" {
			continue
		}
		want, err := os.ReadFile(d.RefFile("crash-8.0.6", "ps.txt"))
		if err != nil {
			continue
		}
		t.Run(d.Name, func(t *testing.T) {
			s, done := labSession(t, d)
			defer done()
			got, errs := runLine(t, s, "ps")
			if s.Dump.Info() == nil {
				// Without VMCOREINFO (QEMU dumps taken without -device
				// vmcoreinfo) our translator cannot find the page tables;
				// crash finds them by other means. ps must say why.
				if !strings.Contains(errs, "VMCOREINFO") {
					t.Errorf("ps on a dump without VMCOREINFO: stderr %q does not say why it failed", errs)
				}
				return
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("ps differs from crash (-crash +ours):\n%s", diff)
			}
			if wantLab, err := os.ReadFile(d.RefFile("crash-8.0.6", "ps-lab.txt")); err == nil {
				got, _ := runLine(t, s, "ps", "lab-spin", "lab-pipe-reader", "lab-pipe-writer", "lab-sleeper", "lab-panic")
				if diff := cmp.Diff(string(wantLab), got); diff != "" {
					t.Errorf("ps COMMAND... differs from crash (-crash +ours):\n%s", diff)
				}
			}
		})
		n++
	}
	if n == 0 {
		t.Fatal("no 6.1 lab dump has crash's ps.txt")
	}
}
