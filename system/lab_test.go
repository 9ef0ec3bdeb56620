package system_test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/vmcoretools/vmcore/internal/lab"
	"github.com/vmcoretools/vmcore/printk"
	"github.com/vmcoretools/vmcore/system"
	"github.com/vmcoretools/vmcore/vmcore"
)

// btHeader is crash's first bt line: the task of the current context,
// which on a dump that panicked is the panic task.
var btHeader = regexp.MustCompile(`^PID: (\d+)\s+TASK: ([0-9a-f]+)\s+CPU: (\d+)\s+COMMAND: "(.*)"`)

// TestLabSummary reads the summary of every lab dump with its vmlinux and
// checks it against crash 8.0.6's sys (the fields a value holds, before
// any formatting but crash's own) and, for the panic CPU and task, against
// crash's bt header.
func TestLabSummary(t *testing.T) {
	l := lab.Open(t)
	n, panics := 0, 0
	for _, r := range l.Dumps {
		sysRef, err := os.ReadFile(r.RefFile("crash-8.0.6", "sys.txt"))
		if err != nil {
			continue
		}
		btRef, _ := os.ReadFile(r.RefFile("crash-8.0.6", "bt.txt"))
		t.Run(r.Name, func(t *testing.T) {
			k, err := vmcore.Load(r.Vmlinux, r.Files...)
			if err != nil {
				t.Fatal(err)
			}
			defer k.Close()
			field := func(label string) string {
				for _, line := range strings.Split(string(sysRef), "\n") {
					if l, v, ok := strings.Cut(line, ": "); ok && strings.TrimSpace(l) == label {
						return v
					}
				}
				return "(missing)"
			}
			if crashed, ok := k.Dump.CrashTime(); ok && !strings.Contains(string(sysRef), crashed.Local().Format("Mon Jan _2 15:04:05 MST 2006")) {
				t.Skip("the reference is from another capture")
			}
			src := system.Sources{Values: k.Values, Tasks: k.Tasks, DumpCPUs: k.Dump.NumCPUs(), PageSize: uint64(k.Dump.PageSize()),
				Log: func() ([]printk.Record, error) { recs, _, err := k.Dump.KernelLog(); return recs, err }}
			if c, ok := k.Dump.CrashTime(); ok {
				src.CrashTime = c
			}
			s := system.Summarize(src)
			if s.Unknown != nil {
				t.Errorf("unknown fields: %v", s.Unknown)
			}
			cpus := fmt.Sprint(s.CPUs)
			if s.OfflineCPUs > 0 {
				cpus += fmt.Sprintf(" [OFFLINE: %d]", s.OfflineCPUs)
			}
			check := func(label, got string) {
				if want := field(label); got != want {
					t.Errorf("%s: crash %q, model %q", label, want, got)
				}
			}
			check("CPUS", cpus)
			if s.LoadAverage != nil {
				check("LOAD AVERAGE", s.LoadAverage.String())
			}
			if s.Tasks != nil {
				check("TASKS", fmt.Sprint(*s.Tasks))
			}
			if s.Uname != nil {
				check("NODENAME", s.Uname.Nodename)
				check("RELEASE", s.Uname.Release)
				check("VERSION", s.Uname.Version)
			}
			if s.CPUMHz != nil {
				check("MACHINE", fmt.Sprintf("%s  (%d Mhz)", s.Machine, *s.CPUMHz))
			}
			check("PANIC", fmt.Sprintf("%q", s.Panic.Message))
			m := btHeader.FindStringSubmatch(string(btRef))
			switch {
			case s.Panic.CPU < 0:
				if strings.Contains(s.Panic.Message, "Kernel panic") {
					t.Errorf("the kernel panicked (%q) but the model has no panic CPU", s.Panic.Message)
				}
			case m == nil:
				t.Errorf("no bt reference to check panic CPU %d against", s.Panic.CPU)
			case s.Panic.Task == nil:
				t.Errorf("panic CPU %d without a task", s.Panic.CPU)
			default:
				got := []string{fmt.Sprint(s.Panic.Task.PID), fmt.Sprintf("%x", s.Panic.Task.Addr), fmt.Sprint(s.Panic.CPU), s.Panic.Task.Comm}
				if strings.Join(got, " ") != strings.Join(m[1:], " ") {
					t.Errorf("panic task %v, crash's bt %v", got, m[1:])
				}
				panics++
			}
			n++
		})
	}
	if n == 0 {
		t.Skip("no crash references in the lab")
	}
	if panics == 0 {
		t.Error("no dump's panic task was checked")
	}
	t.Logf("%d summaries checked, %d panic tasks against crash's bt (%s)", n, panics, filepath.Base(l.Dir))
}
