package repl

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vmcoretools/vmcore/arch"
	"github.com/vmcoretools/vmcore/dwarfsym"
	"github.com/vmcoretools/vmcore/internal/lab"
	"github.com/vmcoretools/vmcore/tasks"
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
	s, err := NewKernelSession(dump, d.Vmlinux, f, vmcore.KernelOptions{})
	if err != nil {
		f.Close()
		dump.Close()
		t.Fatal(err)
	}
	return s, func() { f.Close(); dump.Close() }
}

// eachLabSession runs f as a subtest, with a session, on each of the
// named lab dumps the lab holds, and skips the test (saying why) when it
// holds none of them.
func eachLabSession(t *testing.T, l *lab.Lab, names []string, why string, f func(t *testing.T, d *lab.Dump, s *Session)) {
	t.Helper()
	n := 0
	for _, name := range names {
		d := l.Dump(name)
		if d == nil {
			continue
		}
		n++
		t.Run(name, func(t *testing.T) {
			s, done := labSession(t, d)
			defer done()
			f(t, d, s)
		})
	}
	if n == 0 {
		t.Skip(why)
	}
}

func runLine(t *testing.T, s *Session, args ...string) (string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	l := &Loop{Session: s, Out: &out, Err: &errOut}
	l.RunArgs(args)
	return out.String(), errOut.String()
}

// TestLabPsMatchesCrash compares ps, and ps with command filters, with
// crash 8.0.6 line for line on every lab dump crash read (5.10, 6.1 and
// 6.12), and with sid's crash 9.0.2 (--no_modules, sidref.sh) on the 7.2
// dumps it reads.
func TestLabPsMatchesCrash(t *testing.T) {
	l := lab.Open(t)
	n := 0
	for _, d := range l.Dumps {
		var version string
		var want []byte
		for _, v := range crashVersions(d) {
			if b, err := os.ReadFile(d.RefFile(v, "ps.txt")); err == nil && v != "crash-8.0.2" {
				version, want = v, b
				break
			}
		}
		if version == "" {
			continue
		}
		t.Run(d.Name, func(t *testing.T) {
			proved(t, d, "ps", version)
			s, done := labSession(t, d)
			defer done()
			got, errs := runLine(t, s, "ps")
			if s.Dump.Info() == nil {
				// Without VMCOREINFO (QEMU dumps taken without -device
				// vmcoreinfo) the session derives it from the vmlinux and
				// the saved registers; if that failed, ps must say why.
				t.Errorf("no VMCOREINFO and none derived; ps stderr: %q", errs)
				return
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("ps differs from %s (-crash +ours):\n%s", version, diff)
			}
			if wantLab, err := os.ReadFile(d.RefFile(version, "ps-lab.txt")); err == nil {
				got, _ := runLine(t, s, "ps", "lab-spin", "lab-pipe-reader", "lab-pipe-writer", "lab-sleeper", "lab-panic")
				if diff := cmp.Diff(string(wantLab), got); diff != "" {
					t.Errorf("ps COMMAND... differs from crash (-crash +ours):\n%s", diff)
				}
			}
		})
		n++
	}
	if n == 0 {
		t.Fatal("no lab dump has crash's ps.txt")
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
// 8.0.6 on every lab dump (6.1 and 6.12); on the QEMU dumps without
// VMCOREINFO the session derives it from the vmlinux, as crash does.
func TestLabBtMatchesCrash(t *testing.T) {
	l := lab.Open(t)
	n := 0
	for _, d := range l.Dumps {
		if _, err := os.Stat(d.RefFile("crash-8.0.6", "foreach-bt.txt")); err != nil {
			continue
		}
		t.Run(d.Name, func(t *testing.T) {
			proved(t, d, "bt", "crash-8.0.6")
			s, done := labSession(t, d)
			defer done()
			if s.Dump.Info() == nil {
				t.Fatal("no VMCOREINFO, and the session could not derive it from the vmlinux")
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
		t.Fatal("no lab dump was compared")
	}
}

// drgnFrame is one frame of drgn's stacks.txt: a function name (inlined
// functions have frames of their own), with the offset drgn prints for
// frames without DWARF (assembly), or a user-space PC.
type drgnFrame struct {
	name string
	off  uint64 // for "name+0xOFF/0xSIZE"
	asm  bool
}

// drgnRefDump returns the dump whose drgn references hold for d, the
// newest drgn's directory there and the truth's name: d's own when drgn
// wrote the file rel(drgn) for it; else, for a dump that leaves out no page
// but zero pages, its ELF twin's (the lab checks such a dump page by page
// against the twin). drgn reads no QEMU kdump file: libkdumpfile finds no
// architecture in QEMU's header ("KDUMP_ATTR_ARCH_NAME: Key has no value").
// A nil dump: no drgn reference holds for d.
func drgnRefDump(l *lab.Lab, d *lab.Dump, rel func(drgn string) string) (*lab.Dump, string, string) {
	has := func(x *lab.Dump, drgn string) bool {
		st, err := os.Stat(filepath.Join(x.Ref, rel(drgn)))
		return err == nil && st.Size() > 0
	}
	if drgn := newestDrgn(d); has(d, drgn) {
		return d, drgn, drgn
	}
	twin := l.Dump(d.ELFTwin)
	if d.ELFTwin == "" || twin == nil || d.DumpLevel > 1 {
		return nil, "", ""
	}
	if drgn := newestDrgn(twin); has(twin, drgn) {
		return twin, drgn, drgn + " (ELF twin)"
	}
	return nil, "", ""
}

// newestDrgn is the directory of the newest drgn's references for d: sid's
// drgn (drgn-0.3.0, recorded on the extra kernels' dumps) before
// bookworm's (drgn, 0.0.22), which knows neither 7.1's ORC nor 7.0's
// kallsyms.
func newestDrgn(d *lab.Dump) string {
	dirs, _ := filepath.Glob(filepath.Join(d.Ref, "drgn-[0-9]*"))
	best := "drgn"
	for _, dir := range dirs {
		if b := filepath.Base(dir); !strings.HasSuffix(b, "-views") && !strings.HasSuffix(b, ".log") && b > best {
			best = b
		}
	}
	return best
}

func parseDrgnStacks(t *testing.T, text string) map[uint64][]drgnFrame {
	out := map[uint64][]drgnFrame{}
	var cur uint64
	inUser := map[uint64]bool{}
	for _, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		if len(f) >= 4 && f[0] == "PID" && f[2] == "TASK" {
			v, err := strconv.ParseUint(strings.TrimPrefix(f[3], "0x"), 16, 64)
			if err != nil {
				t.Fatalf("drgn stacks: %q", line)
			}
			cur = v
			out[cur] = []drgnFrame{}
			continue
		}
		if len(f) >= 1 && f[0] == "DRGN-ERROR" {
			// drgn failed on this task (0.0.22 knows only ORC's first
			// layout and fails on 6.12's user tasks): nothing to compare.
			out[cur] = nil
			continue
		}
		if len(f) < 2 || !strings.HasPrefix(f[0], "#") || out[cur] == nil || inUser[cur] {
			continue
		}
		name := f[1]
		if a, err := strconv.ParseUint(strings.TrimPrefix(name, "0x"), 16, 64); err == nil &&
			strings.HasPrefix(name, "0x") && a < 0xffff800000000000 {
			// A user-space PC: crash and we stop there. drgn 0.3.0
			// goes on guessing through user stacks (0x0,
			// 0xf000ff53f000ff53 on QEMU's dumps); those are dropped.
			inUser[cur] = true
		}
		if a, err := strconv.ParseUint(strings.TrimPrefix(name, "0x"), 16, 64); err == nil &&
			strings.HasPrefix(name, "0x") && a >= 0xffff800000000000 {
			// A bare kernel address as a frame: drgn lost the unwind
			// (0.0.22 on 6.12 read an NMI-interrupted task's stack with
			// ORC entries it does not know, and took a task_struct
			// pointer for a return address). Counted as a failure.
			out[cur] = nil
			continue
		}
		fr := drgnFrame{name: name}
		if i := strings.Index(name, "+0x"); i >= 0 {
			fr.name, fr.asm = name[:i], true
			off := name[i+3:]
			if j := strings.IndexByte(off, '/'); j >= 0 {
				off = off[:j]
			}
			fr.off, _ = strconv.ParseUint(off, 16, 64)
		}
		out[cur] = append(out[cur], fr)
	}
	return out
}

// ourFrame is one of our frames expanded as drgn shows it.
type ourFrame struct {
	name string
	pc   uint64
	user bool
}

// expandTrace lists our trace with inlined functions as frames of their
// own (innermost first, from the line table), as drgn does, ending with
// the user PC when the trace reached user mode.
func expandTrace(s *Session, tr *tasks.Tracer, tk *tasks.Task) []ourFrame {
	trace := tr.Backtrace(tk)
	var out []ourFrame
	interrupted := uint64(0) // the PC an exception frame just listed
	for _, f := range trace.Frames {
		pc := uint64(f.PC)
		if pc == interrupted && f.Exception == nil {
			// The interrupted function's frame itself (after an NMI, as
			// crash prints it): listed already, with its inlined
			// callers, from the exception's registers.
			interrupted = 0
			continue
		}
		atInterrupted := pc == interrupted
		interrupted = 0
		lines, err := s.Debug.Lines(pc - 1)
		named := false
		if err == nil {
			for _, l := range lines {
				if l.Function != "" {
					out = append(out, ourFrame{name: l.Function, pc: pc})
					named = true
				}
			}
		}
		if !named {
			out = append(out, ourFrame{name: f.Function, pc: pc})
		}
		if f.Exception != nil && f.Exception.Regs.User {
			// After the entry code an NMI caught before it switched
			// stacks (the NMI run), crash shows the user registers at
			// the top of the stack: the previous system call's. drgn
			// stops at the entry, whose ORC says nothing more.
			if !atInterrupted {
				out = append(out, ourFrame{pc: uint64(f.Exception.Regs.PC), user: true})
			}
		} else if f.Exception != nil {
			// The interrupted kernel function: crash's "[exception RIP:
			// ...]", a frame of its own (with its inlined callers) to
			// drgn. Its PC is the interrupted instruction, not a return.
			epc := uint64(f.Exception.Regs.PC)
			interrupted = epc
			if lines, err := s.Debug.Lines(epc); err == nil {
				for _, l := range lines {
					if l.Function != "" {
						out = append(out, ourFrame{name: l.Function, pc: epc})
					}
				}
			}
		}
	}
	if trace.User != nil {
		out = append(out, ourFrame{pc: uint64(trace.User.Regs.PC), user: true})
	}
	// A function may appear twice in a row: inlined into itself (as
	// addr2line -i shows ext4_lazyinit_thread in 6.12), so no compaction.
	return out
}

func sameFrame(s *Session, d drgnFrame, o ourFrame) bool {
	if o.user {
		return d.name == fmt.Sprintf("0x%x", o.pc)
	}
	if d.asm {
		// drgn names assembly by the first symbol at the address
		// (entry_SYSCALL_64+0xa6), crash and we by the nearest
		// (entry_SYSCALL_64_after_hwframe): compare addresses.
		sym, ok := s.Debug.Lookup(d.name)
		return ok && sym.Addr+d.off == o.pc
	}
	return d.name == o.name
}

// TestLabBtMatchesDrgn compares every task's frames with drgn's, inlined
// functions included, on every lab dump drgn traced (6.1 and, where crash
// may fail, 6.12). Sleeping tasks must agree frame for frame. Active
// tasks start differently (drgn from the registers the crash path saved
// inside __crash_kexec, or from the user registers an NMI interrupted; we
// and crash from the crash path's marks on the stack, one frame deeper),
// so for them drgn's frames from the first one we share must be our
// frames from there to the end.
func TestLabBtMatchesDrgn(t *testing.T) {
	l := lab.Open(t)
	n := 0
	for _, d := range l.Dumps {
		rd, drgn, truth := drgnRefDump(l, d, func(drgn string) string { return filepath.Join(drgn, "stacks.txt") })
		if rd == nil {
			continue
		}
		want, err := os.ReadFile(rd.RefFile(drgn, "stacks.txt"))
		if err != nil {
			continue
		}
		if d.ELFTwin != "" && d.Compression != "none" && d.Kernel == "6.1" {
			continue // the same memory as its ELF twin, compared there
		}
		t.Run(d.Name, func(t *testing.T) {
			proved(t, d, "bt", truth)
			s, done := labSession(t, d)
			defer done()
			if s.Dump.Info() == nil {
				t.Skip("no VMCOREINFO")
			}
			tr, err := s.Tracer()
			if err != nil {
				t.Fatal(err)
			}
			stacks := parseDrgnStacks(t, string(want))
			if len(stacks) == 0 {
				t.Skip("drgn failed on this dump (its stacks.txt lists no task)")
			}
			compared, failed, freed := 0, 0, 0
			defer func() {
				t.Logf("%d tasks compared, %d that drgn failed on skipped, %d with a freed stack skipped", compared-freed, failed, freed)
			}()
			for addr, df := range stacks {
				if df == nil {
					failed++
					continue
				}
				compared++
				tk := tr.Table.ByAddr(addr)
				if tk == nil {
					t.Errorf("task %#x: drgn has it, our table does not", addr)
					continue
				}
				if tk.Stack == 0 {
					// A zombie whose stack the kernel released
					// (task_struct.stack is NULL): crash says "(no stack)"
					// and so do we; drgn reads the stale words left at its
					// saved stack pointer (the freed stack stays mapped in
					// the per-CPU stack cache). The guest's own ps lists
					// the task as Z (serial.log of the SMP run).
					freed++
					continue
				}
				of := expandTrace(s, tr, tk)
				j0, i0 := 0, 0
				if tk.Active {
					found := false
					for i := range df {
						for j := range of {
							if sameFrame(s, df[i], of[j]) {
								i0, j0, found = i, j, true
								break
							}
						}
						if found {
							break
						}
					}
					if !found {
						t.Errorf("pid %d (active): no frame in common with drgn", tk.PID)
						continue
					}
				}
				if rf, ok := s.Debug.Lookup("ret_from_fork"); ok && len(df) == 1 && df[0].name == fmt.Sprintf("0x%x", rf.Addr) &&
					len(of) == 1 && of[0].user {
					// Forked, never run: drgn shows the switch frame's return
					// address (ret_from_fork's first instruction) and stops;
					// crash and we show the user registers at the top of the
					// stack instead.
					continue
				}
				dd, oo := df[i0:], of[j0:]
				ok := len(dd) == len(oo)
				for k := 0; ok && k < len(dd); k++ {
					ok = sameFrame(s, dd[k], oo[k])
				}
				if !ok {
					t.Errorf("pid %d %s: frames differ\ndrgn: %v\nours: %v", tk.PID, tk.Comm, dd, oo)
				}
			}
			n++
		})
	}
	if n == 0 {
		t.Skip("no lab dump has drgn's stacks.txt")
	}
}

// TestLabPsBtOptionsMatchCrash runs trixie's crash 8.0.6 from the lab on
// a 6.1 and a 6.12 dump with the ps and bt options the lab's references
// do not cover (-l -p -c -t -k -u, bt -f, bt -l, bt -a, set, task -R, ps
// filters), and compares with ours. On 6.12, ps -t is left out: crash's
// RUN TIME there is minutes for tasks of a machine up for 11 seconds (it
// converts through an assumed HZ of 1000 against a kernel built with
// HZ=250); ours is the runqueue clock minus start_time, and agrees with
// crash on 6.1.
func TestLabPsBtOptionsMatchCrash(t *testing.T) {
	l := lab.Open(t)
	skipWithoutCrash(t, l)
	// The SMP run's dumps: CPUs stopped by NMI in user code, in the
	// kernel and idle (bt -a -f and -l print the NMI frames' words and the
	// interrupted instructions' source lines).
	names := []string{"k61-kdump-zlib-d31", "k612-kdump-zstd-d31", "k61smp-kdump-zstd-d31", "k612smp-elf"}
	eachLabSession(t, l, names, "none of the dumps is in the lab", func(t *testing.T, d *lab.Dump, s *Session) {
		tb, err := s.TaskTable()
		if err != nil {
			t.Fatal(err)
		}
		panicPid := "1"
		for _, tk := range tb.Tasks {
			if tk.Comm == "lab-panic" {
				panicPid = strconv.Itoa(tk.PID)
			}
		}
		cmds := []string{"ps -l", "ps -p " + panicPid, "ps -c 1", "ps -k", "ps -u", "bt -f", "bt -l", "bt -a",
			"set", "task -R pid,comm 1", "ps " + panicPid + " 1 lab-spin", "bt -a -f", "bt -a -l"}
		if d.Kernel == "6.1" {
			cmds = append(cmds, "ps -t 1 "+panicPid)
		}
		want := runCrash(t, l, d, cmds)
		var got strings.Builder
		for _, c := range cmds {
			out, errs := runLine(t, s, strings.Fields(c)...)
			if errs != "" {
				t.Errorf("%s: %s", c, errs)
			}
			got.WriteString(out)
		}
		if diff := cmp.Diff(string(want), got.String()); diff != "" {
			t.Errorf("(-crash +ours):\n%s", diff)
		}
	})
}

// crashLoader is trixie's crash 8.0.6 in the lab's private root, run
// through that root's own loader: the loader and the root.
func crashLoader(l *lab.Lab) (ld, root string) {
	root = filepath.Join(l.Dir, "trixie", "root")
	return filepath.Join(root, "usr/lib64/ld-linux-x86-64.so.2"), root
}

// skipWithoutCrash skips t when the lab has no trixie crash.
func skipWithoutCrash(t *testing.T, l *lab.Lab) {
	t.Helper()
	if ld, _ := crashLoader(l); !fileExists(ld) {
		t.Skip("the lab has no trixie crash")
	}
}

func fileExists(path string) bool { _, err := os.Stat(path); return err == nil }

// runCrash runs crash 8.0.6 live on d with cmds and returns what it
// printed (crash prints its errors there too).
func runCrash(t *testing.T, l *lab.Lab, d *lab.Dump, cmds []string) []byte {
	t.Helper()
	ld, root := crashLoader(l)
	in := filepath.Join(t.TempDir(), "cmds")
	if err := os.WriteFile(in, []byte(strings.Join(cmds, "\n")+"\nquit\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(ld, "--library-path", filepath.Join(root, "usr/lib/x86_64-linux-gnu"), filepath.Join(root, "usr/bin/crash"),
		"-s", "-i", in, d.Vmlinux, d.Files[0])
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("crash: %v", err)
	}
	return out
}

// TestLabBtCFIOnly unwinds every task without ORC, with .debug_frame and
// frame pointers alone (the fallbacks), and still expects crash's foreach
// bt, task for task.
func TestLabBtCFIOnly(t *testing.T) {
	l := lab.Open(t)
	d := l.Dump("k61-kdump-zlib-d31")
	if d == nil {
		t.Skip("no k61-kdump-zlib-d31 in the lab")
	}
	s, done := labSession(t, d)
	defer done()
	tr, err := s.Tracer()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(tr.CPU.Methods(), arch.MethodCFI) {
		t.Fatal("the vmlinux's .debug_frame was not loaded")
	}
	s.BtMethods = []arch.Method{arch.MethodCFI, arch.MethodFP}
	want, err := os.ReadFile(d.RefFile("crash-8.0.6", "foreach-bt.txt"))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := runLine(t, s, "foreach", "bt")
	compareBt(t, "foreach bt without ORC", string(want), got)
	// The choice takes effect: frame pointers alone (this kernel has
	// none) do not give crash's traces.
	s.BtMethods = []arch.Method{arch.MethodFP}
	if fp, _ := runLine(t, s, "foreach", "bt"); fp == got {
		t.Error("foreach bt with frame pointers alone prints what CFI does")
	}
}
