package tasks_test

import (
	"encoding/json"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vmcoretools/vmcore/arch"
	"github.com/vmcoretools/vmcore/internal/lab"
	. "github.com/vmcoretools/vmcore/tasks"
	"github.com/vmcoretools/vmcore/value"
	"github.com/vmcoretools/vmcore/vmcore"
)

// The views' lab test reads the model's values, not the REPL's text, and
// checks them against what crash 8.0.6 printed for the same tasks
// (testdata/lab/crash-groups/foreach.cmds: foreach user files, foreach
// user vm, foreach 1 lab-panic sig), parsed back into fields; and checks
// every task's views for what must hold on a healthy kernel.

var groupDumps = []string{"k61-elf", "k61-kdump-zlib-d31", "k612-elf", "k612-kdump-lzo-d31"}

// crashBlocks splits crash's foreach output into each task's lines, by
// task address.
func crashBlocks(t *testing.T, path string) map[uint64][]string {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Skipf("no crash record: %v", err)
	}
	head := regexp.MustCompile(`^PID: +\d+ +TASK: ([0-9a-f]+) `)
	out := map[uint64][]string{}
	var cur uint64
	for _, line := range strings.Split(string(b), "\n") {
		if m := head.FindStringSubmatch(line); m != nil {
			cur, _ = strconv.ParseUint(m[1], 16, 64)
			continue
		}
		if cur != 0 && line != "" {
			out[cur] = append(out[cur], line)
		}
	}
	if len(out) == 0 {
		t.Fatalf("%s: no task blocks", path)
	}
	return out
}

func hex(t *testing.T, s string) arch.Word {
	t.Helper()
	v, err := strconv.ParseUint(s, 16, 64)
	if err != nil {
		t.Fatalf("%q: %v", s, err)
	}
	return arch.Word(v)
}

func openGroupKernel(t *testing.T, l *lab.Lab, name string) (*vmcore.Kernel, *lab.Dump, func()) {
	d := l.Dump(name)
	if d == nil {
		t.Skipf("the lab has no %s", name)
	}
	dump, err := vmcore.Open(d.Files...)
	if err != nil {
		t.Fatal(err)
	}
	k, err := vmcore.OpenKernel(dump, d.Vmlinux, vmcore.KernelOptions{})
	if err != nil {
		dump.Close()
		t.Fatal(err)
	}
	return k, d, func() { k.Close(); dump.Close() }
}

func TestLabViewsAgainstCrash(t *testing.T) {
	l := lab.Open(t)
	for _, name := range groupDumps {
		t.Run(name, func(t *testing.T) {
			k, d, done := openGroupKernel(t, l, name)
			defer done()
			tb, err := k.Tasks()
			if err != nil {
				t.Fatal(err)
			}
			ref := func(f string) string { return d.RefFile("crash-8.0.6-groups", "foreach/"+f) }
			n := checkFiles(t, k.Values, tb, crashBlocks(t, ref("fe-files.txt")))
			n += checkVM(t, k.Values, tb, crashBlocks(t, ref("fe-vm.txt")))
			n += checkSignals(t, k.Values, tb, crashBlocks(t, ref("fe-sig.txt")))
			t.Logf("%d fields equal to crash's", n)
		})
	}
}

func checkFiles(t *testing.T, c *value.Context, tb *Table, blocks map[uint64][]string) int {
	line := regexp.MustCompile(`^ *(\d+) ([0-9a-f]+) ([0-9a-f]+) ([0-9a-f]+) (\S+) +(.*)$`)
	n := 0
	for addr, lines := range blocks {
		task := tb.ByAddr(addr)
		if task == nil {
			t.Errorf("crash's task %#x is not in the table", addr)
			continue
		}
		fs, err := Files(c, task)
		if err != nil {
			t.Errorf("Files(%d): %v", task.PID, err)
			continue
		}
		var want []OpenFile
		for _, l := range lines {
			if root, cwd, ok := strings.Cut(strings.TrimPrefix(l, "ROOT: "), "    CWD: "); ok && strings.HasPrefix(l, "ROOT: ") {
				if fs.Root != root || fs.Cwd != cwd {
					t.Errorf("pid %d: root %q cwd %q, crash %q %q", task.PID, fs.Root, fs.Cwd, root, cwd)
				}
				n += 2
				continue
			}
			m := line.FindStringSubmatch(l)
			if m == nil {
				continue
			}
			fd, _ := strconv.Atoi(m[1])
			want = append(want, OpenFile{FD: fd, File: hex(t, m[2]), Dentry: hex(t, m[3]), Inode: hex(t, m[4]), Type: m[5], Path: m[6]})
		}
		if diff := cmp.Diff(want, fs.Open); diff != "" {
			t.Errorf("pid %d's open files (-crash +model):\n%s", task.PID, diff)
		}
		n += len(want)
	}
	return n
}

func checkVM(t *testing.T, c *value.Context, tb *Table, blocks map[uint64][]string) int {
	vma := regexp.MustCompile(`^([0-9a-f]+) +([0-9a-f]+) +([0-9a-f]+) +([0-9a-f]+) ?(.*)$`)
	n := 0
	for addr, lines := range blocks {
		task := tb.ByAddr(addr)
		if task == nil {
			t.Errorf("crash's task %#x is not in the table", addr)
			continue
		}
		as, err := tb.AddressSpace(c, task)
		if err != nil {
			t.Errorf("AddressSpace(%d): %v", task.PID, err)
			continue
		}
		if len(lines) < 2 {
			t.Fatalf("pid %d: crash's vm block is %q", task.PID, lines)
		}
		f := strings.Fields(lines[1])
		if len(f) != 4 || hex(t, f[0]) != as.MM || hex(t, f[1]) != as.PGD || f[2] != strconv.FormatUint(as.RSS, 10)+"k" ||
			f[3] != strconv.FormatUint(as.TotalVM, 10)+"k" {
			t.Errorf("pid %d: mm %#x pgd %#x rss %dk total %dk; crash %q", task.PID, as.MM, as.PGD, as.RSS, as.TotalVM, lines[1])
		}
		var want []Mapping
		for _, l := range lines[3:] {
			m := vma.FindStringSubmatch(l)
			if m == nil {
				t.Fatalf("pid %d: crash's VMA line %q", task.PID, l)
			}
			want = append(want, Mapping{VMA: hex(t, m[1]), Start: hex(t, m[2]), End: hex(t, m[3]), Flags: hex(t, m[4]), Path: m[5]})
		}
		got := append([]Mapping(nil), as.Mappings...)
		for i := range got {
			got[i].File = 0 // crash prints the path only
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("pid %d's mappings (-crash +model):\n%s", task.PID, diff)
		}
		n += 4 + len(want)
	}
	return n
}

func checkSignals(t *testing.T, c *value.Context, tb *Table, blocks map[uint64][]string) int {
	act := regexp.MustCompile(`^ ?\[(\d+)\] ([0-9a-f]+) +(\S+) ([0-9a-f]+) ([0-9a-f]+) ?(?:\((.*)\))?$`)
	n := 0
	for addr, lines := range blocks {
		task := tb.ByAddr(addr)
		if task == nil {
			t.Errorf("crash's task %#x is not in the table", addr)
			continue
		}
		st, err := Signals(c, labTIF(t), task)
		if err != nil {
			t.Errorf("Signals(%d): %v", task.PID, err)
			continue
		}
		var acts []SigAction
		section := ""
		for _, l := range lines {
			switch {
			case strings.HasPrefix(l, "SIGNAL_STRUCT: "):
				f := strings.Fields(l)
				if hex(t, f[1]) != st.SignalStruct || f[3] != strconv.Itoa(st.NrThreads) {
					t.Errorf("pid %d: signal_struct %#x, %d threads; crash %q", task.PID, st.SignalStruct, st.NrThreads, l)
				}
				n += 2
			case strings.HasPrefix(l, "SIGPENDING: "):
				if want := strings.TrimPrefix(l, "SIGPENDING: ") == "yes"; want != st.Pending {
					t.Errorf("pid %d: pending %v; crash %q", task.PID, st.Pending, l)
				}
				n++
			case strings.HasPrefix(l, "   BLOCKED: "):
				if hex(t, strings.TrimPrefix(l, "   BLOCKED: ")) != st.Blocked {
					t.Errorf("pid %d: blocked %#x; crash %q", task.PID, st.Blocked, l)
				}
				n++
			case l == "PRIVATE_PENDING" || l == "SHARED_PENDING":
				section = l
			case strings.HasPrefix(l, "    SIGNAL: "):
				want := hex(t, strings.TrimPrefix(l, "    SIGNAL: "))
				got := st.Private.Signal
				if section == "SHARED_PENDING" {
					got = st.Shared.Signal
				}
				if got != want {
					t.Errorf("pid %d: %s %#x; crash %q", task.PID, section, got, l)
				}
				n++
			case strings.HasPrefix(l, "  SIGQUEUE: (empty)"):
				q := st.Private.Queue
				if section == "SHARED_PENDING" {
					q = st.Shared.Queue
				}
				if len(q) != 0 {
					t.Errorf("pid %d: %s queue %v; crash's is empty", task.PID, section, q)
				}
				n++
			default:
				m := act.FindStringSubmatch(l)
				if m == nil {
					continue
				}
				sig, _ := strconv.Atoi(m[1])
				a := SigAction{Signal: sig, Addr: hex(t, m[2]), Mask: hex(t, m[4]), Flags: hex(t, m[5])}
				if strings.HasPrefix(m[3], "SIG_") {
					a.HandlerName = m[3]
					a.Handler = map[string]arch.Word{"SIG_DFL": 0, "SIG_IGN": 1, "SIG_ERR": ^arch.Word(0)}[m[3]]
				} else {
					a.Handler = hex(t, m[3])
				}
				if m[6] != "" {
					a.FlagNames = strings.Split(m[6], "|")
				}
				acts = append(acts, a)
			}
		}
		if diff := cmp.Diff(acts, st.Actions); diff != "" {
			t.Errorf("pid %d's actions (-crash +model):\n%s", task.PID, diff)
		}
		n += len(acts)
	}
	return n
}

// TestLabViewsHold reads every task's views on the group's dumps: no
// errors on a healthy kernel, the mappings add up to total_vm, each
// thread group's signal_struct is the one ps -r reads, the JSON of each
// value reads back equal, and ps's Status agrees with the table.
func TestLabViewsHold(t *testing.T) {
	l := lab.Open(t)
	for _, name := range []string{"k61-elf", "k612-elf"} {
		t.Run(name, func(t *testing.T) {
			k, _, done := openGroupKernel(t, l, name)
			defer done()
			tb, err := k.Tasks()
			if err != nil {
				t.Fatal(err)
			}
			c := k.Values
			ks, err := k.Dump.Translator()
			if err != nil {
				t.Fatal(err)
			}
			var users, args int
			for _, task := range tb.Tasks {
				fs, err := Files(c, task)
				if err != nil {
					t.Errorf("Files(%d): %v", task.PID, err)
				}
				st, err := Signals(c, labTIF(t), task)
				if err != nil {
					t.Errorf("Signals(%d): %v", task.PID, err)
				} else if st.SignalStruct != arch.Word(task.Signal) || len(st.Actions) != 64 {
					t.Errorf("pid %d: signal_struct %#x (table %#x), %d actions", task.PID, st.SignalStruct, task.Signal, len(st.Actions))
				}
				as, err := tb.AddressSpace(c, task)
				if err != nil {
					t.Errorf("AddressSpace(%d): %v", task.PID, err)
					continue
				}
				s := tb.Status(task)
				if s.VSZ != as.TotalVM || s.RSS != as.RSS || s.State != task.StateString() || s.PID != task.PID {
					t.Errorf("pid %d: Status %+v disagrees with the address space %+v", task.PID, s, as)
				}
				if task.MM != 0 && task.State&0x20 == 0 { // not a zombie: its mm is whole
					users++
					var kib uint64
					for _, m := range as.Mappings {
						kib += uint64(m.End-m.Start) / 1024
					}
					if kib != as.TotalVM {
						t.Errorf("pid %d: mappings add up to %d KiB, total_vm is %d KiB", task.PID, kib, as.TotalVM)
					}
					if fs.FS == 0 || fs.Root == "" {
						t.Errorf("pid %d: a user task without root: %+v", task.PID, fs)
					}
					if lims, err := ResourceLimits(c, task); err != nil || len(lims) < 16 || lims[7].Resource != "NOFILE" {
						t.Errorf("pid %d: ResourceLimits = %v, %v", task.PID, lims, err)
					}
					if cl, err := CommandLine(c, ks, task); err != nil {
						t.Errorf("pid %d: CommandLine on a dump with user pages: %v", task.PID, err)
					} else if !strings.Contains(strings.Join(cl.Args, " "), task.Comm) {
						t.Errorf("pid %d (%s): args %q", task.PID, task.Comm, cl.Args)
					} else {
						args++
					}
				}
				roundTrip(t, fs, &FileSet{})
				roundTrip(t, st, &SignalState{})
				roundTrip(t, as, &AddressSpace{})
				roundTrip(t, &s, &Status{})
			}
			if users == 0 || args == 0 {
				t.Errorf("%d user tasks, %d command lines read", users, args)
			}
			t.Logf("%d tasks, %d user tasks", len(tb.Tasks), users)
		})
	}
}

// roundTrip checks that v's JSON reads back into a value equal to v.
func roundTrip[T any](t *testing.T, v *T, into *T) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, into); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	if diff := cmp.Diff(v, into); diff != "" {
		t.Errorf("JSON round trip (-value +read back):\n%s", diff)
	}
}

// labTIF are the lab kernels' thread_info flags, from the architecture
// registry as the kernel model takes them.
func labTIF(t *testing.T) arch.ThreadFlags {
	a, err := arch.ForMachine("x86_64")
	if err != nil {
		t.Fatal(err)
	}
	return a.ThreadFlags()
}
