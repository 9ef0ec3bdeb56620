package vmcore

import (
	"bufio"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vmcoretools/vmcore/internal/lab"
	"github.com/vmcoretools/vmcore/tasks"
)

// guestRecord is what a lab guest printed about itself on its console
// before it panicked: its own ps (pid, ppid, state, command) and
// /proc/modules.
type guestRecord struct {
	ps      map[int]guestTask
	modules []string
}

type guestTask struct {
	ppid       int
	stat, comm string
}

// readGuestRecord parses the LAB-PS: and LAB-MODULES: lines of a run's
// serial.log (the SMP run prints them); ok is false when there are none.
func readGuestRecord(serial string) (guestRecord, bool) {
	f, err := os.Open(serial)
	if err != nil {
		return guestRecord{}, false
	}
	defer f.Close()
	g := guestRecord{ps: map[int]guestTask{}}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "LAB-PS: "); ok {
			fs := strings.Fields(rest)
			pid, err := strconv.Atoi(fs[0])
			if err != nil || len(fs) < 4 {
				continue // the header
			}
			ppid, _ := strconv.Atoi(fs[1])
			g.ps[pid] = guestTask{ppid: ppid, stat: fs[2], comm: fs[3]}
		}
		if rest, ok := strings.CutPrefix(line, "LAB-MODULES: "); ok {
			g.modules = append(g.modules, strings.Fields(rest)[0])
		}
	}
	return g, len(g.ps) > 0 && len(g.modules) > 0
}

// TestLabGuestRecord compares the task table and the module list with
// what the guest itself printed three seconds before its panic (the SMP
// run): every module, and every task of the workload and the kernel
// threads with their parents and the zombie's state. Tasks the guest's ps
// caught in passing (ps and sed themselves, lab-sleeper's one-second
// sleep) are gone by the panic, and the panic's own task came after.
func TestLabGuestRecord(t *testing.T) {
	l := lab.Open(t)
	n := 0
	for _, ld := range l.Dumps {
		// The run's directory holds serial.log: the dump's own, or its
		// parent for the host's conversions (dumps/RUN/conv/).
		dir := filepath.Dir(ld.Files[0])
		g, ok := readGuestRecord(filepath.Join(dir, "serial.log"))
		if !ok {
			g, ok = readGuestRecord(filepath.Join(filepath.Dir(dir), "serial.log"))
		}
		if !ok {
			continue
		}
		n++
		t.Run(ld.Name, func(t *testing.T) {
			d, err := Open(ld.Files...)
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			k, err := OpenKernel(d, ld.Vmlinux, KernelOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer k.Close()
			mods, err := k.Modules()
			if err != nil {
				t.Fatal(err)
			}
			var ours []string
			for _, m := range mods {
				ours = append(ours, m.Name)
			}
			sort.Strings(ours)
			sort.Strings(g.modules)
			if diff := cmp.Diff(g.modules, ours); diff != "" {
				t.Errorf("modules (-guest +ours):\n%s", diff)
			}
			tb, err := k.Tasks()
			if err != nil {
				t.Fatal(err)
			}
			compared, zombies := 0, 0
			for pid, gt := range g.ps {
				if gt.comm == "ps" || gt.comm == "sed" || gt.comm == "sleep" && g.ps[gt.ppid].comm == "lab-sleeper" {
					continue // gone by the panic: lab-sleeper sleeps a second at a time
				}
				var tk *tasks.Task
				if ts := tb.ByPID(pid); len(ts) == 1 {
					tk = ts[0]
				}
				if tk == nil {
					t.Errorf("pid %d %s: in the guest's ps, not in our task table", pid, gt.comm)
					continue
				}
				compared++
				// busybox ps shows /proc's comm: for a kworker the kernel
				// appends the workqueue it last ran ("kworker/0:0-events"),
				// cut to 15 characters.
				sameComm := tk.Comm == gt.comm ||
					strings.HasPrefix(gt.comm, "kworker/") && strings.HasPrefix(gt.comm, tk.Comm+"-")
				if !sameComm || tk.PPID != gt.ppid {
					t.Errorf("pid %d: guest %s (ppid %d), ours %s (ppid %d)", pid, gt.comm, gt.ppid, tk.Comm, tk.PPID)
				}
				if isZombie := strings.HasPrefix(gt.stat, "Z"); isZombie != (tk.StateString() == "ZO") {
					t.Errorf("pid %d %s: guest state %s, ours %s", pid, gt.comm, gt.stat, tk.StateString())
				} else if isZombie {
					zombies++
					if tk.Stack != 0 {
						t.Errorf("pid %d %s: a zombie whose stack is %#x, not released", pid, gt.comm, tk.Stack)
					}
				}
			}
			if compared < 50 || zombies != 1 {
				t.Errorf("compared %d tasks (%d zombies) with the guest's ps", compared, zombies)
			}
		})
	}
	if n == 0 {
		t.Skip("no lab run recorded the guest's own ps and modules (the SMP run does)")
	}
}
