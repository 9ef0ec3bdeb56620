package triage_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/vmcoretools/vmcore/internal/lab"
	"github.com/vmcoretools/vmcore/triage"
)

// labKind is how the lab made a dump's crash: the kind recorded by its
// run (testdata/lab/kinds.sh writes dumps/RUN/kind), none for the QEMU
// dumps of a live guest, and sysrq-c for every other run (guest/init's
// and guest/init-smp's lab-panic).
func labKind(l *lab.Lab, d *lab.Dump) triage.Kind {
	rel, _ := filepath.Rel(filepath.Join(l.Dir, "dumps"), d.Files[0])
	run := strings.Split(rel, string(filepath.Separator))[0]
	if b, err := os.ReadFile(filepath.Join(l.Dir, "dumps", run, "kind")); err == nil {
		switch k := strings.TrimSpace(string(b)); k {
		case "hung":
			return triage.KindHungTask
		case "oom":
			return triage.KindOOM
		case "init":
			return triage.KindUnknown // "Attempted to kill init!": no class of its own
		default:
			return triage.Kind(k)
		}
	}
	if strings.Contains(d.MadeBy, "live guest") {
		return triage.KindNone
	}
	return triage.KindSysrq
}

// guestPS is the guest's own ps, printed to its console before the crash
// (LAB-PS lines of the run's serial.log): pid by command, for the tasks
// in state stat.
func guestPS(t *testing.T, l *lab.Lab, d *lab.Dump, stat string) map[string]int {
	rel, _ := filepath.Rel(filepath.Join(l.Dir, "dumps"), d.Files[0])
	run := strings.Split(rel, string(filepath.Separator))[0]
	b, err := os.ReadFile(filepath.Join(l.Dir, "dumps", run, "serial.log"))
	if err != nil {
		t.Fatalf("%s: the guest's console log: %v", d.Name, err)
	}
	out := map[string]int{}
	re := regexp.MustCompile(`(?m)^LAB-PS:\s+(\d+)\s+\d+\s+(\S+)\s+(\S+)`)
	for _, m := range re.FindAllStringSubmatch(string(b), -1) {
		if strings.HasPrefix(m[2], stat) {
			pid, _ := strconv.Atoi(m[1])
			out[m[3]] = pid
		}
	}
	return out
}

// crashBT is crash's bt of the panic task: its header and frames.
type crashBT struct {
	pid    int
	comm   string
	frames []string // "SLOT FUNCTION PC"
}

var (
	reCrashHead  = regexp.MustCompile(`^PID: (\d+)\s+TASK: [0-9a-f]+\s+CPU: \d+\s+COMMAND: "(.*)"`)
	reCrashFrame = regexp.MustCompile(`^\s*#\d+ \[([0-9a-f]+)\] (\S+) at ([0-9a-f]+)`)
)

func readCrashBT(path string) (*crashBT, bool) {
	all := readCrashBTs(path)
	if len(all) == 0 {
		return nil, false
	}
	return all[0], true
}

// readCrashBTs reads every trace of crash's bt -a or foreach bt output.
func readCrashBTs(path string) []*crashBT {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var out []*crashBT
	for _, l := range strings.Split(string(b), "\n") {
		if m := reCrashHead.FindStringSubmatch(l); m != nil {
			pid, _ := strconv.Atoi(m[1])
			out = append(out, &crashBT{pid: pid, comm: m[2]})
		} else if m := reCrashFrame.FindStringSubmatch(l); m != nil && len(out) > 0 {
			bt := out[len(out)-1]
			bt.frames = append(bt.frames, m[1]+" "+m[2]+" "+m[3])
		}
	}
	return out
}

// frameLines are a trace's frames as readCrashBTs gives crash's.
func frameLines(c *triage.Context) []string {
	var out []string
	for _, f := range c.Backtrace.Frames {
		name := f.Function
		if f.Module != "" {
			name += " [" + f.Module + "]"
		}
		out = append(out, fmt.Sprintf("%x %s %x", uint64(f.Slot), name, uint64(f.PC)))
	}
	return out
}

var reTainted = regexp.MustCompile(`Comm: \S+ (?:Kdump: loaded )?(?:Not tainted|Tainted: ([A-Z ]+?)) +\d`)

// TestLabTriage triages every lab dump with its vmlinux: the kind is the
// one the lab provoked, the panic task and its trace are crash's bt (or,
// where crash cannot read the kernel, the task the kernel's own report
// names), the hung task and the OOM's invoker are the ones the guest's ps
// showed; every format of one crash has one fingerprint, and different
// crashes have different ones.
func TestLabTriage(t *testing.T) {
	l := lab.Open(t)
	type got struct {
		d *lab.Dump
		r *triage.Report
	}
	var mu sync.Mutex
	var all []got
	sem := make(chan struct{}, 2)
	var wg sync.WaitGroup
	for _, d := range l.Dumps {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			// A long log tail: the taint check reads the kernel's own
			// "Tainted:" line from it.
			r, err := triage.Open(context.Background(), d.Files, triage.Options{Vmlinux: d.Vmlinux, LogLines: 2000})
			if err != nil {
				t.Errorf("%s: %v", d.Name, err)
				return
			}
			mu.Lock()
			all = append(all, got{d, r})
			mu.Unlock()
		}()
	}
	wg.Wait()
	byCrash := map[string][]got{} // the ELF twin's name: one guest state
	compared, taints := 0, 0
	for _, g := range all {
		d, r := g.d, g.r
		want := labKind(l, d)
		if r.Failure.Kind != want {
			t.Errorf("%s: kind %s (%q), want %s", d.Name, r.Failure.Kind, r.Failure.Message, want)
		}
		if r.Types.Source != "vmlinux" {
			t.Errorf("%s: types from %s, want the vmlinux (%v)", d.Name, r.Types.Source, r.Unknown["types"])
		}
		twin := d.ELFTwin
		if twin == "" {
			twin = d.Name
		}
		byCrash[twin] = append(byCrash[twin], g)
		if want == triage.KindNone {
			if r.Panic != nil || r.Fingerprint.ID != "none" {
				t.Errorf("%s: a live dump has panic %+v, fingerprint %s", d.Name, r.Panic, r.Fingerprint.ID)
			}
			continue
		}
		if want == triage.KindOOM {
			// The constraint and the memory's holder, the guest's hog.
			if r.Fingerprint.Source != "oom-report" || !strings.HasSuffix(r.Fingerprint.Signature, ": lab-oom") {
				t.Errorf("%s: fingerprint %s %q from the %s", d.Name, r.Fingerprint.ID, r.Fingerprint.Signature, r.Fingerprint.Source)
			}
		} else if r.Fingerprint.Source != "log" || len(r.Fingerprint.Frames) < 3 {
			t.Errorf("%s: fingerprint %s %q from the %s, want one from the log's trace", d.Name, r.Fingerprint.ID, r.Fingerprint.Signature, r.Fingerprint.Source)
		}
		if r.Panic == nil || r.Panic.Task == nil || r.Panic.Backtrace == nil {
			t.Errorf("%s: no panic task or trace (%v)", d.Name, r.Unknown["panic"])
			continue
		}
		// The panic task is the one the kernel's own report names.
		if r.Failure.PID != r.Panic.Task.PID && want != triage.KindHungTask {
			t.Errorf("%s: panic task PID %d, the kernel's report says PID %d %s", d.Name, r.Panic.Task.PID, r.Failure.PID, r.Failure.Comm)
		}
		if cb, ok := readCrashBT(d.RefFile("crash-8.0.6", "bt.txt")); ok {
			mine := frameLines(r.Panic)
			if cb.pid != r.Panic.Task.PID || cb.comm != r.Panic.Task.Comm {
				t.Errorf("%s: panic task PID %d %q, crash's bt: PID %d %q", d.Name, r.Panic.Task.PID, r.Panic.Task.Comm, cb.pid, cb.comm)
			} else if strings.Join(mine, "\n") != strings.Join(cb.frames, "\n") {
				t.Errorf("%s: the panic task's trace differs from crash's bt:\n got %s\nwant %s", d.Name, strings.Join(mine, "\n     "), strings.Join(cb.frames, "\n     "))
			}
		}
		// The other CPUs' tasks and the D-state tasks: crash's bt -a and
		// foreach bt.
		crashTraces := map[int]*crashBT{}
		for _, f := range []string{"bt-a.txt", "foreach-bt.txt"} {
			for _, cb := range readCrashBTs(d.RefFile("crash-8.0.6", f)) {
				// A trace without frames is crash failing ("bt: invalid
				// size request" on the QEMU panic dumps' NMI stacks):
				// no truth to compare with.
				if len(cb.frames) > 0 && (cb.pid != 0 || f == "bt-a.txt") {
					crashTraces[cb.pid*1000+len(cb.frames)%1000] = cb
				}
			}
		}
		byPID := map[int][]*crashBT{}
		for _, cb := range crashTraces {
			byPID[cb.pid] = append(byPID[cb.pid], cb)
		}
		others := append(append([]triage.Context{}, r.CPUs...), r.Blocked...)
		for i := range others {
			c := &others[i]
			cands := byPID[c.Task.PID]
			if len(cands) == 0 || c.Backtrace == nil {
				continue
			}
			mine := strings.Join(frameLines(c), "\n")
			compared++
			match := false
			for _, cb := range cands {
				match = match || mine == strings.Join(cb.frames, "\n")
			}
			if !match {
				t.Errorf("%s: CPU %d PID %d %s: the trace differs from crash's:\n got %s\nwant %s", d.Name, c.CPU, c.Task.PID, c.Task.Comm,
					strings.ReplaceAll(mine, "\n", "\n     "), strings.Join(cands[0].frames, "\n     "))
			}
		}
		// The taint letters are the ones the kernel printed with its
		// report.
		// The last such line: taint only grows.
		if ms := reTainted.FindAllStringSubmatch(strings.Join(r.LogTail, "\n"), -1); ms != nil && r.Taint != nil {
			m := ms[len(ms)-1]
			letters := strings.NewReplacer(" ", "", "G", "").Replace(m[1])
			taints++
			if letters != r.Taint.Flags {
				t.Errorf("%s: taint %q, the kernel printed %q", d.Name, r.Taint.Flags, m[1])
			}
			unsigned := false
			for _, mod := range r.Modules {
				unsigned = unsigned || mod.Unsigned
			}
			if strings.Contains(letters, "E") != unsigned {
				t.Errorf("%s: taint %q, but the modules' unsigned flags say %v", d.Name, letters, unsigned)
			}
		}
		switch want {
		case triage.KindHungTask:
			ps := guestPS(t, l, d, "D")
			if len(r.Failure.Hung) == 0 || ps[r.Failure.Hung[0].Comm] != r.Failure.Hung[0].PID {
				t.Errorf("%s: hung %+v, the guest's ps showed in D state %v", d.Name, r.Failure.Hung, ps)
			}
			found := false
			for _, b := range r.Blocked {
				found = found || b.Task != nil && len(r.Failure.Hung) > 0 && b.Task.PID == r.Failure.Hung[0].PID && b.Backtrace != nil
			}
			if !found {
				t.Errorf("%s: the hung task is not among the D-state tasks with traces: %+v", d.Name, r.Blocked)
			}
		case triage.KindOOM:
			ps := guestPS(t, l, d, "")
			if r.Failure.OOM == nil || ps[r.Failure.OOM.Invoker] == 0 || r.Failure.OOM.Constraint == "" {
				t.Errorf("%s: OOM %+v, the guest ran %v", d.Name, r.Failure.OOM, ps)
			} else if len(r.LargestTasks) == 0 || r.LargestTasks[0].Comm != r.Failure.OOM.Invoker {
				t.Errorf("%s: the largest task is %+v, not the OOM's invoker %s", d.Name, r.LargestTasks, r.Failure.OOM.Invoker)
			}
		}
	}
	// One crash, one fingerprint; different kinds, different ones.
	ids := map[string]string{} // fingerprint ID -> the crash it came from
	kinds := map[string]triage.Kind{}
	for twin, gs := range byCrash {
		id := gs[0].r.Fingerprint.ID
		for _, g := range gs[1:] {
			if g.r.Fingerprint.ID != id {
				t.Errorf("%s: fingerprint %s (%s), its twin %s has %s (%s)", g.d.Name, g.r.Fingerprint.ID, g.r.Fingerprint.Signature,
					gs[0].d.Name, id, gs[0].r.Fingerprint.Signature)
			}
		}
		if k, ok := kinds[id]; ok && k != gs[0].r.Failure.Kind {
			t.Errorf("fingerprint %s is both %s and %s", id, k, gs[0].r.Failure.Kind)
		}
		kinds[id] = gs[0].r.Failure.Kind
		ids[id] = twin
	}
	perKind := map[triage.Kind]int{}
	for _, k := range kinds {
		perKind[k]++
	}
	for k, n := range perKind {
		t.Logf("kind %s: %d fingerprint(s)", k, n)
	}
	t.Logf("%d dumps of %d crashes: %d fingerprints; %d other CPUs' and D-state tasks' traces equal to crash's; %d taints as the kernel printed them",
		len(all), len(byCrash), len(ids), compared, taints)
	if compared == 0 || taints == 0 {
		t.Errorf("nothing compared")
	}
	if perKind[triage.KindHungTask] == 0 || perKind[triage.KindOOM] == 0 || perKind[triage.KindSysrq] == 0 || perKind[triage.KindUnknown] == 0 {
		t.Errorf("the lab lacks a kind: %v", perKind)
	}
}

// TestLabTriageWithoutVmlinux: from the dump's own BTF and kallsyms (or
// the dump alone), every dump gets the kind and fingerprint it gets with
// its vmlinux.
func TestLabTriageWithoutVmlinux(t *testing.T) {
	l := lab.Open(t)
	for _, d := range l.Dumps {
		if strings.Contains(d.Name, "novmci") {
			continue // no VMCOREINFO: no log without the vmlinux (TestLabTriage)
		}
		with, err := triage.Open(context.Background(), d.Files, triage.Options{Vmlinux: d.Vmlinux})
		if err != nil {
			t.Errorf("%s: %v", d.Name, err)
			continue
		}
		without, err := triage.Open(context.Background(), d.Files, triage.Options{NoVmlinux: true})
		if err != nil {
			t.Errorf("%s: %v", d.Name, err)
			continue
		}
		if without.Failure.Kind != with.Failure.Kind || without.Fingerprint.ID != with.Fingerprint.ID {
			t.Errorf("%s: without the vmlinux %s %s, with it %s %s", d.Name, without.Failure.Kind, without.Fingerprint.ID,
				with.Failure.Kind, with.Fingerprint.ID)
		}
		if without.Types.Source == "btf" && with.Panic != nil {
			if without.Panic == nil || without.Panic.Task.PID != with.Panic.Task.PID {
				t.Errorf("%s: without the vmlinux the panic task is %+v, with it %+v", d.Name, without.Panic, with.Panic.Task)
			}
		}
	}
}
