package repl

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vmcoretools/vmcore/dwarfsym"
	"github.com/vmcoretools/vmcore/internal/lab"
	"github.com/vmcoretools/vmcore/vmcore"
)

// crashRef is one command crash ran and the file holding its output.
type crashRef struct{ cmd, file string }

// crashRefs reads commands.txt: "CMD > FILE" lines.
func crashRefs(dir string) []crashRef {
	data, err := os.ReadFile(filepath.Join(dir, "commands.txt"))
	if err != nil {
		return nil
	}
	var refs []crashRef
	for _, line := range strings.Split(string(data), "\n") {
		cmd, file, ok := strings.Cut(line, " > ")
		if ok {
			refs = append(refs, crashRef{strings.TrimSpace(cmd), strings.TrimSpace(file)})
		}
	}
	return refs
}

// noVMLinux matches the reference commands that need no vmlinux.
var noVMLinux = regexp.MustCompile(`^(log( -[Ttdmc]+)?|rd( -[0-9a-zA-Z]+)* -p .*)$`)

// knownDifferences are outputs that differ from crash for a reason found
// and not yet fixed; each subtest is skipped with the reason, so that the
// test report lists them.
var knownDifferences = map[string]string{}

// labCompared are the commands this test compares: those of this
// change. ps, bt and foreach are compared by their own lab tests.
var labCompared = map[string]bool{
	"log": true, "rd": true, "sys": true, "sym": true, "struct": true, "union": true,
	"p": true, "whatis": true, "dis": true, "mod": true, "vtop": true, "runq": true, "kmem": true,
}

// crashWrong are outputs where crash itself is wrong, per kernel: the
// comparison is skipped with the reason.
var crashWrong = map[string]map[string]string{
	"6.12": {
		"log -T": "crash 8.0.6 guesses HZ wrongly on 6.12 (its uptime for a kernel that panicked 11.6 s after boot is 00:03:47), so its -T times are early by the difference",
		"sys":    "crash 8.0.6's UPTIME on 6.12 is wrong (HZ guess): not compared; the other fields are",
	},
	// Only crash 9.0.2 --no_modules reads 7.2 (sidref.sh).
	"sid": {
		"log -T": "crash 9.0.2 dates 7.2's records from the epoch (its DATE is 1970); TestLabLogTGuestClock holds log -T to the kernel's own clock",
		"sys":    "crash 9.0.2's DATE on 7.2 is the epoch and its UPTIME comes from a HZ guess: not compared; the other fields are",
		"mod":    "crash 9.0.2 reads 7.2 only with --no_modules (\"cannot access vmalloc'd module memory\"); drgn's mod view is the truth (TestLabViewsMatchDrgn)",
	},
}

// sysUnknown are the sys fields crash gets wrong, per kernel (crashWrong).
var sysUnknown = map[string][]string{"6.12": {"UPTIME"}, "sid": {"DATE", "UPTIME"}}

// crash9KmemI are the lines of kmem -i that crash 9.0.2 leaves out on
// 7.2: SHARED unless asked with -i=shared (crash 9), and the swap block.
// Both are checked by the crash 8.0.6 comparisons of the other kernels.
var crash9KmemI = []string{"       SHARED ", "   TOTAL SWAP ", "    SWAP USED ", "    SWAP FREE "}

// TestLabAgainstCrash runs the commands crash ran on each lab dump, with
// the dump's vmlinux, and compares the outputs byte for byte (sys: the
// fields known without task data).
func TestLabAgainstCrash(t *testing.T) {
	l := lab.Open(t)
	ran := 0
	for _, r := range l.Dumps {
		// The newest crash whose outputs the lab holds: crash's layouts
		// change between versions (ps did from 8.0.2 to 8.0.6).
		// Sid's crash (9.x, sidref.sh) only where no crash 8.x reads the
		// kernel: 7.x.
		for _, version := range crashVersions(r) {
			dir := filepath.Join(r.Ref, version)
			refs := crashRefs(dir)
			if len(refs) == 0 || !refsComplete(refs) {
				// None, or crash failed on this kernel or dump (crash
				// 8.0.6 on 7.x; 9.0.2 on 7.2's -d 31 kdump files, which
				// lack task_structs): the next version, if any.
				continue
			}
			t.Run(r.Name+"/"+version, func(t *testing.T) {
				d, err := vmcore.Open(r.Files...)
				if err != nil {
					t.Fatal(err)
				}
				defer d.Close()
				f, err := dwarfsym.Open(r.Vmlinux)
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				// Without VMCOREINFO, the session derives it from the
				// vmlinux and QEMU's saved registers, as crash does.
				s, err := NewKernelSession(d, r.Vmlinux, f, vmcore.KernelOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if d.Info() == nil {
					t.Fatalf("the dump has no VMCOREINFO and it could not be derived: %v", d.Warnings())
				}
				// The lab rebuilds dumps; references from another capture
				// of the same name are not comparable (crash 9.0.2 dates 7.2
				// from the epoch: the lab's keys renew its outputs).
				if sysRef, err := os.ReadFile(filepath.Join(dir, "sys.txt")); err == nil && !strings.Contains(string(sysRef), "DATE: Thu Jan  1 00:00:00 UTC 1970\n") {
					if crashed, ok := d.CrashTime(); ok && !strings.Contains(string(sysRef), "DATE: "+crashDate(crashed)+"\n") {
						t.Skipf("the reference outputs are from another capture than %s (crash time %s)", r.Files[0], crashDate(crashed))
					}
				}
				// The commands that need no vmlinux must give the same
				// output from the dump alone.
				bare := NewSession(d, "", nil, nil)
				for _, ref := range refs {
					if !noVMLinux.MatchString(ref.cmd) || d.DerivedVMCOREINFO() {
						continue // a derived VMCOREINFO came from the vmlinux
					}
					want, _ := os.ReadFile(ref.file)
					t.Run("without-vmlinux/"+ref.cmd, func(t *testing.T) {
						if why, ok := crashWrong[r.Kernel][ref.cmd]; ok {
							t.Skip(why)
						}
						if _, ok := d.CrashTime(); !ok && strings.HasPrefix(ref.cmd, "log -T") {
							t.Skip("the dump does not record when it was taken; crash reads the kernel's clock, which needs the vmlinux")
						}
						var out bytes.Buffer
						l := &Loop{Session: bare, Out: &out, Err: &out}
						l.RunLine(ref.cmd)
						ran++
						if out.String() != string(want) {
							t.Errorf("%s without the vmlinux differs from %s (-crash +ours):\n%s", ref.cmd, version, cmp.Diff(string(want), out.String()))
						}
					})
				}
				for _, ref := range refs {
					want, err := os.ReadFile(ref.file)
					if err != nil {
						t.Errorf("%s: %v", ref.cmd, err)
						continue
					}
					t.Run(ref.cmd, func(t *testing.T) {
						if name := strings.Fields(ref.cmd)[0]; !labCompared[name] {
							t.Skipf("%s: not compared here (the task commands have their own lab tests)", name)
						}
						switch ref.cmd {
						case "mod", "runq", "sys", "log -T", "kmem -i":
							proved(t, r, ref.cmd, version)
						}
						var out bytes.Buffer
						l := &Loop{Session: s, Out: &out, Err: &out}
						l.RunLine(ref.cmd)
						got := out.String()
						if strings.HasPrefix(version, "crash-9.") && ref.cmd == "kmem -i" {
							for _, p := range crash9KmemI {
								got = stripLines(got, p)
							}
						}
						if why, ok := crashWrong[r.Kernel][ref.cmd]; ok && got != string(want) && ref.cmd != "sys" {
							t.Skipf("%s\n%s", why, cmp.Diff(string(want), got))
						}
						ran++
						if ref.cmd == "sys" {
							compareSys(t, string(want), got, sysUnknown[r.Kernel])
							return
						}
						// crash's rd -a leaves the last line without a newline.
						if strings.TrimRight(got, "\n") == strings.TrimRight(string(want), "\n") {
							return
						}
						if why, ok := knownDifferences[ref.cmd]; ok {
							t.Skipf("known difference: %s\n%s", why, cmp.Diff(string(want), got))
						}
						t.Errorf("%s: differs from %s (-crash +ours):\n%s", ref.cmd, version, cmp.Diff(string(want), got))
					})
				}
			})
			break
		}
	}
	if ran == 0 {
		t.Skip("the lab has no crash reference outputs yet")
	}
}

// crashVersions are the crash releases whose outputs the lab may hold for
// a dump, in the order they are preferred: trixie's 8.0.6, an older lab's
// 8.0.2, then sid's (crash-9.x: whichever sid ships).
func crashVersions(d *lab.Dump) []string {
	out := []string{"crash-8.0.6", "crash-8.0.2"}
	sid, _ := filepath.Glob(filepath.Join(d.Ref, "crash-9.*"))
	for _, dir := range sid {
		if v := filepath.Base(dir); !strings.HasSuffix(v, "-groups") {
			out = append(out, v)
		}
	}
	return out
}

// refsComplete tells whether crash wrote every output of its session.
func refsComplete(refs []crashRef) bool {
	for _, ref := range refs {
		if _, err := os.Stat(ref.file); err != nil {
			return false
		}
	}
	return true
}

// compareSys checks the sys block field by field (paths resolved).
func compareSys(t *testing.T, want, got string, unknown []string) {
	field := func(text, label string) string {
		for _, line := range strings.Split(text, "\n") {
			if l, v, ok := strings.Cut(line, ": "); ok && strings.TrimSpace(l) == label {
				return v
			}
		}
		return "(missing)"
	}
	// Paths are compared after resolving symbolic links: the lab may be
	// reached through one.
	dumpLabel := "DUMPFILE"
	if field(want, "DUMPFILES") != "(missing)" {
		dumpLabel = "DUMPFILES" // a split set: one file a line
		if !strings.Contains(got, strings.SplitN(want[strings.Index(want, "   DUMPFILES:"):], "        CPUS:", 2)[0]) && !sameSplitBlock(want, got) {
			t.Errorf("sys DUMPFILES block differs:\n%s\nours:\n%s", want, got)
		}
	}
	for _, label := range []string{"KERNEL", dumpLabel} {
		w, g := field(want, label), field(got, label)
		wp, _ := filepath.EvalSymlinks(strings.Fields(w + " ")[0])
		gp, _ := filepath.EvalSymlinks(strings.Fields(g + " ")[0])
		if wp == "" || wp != gp || len(strings.Fields(w)) != len(strings.Fields(g)) {
			t.Errorf("sys %s: crash %q, ours %q", label, w, g)
		}
	}
	for _, label := range []string{"CPUS", "DATE", "UPTIME", "LOAD AVERAGE", "TASKS", "NODENAME", "RELEASE", "VERSION", "MACHINE", "MEMORY", "PANIC"} {
		if slices.Contains(unknown, label) {
			continue
		}
		if w, g := field(want, label), field(got, label); w != g {
			t.Errorf("sys %s: crash %q, ours %q", label, w, g)
		}
	}
}

// sameSplitBlock compares the DUMPFILES lines with paths resolved, for a
// lab reached through a symbolic link.
func sameSplitBlock(want, got string) bool {
	block := func(text string) []string {
		var out []string
		in := false
		for _, line := range strings.Split(text, "\n") {
			switch {
			case strings.HasPrefix(line, "   DUMPFILES: "):
				in = true
			case in && !strings.HasPrefix(line, "              "):
				return out
			}
			if in {
				f := strings.Fields(strings.TrimPrefix(line, "   DUMPFILES: "))
				if len(f) > 0 {
					f[0], _ = filepath.EvalSymlinks(f[0])
				}
				out = append(out, strings.Join(f, " "))
			}
		}
		return out
	}
	w, g := block(want), block(got)
	return len(w) > 0 && strings.Join(w, "\n") == strings.Join(g, "\n")
}
