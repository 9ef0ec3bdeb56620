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

// btBlocks splits bt output into one block per task, keyed by its
// "PID: ..." header line.
func btBlocks(s string) (order []string, blocks map[string]string) {
	blocks = map[string]string{}
	var cur string
	for _, line := range strings.SplitAfter(s, "\n") {
		if strings.HasPrefix(line, "PID: ") {
			cur = line
			order = append(order, cur)
			continue
		}
		if cur == "" || strings.TrimSpace(line) == "" {
			continue
		}
		blocks[cur] += line
	}
	return order, blocks
}

// compareBt checks our bt output against crash's, task by task. Where
// crash could not read a stack (QEMU dumps: crash fails on the CPU entry
// area stacks of the CPUs that did not panic and prints "bt: read of
// stack ... failed"), ours must give a trace of its own instead of
// crash's error; every other task's block must be equal line for line.
func compareBt(t *testing.T, what, want, got string) {
	t.Helper()
	wantOrder, wantBlocks := btBlocks(want)
	gotOrder, gotBlocks := btBlocks(got)
	if diff := cmp.Diff(wantOrder, gotOrder); diff != "" {
		t.Errorf("%s: task headers differ (-crash +ours):\n%s", what, diff)
	}
	crashFailed := 0
	for _, h := range wantOrder {
		w, g := wantBlocks[h], gotBlocks[h]
		if strings.HasPrefix(w, "bt: ") {
			crashFailed++
			if g == "" || strings.HasPrefix(g, "bt: ") {
				t.Errorf("%s: %s crash failed and so did we:\n%s", what, strings.TrimSpace(h), g)
			}
			continue
		}
		if diff := cmp.Diff(w, g); diff != "" {
			t.Errorf("%s: %s (-crash +ours):\n%s", what, strings.TrimSpace(h), diff)
		}
	}
	if crashFailed > 2 {
		t.Errorf("%s: crash failed on %d tasks; expected at most the 2 CPUs' active tasks", what, crashFailed)
	}
}

// TestLabBtMatchesCrash compares bt, bt -a and foreach bt with crash
// 8.0.6 on every 6.1 lab dump that has VMCOREINFO.
func TestLabBtMatchesCrash(t *testing.T) {
	l := lab.Open(t)
	n := 0
	for _, d := range l.Dumps {
		if d.Kernel != "6.1" {
			continue
		}
		if _, err := os.Stat(d.RefFile("crash-8.0.6", "foreach-bt.txt")); err != nil {
			continue
		}
		t.Run(d.Name, func(t *testing.T) {
			s, done := labSession(t, d)
			defer done()
			if s.Dump.Info() == nil {
				t.Skip("no VMCOREINFO: ps covers the error; kernel views need the page tables VMCOREINFO locates")
			}
			for _, c := range []struct{ file, cmd string }{
				{"bt.txt", "bt"}, {"bt-a.txt", "bt -a"}, {"foreach-bt.txt", "foreach bt"},
			} {
				want, err := os.ReadFile(d.RefFile("crash-8.0.6", c.file))
				if err != nil {
					t.Fatal(err)
				}
				got, _ := runLine(t, s, strings.Fields(c.cmd)...)
				compareBt(t, c.cmd, string(want), got)
			}
			n++
		})
	}
	if n == 0 {
		t.Fatal("no 6.1 lab dump was compared")
	}
}
