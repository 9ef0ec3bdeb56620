package walk_test

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/vmcoretools/vmcore/internal/lab"
	"github.com/vmcoretools/vmcore/tasks"
	"github.com/vmcoretools/vmcore/value"
	"github.com/vmcoretools/vmcore/vmcore"
	"github.com/vmcoretools/vmcore/walk"
)

// TestLabWalkers proves the walkers on real dumps of both lab kernels
// against what the tasks package, crash 8.0.6 and the kernel's own
// bookkeeping say: the task list (against the task table, forwards,
// backwards and from an entry); the modules list (against crash's mod);
// the pid idr, idr_find and each pid's task hlist; the CPU masks (against
// the dump's CPU count and nr_cpu_ids), the runqueues and a per-CPU
// pointer; the runqueues' CFS trees (against crash's runq); the vmalloc
// area trees (in order, against vmap_area_list on 6.1, rb_find of each
// area); every process's maple tree (against tasks.VMAs and crash's
// foreach vm, mtree_load at each VMA's ends); the real task list broken
// three ways; the dentry hash table's bit-locked chains; and every
// inode's page cache xarray.
func TestLabWalkers(t *testing.T) {
	l := lab.Open(t)
	kernels := map[string]bool{}
	for _, name := range []string{"k61-kdump-zlib-d31", "k612-kdump-lzo-d31", "q61-panic-elf", "q612-panic-elf"} {
		ld := l.Dump(name)
		if ld == nil {
			t.Logf("the lab has no %s", name)
			continue
		}
		kernels[ld.Kernel] = true
		t.Run(name, func(t *testing.T) {
			d, err := vmcore.Open(ld.Files...)
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			k, err := vmcore.OpenKernel(d, ld.Vmlinux, vmcore.KernelOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer k.Close()
			c := k.Values
			tb, err := tasks.Load(c)
			if err != nil {
				t.Fatal(err)
			}
			t.Run("tasks", func(t *testing.T) { labTasks(t, c, tb) })
			t.Run("modules", func(t *testing.T) { labModules(t, c, ld) })
			t.Run("pids", func(t *testing.T) { labPIDs(t, c, tb) })
			t.Run("cpus", func(t *testing.T) { labCPUs(t, c, d, tb) })
			t.Run("cfs", func(t *testing.T) { labCFS(t, c, ld) })
			t.Run("vmap", func(t *testing.T) { labVmap(t, c) })
			t.Run("maple", func(t *testing.T) { labMaple(t, c, tb, ld) })
			t.Run("damaged", func(t *testing.T) { labDamaged(t, c) })
			t.Run("dcache", func(t *testing.T) { labDcache(t, c) })
			t.Run("pagecache", func(t *testing.T) { labPageCache(t, c) })
		})
	}
	if !kernels["6.1"] || !kernels["6.12"] {
		t.Errorf("walkers proven on kernels %v; the lab should have both 6.1 and 6.12", kernels)
	}
}

// labTasks: init_task.tasks holds every thread group leader but the idle
// task, as the task table has them; backwards it is the same list
// reversed.
func labTasks(t *testing.T, c *value.Context, tb *tasks.Table) {
	it, err := c.Var("init_task")
	if err != nil {
		t.Fatal(err)
	}
	head, err := it.Member("tasks")
	if err != nil {
		t.Fatal(err)
	}
	fwd, err := walk.Collect(walk.List(head, "struct task_struct", "tasks"))
	if err != nil {
		t.Fatal(err)
	}
	var got, want []int
	for _, v := range fwd {
		p, err := v.Member("pid")
		if err != nil {
			t.Fatal(err)
		}
		n, err := p.Int()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, int(n))
		if tk := tb.ByAddr(v.Addr); tk == nil || tk.PID != int(n) {
			t.Errorf("task %#x (pid %d) is not in the task table as such", v.Addr, n)
		}
	}
	for _, tk := range tb.Tasks {
		if tk.PID != 0 && tk.PID == tk.TGID {
			want = append(want, tk.PID)
		}
	}
	slices.Sort(got)
	if !slices.Equal(got, want) || len(got) < 20 {
		t.Errorf("init_task.tasks: pids %v\ntask table's leaders: %v", got, want)
	}
	rev, err := walk.Collect(walk.ListReverse(head, "struct task_struct", "tasks"))
	if err != nil || len(rev) != len(fwd) {
		t.Fatalf("reverse: %d tasks, %v", len(rev), err)
	}
	for i := range rev {
		if rev[i].Addr != fwd[len(fwd)-1-i].Addr {
			t.Fatalf("reverse walk differs at %d", i)
		}
	}
	// From a task without the head: every leader, and init_task's place
	// (the head) comes round as init_task itself.
	from, err := walk.Collect(walk.ListFrom(fwd[3], "tasks"))
	if err != nil || len(from) != len(fwd)+1 || from[len(fwd)-3].Addr != it.Addr {
		t.Errorf("ListFrom: %d entries, %v", len(from), err)
	}
	// Bounded.
	few, err := walk.Collect(walk.List(head, "struct task_struct", "tasks", walk.Max(5)))
	if len(few) != 5 || err == nil {
		t.Errorf("Max(5): %d, %v", len(few), err)
	}
	t.Logf("%d thread group leaders", len(fwd))
}

// labModules: the modules list against crash's mod.
func labModules(t *testing.T, c *value.Context, ld *lab.Dump) {
	f, err := os.Open(ld.RefFile("crash-8.0.6", "mod.txt"))
	if err != nil {
		t.Skipf("no crash mod reference: %v", err)
	}
	defer f.Close()
	var want []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) >= 2 && fs[0] != "MODULE" {
			want = append(want, fs[0]+" "+fs[1])
		}
	}
	mods, err := c.Var("modules")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for m, err := range walk.List(mods, "struct module", "list") {
		if err != nil {
			t.Fatal(err)
		}
		n, err := m.Member("name")
		if err != nil {
			t.Fatal(err)
		}
		s, err := n.CString(64)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%x %s", m.Addr, s))
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) || len(got) == 0 {
		t.Errorf("modules: %q\ncrash's mod: %q", got, want)
	}
}

// labPIDs: init_pid_ns.idr holds a struct pid for every pid in use: each
// one's number is its index, its tasks[PIDTYPE_PID] hlist holds the task
// of that pid, and every task of the table is there.
func labPIDs(t *testing.T, c *value.Context, tb *tasks.Table) {
	ns, err := c.Var("init_pid_ns")
	if err != nil {
		t.Fatal(err)
	}
	idr, err := ns.Member("idr")
	if err != nil {
		t.Fatal(err)
	}
	ids := map[int]bool{}
	var last uint64
	for e, err := range walk.IDR(idr) {
		if err != nil {
			t.Fatal(err)
		}
		if len(ids) > 0 && e.Index <= last {
			t.Errorf("idr index %d after %d", e.Index, last)
		}
		last = e.Index
		pid, err := e.As("struct pid")
		if err != nil {
			t.Fatal(err)
		}
		// numbers[] is a flexible array: its first upid is at numbers.
		numbers, err := pid.Member("numbers")
		if err != nil {
			t.Fatal(err)
		}
		upid, err := c.At("struct upid", numbers.Addr)
		if err != nil {
			t.Fatal(err)
		}
		nr, err := upid.Member("nr")
		if err != nil {
			t.Fatal(err)
		}
		if n, err := nr.Int(); err != nil || uint64(n) != e.Index {
			t.Errorf("idr entry %d: struct pid %#x has nr %d, %v", e.Index, e.Raw, n, err)
		}
		head, err := pid.Member("tasks[0]")
		if err != nil {
			t.Fatal(err)
		}
		ts, err := walk.Collect(walk.HList(head, "struct task_struct", "pid_links[0]"))
		if err != nil {
			t.Fatal(err)
		}
		for _, task := range ts {
			if tk := tb.ByAddr(task.Addr); tk == nil || uint64(tk.PID) != e.Index {
				t.Errorf("pid %d's task %#x is %+v in the task table", e.Index, task.Addr, tk)
			}
		}
		ids[int(e.Index)] = true
	}
	n := 0
	for _, tk := range tb.Tasks {
		if tk.PID == 0 {
			continue
		}
		n++
		if !ids[tk.PID] {
			t.Errorf("pid %d (%s) is not in init_pid_ns.idr", tk.PID, tk.Comm)
		}
		// idr_find: the same struct pid, found by descending to it.
		e, ok, err := walk.IDRFind(idr, uint64(tk.PID))
		if err != nil || !ok || e.Index != uint64(tk.PID) {
			t.Errorf("IDRFind(%d) = %+v, %v, %v", tk.PID, e, ok, err)
		}
	}
	if _, ok, err := walk.IDRFind(idr, 1<<22+1); ok || err != nil {
		t.Errorf("IDRFind past pid_max: %v, %v", ok, err)
	}
	if n < 20 || len(ids) < n {
		t.Errorf("%d pids in the idr, %d tasks", len(ids), n)
	}
	t.Logf("%d pids in the idr, %d tasks", len(ids), n)
}

// labCPUs: the CPU masks against the dump's CPU count and nr_cpu_ids;
// each present CPU's runqueue is that CPU's, running the task the table
// says; a per-CPU pointer leads to each CPU's own instance.
func labCPUs(t *testing.T, c *value.Context, d *vmcore.Dump, tb *tasks.Table) {
	possible, err := walk.Collect(walk.PossibleCPUs(c))
	if err != nil {
		t.Fatal(err)
	}
	nr, err := walk.NrCPUIDs(c)
	if err != nil || len(possible) != nr || possible[len(possible)-1] != nr-1 {
		t.Errorf("possible CPUs %v, nr_cpu_ids %d, %v", possible, nr, err)
	}
	present, err := walk.Collect(walk.PresentCPUs(c))
	if err != nil || len(present) != d.NumCPUs() {
		t.Errorf("present CPUs %v, %v; the dump has %d", present, err, d.NumCPUs())
	}
	online, err := walk.Collect(walk.OnlineCPUs(c))
	if err != nil || len(online) == 0 || len(online) > len(present) {
		t.Errorf("online CPUs %v, %v", online, err)
	}
	n := 0
	for rq, err := range walk.PerCPU(c, "runqueues", walk.CPUList(present...)) {
		if err != nil {
			t.Fatal(err)
		}
		n++
		cpu, err := rq.Value.Member("cpu")
		if err != nil {
			t.Fatal(err)
		}
		if v, err := cpu.Int(); err != nil || int(v) != rq.CPU {
			t.Errorf("runqueues on CPU %d says cpu %d, %v", rq.CPU, v, err)
		}
		curr, err := rq.Value.Member("curr")
		if err != nil {
			t.Fatal(err)
		}
		if p, err := curr.Uint(); err != nil || rq.CPU >= len(tb.Current) || p != tb.Current[rq.CPU] {
			t.Errorf("CPU %d: rq->curr %#x, %v; the task table's current %v", rq.CPU, p, err, tb.Current)
		}
	}
	if n != len(present) {
		t.Errorf("%d runqueues for %d CPUs", n, len(present))
	}
	// A per-CPU pointer: pmus_srcu.sda (struct srcu_data __percpu *);
	// each CPU's srcu_data knows its CPU.
	srcu, err := c.Var("pmus_srcu")
	if err != nil {
		t.Fatal(err)
	}
	sda, err := srcu.Member("sda")
	if err != nil {
		t.Fatal(err)
	}
	n = 0
	for sd, err := range walk.PerCPUPtrs(sda, walk.PossibleCPUs(c)) {
		if err != nil {
			t.Fatal(err)
		}
		cpu, err := sd.Value.Member("cpu")
		if err != nil {
			t.Fatal(err)
		}
		if v, err := cpu.Int(); err != nil || int(v) != sd.CPU {
			t.Errorf("per_cpu_ptr(pmus_srcu.sda, %d)->cpu = %d, %v", sd.CPU, v, err)
		}
		n++
	}
	if n != len(possible) {
		t.Errorf("%d srcu_data for %d possible CPUs", n, len(possible))
	}
}

// labCFS: each CPU's CFS tree in order, groups flattened, against crash's
// runq.
func labCFS(t *testing.T, c *value.Context, ld *lab.Dump) {
	f, err := os.Open(ld.RefFile("crash-8.0.6", "runq.txt"))
	if err != nil {
		t.Skipf("no crash runq reference: %v", err)
	}
	defer f.Close()
	want := map[int][]uint64{}
	cpu, inCFS := -1, false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if s, ok := strings.CutPrefix(line, "CPU "); ok {
			n, _ := strconv.Atoi(strings.Fields(s)[0])
			cpu, inCFS = n, false
			want[cpu] = []uint64{}
		}
		if strings.Contains(line, "CFS RB_ROOT:") {
			inCFS = true
		}
		if i := strings.Index(line, "TASK: "); i >= 0 && inCFS {
			a, err := strconv.ParseUint(strings.Fields(line[i+6:])[0], 16, 64)
			if err != nil {
				t.Fatal(err)
			}
			want[cpu] = append(want[cpu], a)
		}
	}
	var cfsTasks func(root value.Value, depth int) ([]uint64, error)
	cfsTasks = func(root value.Value, depth int) ([]uint64, error) {
		var out []uint64
		for se, err := range walk.RBTree(root, "struct sched_entity", "run_node") {
			if err != nil {
				return out, err
			}
			q, err := se.Member("my_q")
			if err != nil {
				return out, err
			}
			if p, _ := q.Uint(); p != 0 && depth < 8 {
				tl, err := q.Member("tasks_timeline")
				if err != nil {
					return out, err
				}
				sub, err := cfsTasks(tl, depth+1)
				if err != nil {
					return out, err
				}
				out = append(out, sub...)
				continue
			}
			task, err := walk.ContainerOf(se, "struct task_struct", "se")
			if err != nil {
				return out, err
			}
			out = append(out, task.Addr)
		}
		return out, nil
	}
	queued := 0
	for rq, err := range walk.PerCPU(c, "runqueues", walk.PresentCPUs(c)) {
		if err != nil {
			t.Fatal(err)
		}
		tl, err := rq.Value.Member("cfs.tasks_timeline")
		if err != nil {
			t.Fatal(err)
		}
		got, err := cfsTasks(tl, 0)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want[rq.CPU]) {
			t.Errorf("CPU %d's CFS tree: %x; crash's runq: %x", rq.CPU, got, want[rq.CPU])
		}
		queued += len(got)
	}
	t.Logf("%d queued CFS tasks", queued)
}

// labVmap: the tree of free vmalloc areas in address order, areas apart;
// backwards the same reversed; on 6.1 the busy areas' tree equals their
// list, vmap_area_list.
func labVmap(t *testing.T, c *value.Context) {
	root, err := c.Var("free_vmap_area_root")
	if err != nil {
		t.Fatal(err)
	}
	areas, err := walk.Collect(walk.RBTree(root, "struct vmap_area", "rb_node"))
	if err != nil || len(areas) == 0 {
		t.Fatalf("free_vmap_area_root: %d areas, %v", len(areas), err)
	}
	var prevEnd uint64
	for i, a := range areas {
		s, err1 := a.Member("va_start")
		e, err2 := a.Member("va_end")
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		start, _ := s.Uint()
		end, _ := e.Uint()
		if end <= start || (i > 0 && start < prevEnd) {
			t.Errorf("free vmap area %d: %#x-%#x after one ending at %#x", i, start, end, prevEnd)
		}
		prevEnd = end
	}
	// rb_find: each free area found by an address inside it.
	for _, a := range areas {
		s, _ := a.Member("va_start")
		start, _ := s.Uint()
		found, ok, err := walk.RBFind(root, "struct vmap_area", "rb_node", func(v value.Value) (int, error) {
			s, err1 := v.Member("va_start")
			e, err2 := v.Member("va_end")
			if err1 != nil || err2 != nil {
				return 0, errors.Join(err1, err2)
			}
			vs, _ := s.Uint()
			ve, _ := e.Uint()
			switch {
			case start < vs:
				return -1, nil
			case start >= ve:
				return 1, nil
			}
			return 0, nil
		})
		if err != nil || !ok || found.Addr != a.Addr {
			t.Errorf("RBFind(%#x) = %#x, %v, %v; want %#x", start, found.Addr, ok, err, a.Addr)
		}
	}
	rev, err := walk.Collect(walk.RBTreeReverse(root, "struct vmap_area", "rb_node"))
	if err != nil || len(rev) != len(areas) || rev[0].Addr != areas[len(areas)-1].Addr {
		t.Errorf("reverse: %d areas, %v", len(rev), err)
	}
	busy, err := c.Var("vmap_area_root")
	if err != nil {
		t.Logf("%d free vmap areas (no vmap_area_root: %v)", len(areas), err)
		return
	}
	list, err := c.Var("vmap_area_list")
	if err != nil {
		t.Fatal(err)
	}
	tree, err := walk.Collect(walk.RBTree(busy, "struct vmap_area", "rb_node"))
	if err != nil {
		t.Fatal(err)
	}
	ring, err := walk.Collect(walk.List(list, "struct vmap_area", "list"))
	if err != nil {
		t.Fatal(err)
	}
	if len(tree) != len(ring) || len(tree) < 20 {
		t.Fatalf("vmap_area_root %d areas, vmap_area_list %d", len(tree), len(ring))
	}
	for i := range tree {
		if tree[i].Addr != ring[i].Addr {
			t.Fatalf("area %d: tree %#x, list %#x", i, tree[i].Addr, ring[i].Addr)
		}
	}
	t.Logf("%d free vmap areas, %d busy ones in tree and list", len(areas), len(tree))
}

// crashVMAs reads crash's foreach vm: each pid's VMAs as
// "vma start end" in hex.
func crashVMAs(t *testing.T, ld *lab.Dump) map[int][]string {
	f, err := os.Open(ld.RefFile("crash-8.0.6-groups", "foreach/fe-vm.txt"))
	if err != nil {
		return nil
	}
	defer f.Close()
	out := map[int][]string{}
	pid, inVMAs := -1, false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		switch {
		case len(fs) >= 2 && fs[0] == "PID:":
			pid, _ = strconv.Atoi(fs[1])
			inVMAs = false
			out[pid] = []string{}
		case len(fs) >= 1 && fs[0] == "VMA":
			inVMAs = true
		case len(fs) == 0:
			inVMAs = false
		case inVMAs && len(fs) >= 3:
			out[pid] = append(out[pid], strings.Join(fs[:3], " "))
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// labMaple: every process's mm_mt against tasks.VMAs and, where the lab
// has it, crash's foreach vm.
func labMaple(t *testing.T, c *value.Context, tb *tasks.Table, ld *lab.Dump) {
	crash := crashVMAs(t, ld)
	procs, vmas, checked := 0, 0, 0
	for _, tk := range tb.Tasks {
		if tk.MM == 0 || tk.PID != tk.TGID {
			continue
		}
		want, err := tasks.VMAs(c, tk.MM)
		if err != nil {
			t.Errorf("pid %d: tasks.VMAs: %v", tk.PID, err)
			continue
		}
		mm, err := c.At("struct mm_struct", tk.MM)
		if err != nil {
			t.Fatal(err)
		}
		mt, err := mm.Member("mm_mt")
		if err != nil {
			t.Fatal(err)
		}
		got, err := walk.Collect(walk.MapleTree(mt))
		if err != nil {
			t.Errorf("pid %d: %v", tk.PID, err)
			continue
		}
		if len(got) != len(want) {
			t.Errorf("pid %d: %d maple entries, %d VMAs", tk.PID, len(got), len(want))
			continue
		}
		for i, e := range got {
			w := want[i]
			// mtree_load at both ends of the VMA finds it; just below
			// it, the previous VMA or a gap.
			for _, a := range []uint64{w.Start, w.End - 1} {
				if l, ok, err := walk.MapleLoad(mt, a); err != nil || !ok || l.Raw != w.Addr {
					t.Errorf("pid %d: MapleLoad(%#x) = %+v, %v, %v; want VMA %#x", tk.PID, a, l, ok, err, w.Addr)
				}
			}
			if l, ok, err := walk.MapleLoad(mt, w.Start-1); err != nil || ok && (i == 0 || l.Raw != want[i-1].Addr) {
				t.Errorf("pid %d: MapleLoad(%#x) = %+v, %v, %v", tk.PID, w.Start-1, l, ok, err)
			}
			if e.Raw != w.Addr || e.Index != w.Start || e.Last != w.End-1 {
				t.Errorf("pid %d entry %d: %#x %#x-%#x; VMA %#x %#x-%#x", tk.PID, i, e.Raw, e.Index, e.Last, w.Addr, w.Start, w.End)
			}
			v, err := e.As("struct vm_area_struct")
			if err != nil {
				t.Fatal(err)
			}
			if s, err := v.Member("vm_start"); err != nil {
				t.Fatal(err)
			} else if n, _ := s.Uint(); n != e.Index {
				t.Errorf("pid %d entry %d: vm_start %#x, index %#x", tk.PID, i, n, e.Index)
			}
		}
		if want, ok := crash[tk.PID]; ok {
			var have []string
			for _, e := range got {
				have = append(have, fmt.Sprintf("%x %x %x", e.Raw, e.Index, e.Last+1))
			}
			if !slices.Equal(have, want) {
				t.Errorf("pid %d: maple tree %q\ncrash's vm: %q", tk.PID, have, want)
			}
			checked++
		}
		procs++
		vmas += len(got)
	}
	if procs == 0 {
		t.Error("no process with an mm")
	}
	if crash != nil && checked == 0 {
		t.Error("no process of crash's foreach vm found")
	}
	t.Logf("%d processes, %d VMAs; %d processes checked against crash's vm", procs, vmas, checked)
}

// patched reads through to the dump but for the words at patch.
type patched struct {
	inner io.ReaderAt
	patch map[uint64]uint64
}

func (p patched) ReadAt(b []byte, off int64) (int, error) {
	n, err := p.inner.ReadAt(b, off)
	a := uint64(off)
	for pa, v := range p.patch {
		if pa >= a && pa+8 <= a+uint64(n) {
			binary.LittleEndian.PutUint64(b[pa-a:], v)
		}
	}
	return n, err
}

// labDamaged: the real task list, broken three ways, ends with an error
// naming the place, after the tasks before it.
func labDamaged(t *testing.T, c *value.Context) {
	it, err := c.Var("init_task")
	if err != nil {
		t.Fatal(err)
	}
	head, err := it.Member("tasks")
	if err != nil {
		t.Fatal(err)
	}
	all, err := walk.Collect(walk.List(head, "struct task_struct", "tasks"))
	if err != nil || len(all) < 10 {
		t.Fatal(len(all), err)
	}
	link := func(i int) uint64 { // &task[i].tasks
		l, err := all[i].Member("tasks")
		if err != nil {
			t.Fatal(err)
		}
		return l.Addr
	}
	for name, tc := range map[string]struct {
		patch   map[uint64]uint64
		target  error
		entries int
		names   uint64
	}{
		"cycle":   {map[uint64]uint64{link(5): link(2)}, walk.ErrCycle, 6, link(2)},
		"null":    {map[uint64]uint64{link(5): 0}, walk.ErrCorrupt, 6, link(5)},
		"garbage": {map[uint64]uint64{link(5): 0xdead000000000100}, nil, 6, 0xdead000000000100},
	} {
		d := value.New(c.Types, patched{c.Mem, tc.patch})
		d.PerCPUOffset = c.PerCPUOffset
		h := d.Typed(head.Type, head.Addr, "init_task.tasks")
		got, err := walk.Collect(walk.List(h, "struct task_struct", "tasks"))
		if len(got) != tc.entries {
			t.Errorf("%s: %d tasks before the error, want %d", name, len(got), tc.entries)
		}
		var we *walk.Error
		if !errors.As(err, &we) || (tc.target != nil && !errors.Is(err, tc.target)) || !strings.Contains(err.Error(), fmt.Sprintf("%#x", tc.names)) {
			t.Errorf("%s: error %v, want a *walk.Error wrapping %v naming %#x", name, err, tc.target, tc.names)
		}
		t.Logf("%s: %v", name, err)
	}
}

// labDcache: the dentry hash table's bit-locked chains: every dentry in
// bucket i hashes to i (d_hash: hash >> d_hash_shift), and all of them
// are found.
func labDcache(t *testing.T, c *value.Context) {
	shiftV, err := c.Var("d_hash_shift")
	if err != nil {
		t.Fatal(err)
	}
	shift, err := shiftV.Uint()
	if err != nil || shift == 0 || shift >= 32 {
		t.Fatalf("d_hash_shift %d, %v", shift, err)
	}
	table, err := c.Var("dentry_hashtable")
	if err != nil {
		t.Fatal(err)
	}
	base, err := table.Uint()
	if err != nil {
		t.Fatal(err)
	}
	n := 1 << (32 - shift)
	heads := make([]byte, 8*n)
	if err := c.Read(heads, base, "dentry_hashtable"); err != nil {
		t.Fatal(err)
	}
	bucket, err := table.Index(0)
	if err != nil {
		t.Fatal(err)
	}
	dentries, buckets := 0, 0
	for i := range n {
		if binary.LittleEndian.Uint64(heads[8*i:]) == 0 {
			continue
		}
		buckets++
		head := c.Typed(bucket.Type, base+uint64(8*i), fmt.Sprintf("dentry_hashtable[%d]", i))
		for d, err := range walk.HListBL(head, "struct dentry", "d_hash") {
			if err != nil {
				t.Fatalf("bucket %d: %v", i, err)
			}
			h, err := d.Member("d_name.hash")
			if err != nil {
				t.Fatal(err)
			}
			hash, err := h.Uint()
			if err != nil {
				t.Fatal(err)
			}
			if int(hash>>shift) != i {
				t.Errorf("dentry %#x (hash %#x) in bucket %d", d.Addr, hash, i)
			}
			dentries++
		}
	}
	if dentries < 100 {
		t.Errorf("%d dentries in %d buckets", dentries, buckets)
	}
	t.Logf("%d dentries in %d of %d buckets", dentries, buckets, n)
}

// labPageCache: every inode of every super block (super_blocks, then each
// one's s_inodes), and each inode's page cache (i_mapping->i_pages, an
// xarray): every page found at index i says it is page i of that mapping.
func labPageCache(t *testing.T, c *value.Context) {
	sbs, err := c.Var("super_blocks")
	if err != nil {
		t.Fatal(err)
	}
	nsb, inodes, pages, multi, values := 0, 0, 0, 0, 0
	for sb, err := range walk.List(sbs, "struct super_block", "s_list") {
		if err != nil {
			t.Fatal(err)
		}
		nsb++
		head, err := sb.Member("s_inodes")
		if err != nil {
			t.Fatal(err)
		}
		for ino, err := range walk.List(head, "struct inode", "i_sb_list") {
			if err != nil {
				t.Fatal(err)
			}
			inodes++
			mapping, err := ino.Member("i_mapping")
			if err != nil {
				t.Fatal(err)
			}
			mval, err := mapping.Uint()
			if err != nil || mval == 0 {
				continue
			}
			xa, err := mapping.Member("i_pages")
			if err != nil {
				t.Fatal(err)
			}
			for e, err := range walk.XArray(xa) {
				if err != nil {
					t.Fatalf("inode %#x: %v", ino.Addr, err)
				}
				if e.IsValue() { // a shadow or swap entry
					values++
					continue
				}
				pg, err := e.As("struct page")
				if err != nil {
					t.Fatal(err)
				}
				idx, err := pg.Member("index")
				if err != nil {
					t.Fatal(err)
				}
				m, err := pg.Member("mapping")
				if err != nil {
					t.Fatal(err)
				}
				i, err1 := idx.Uint()
				mp, err2 := m.Uint()
				if err1 != nil || err2 != nil {
					continue // a page the dump left out
				}
				if i != e.Index || mp != mval {
					t.Errorf("inode %#x: page %#x at index %d says index %d, mapping %#x", ino.Addr, e.Raw, e.Index, i, mp)
				}
				if e.Last != e.Index {
					multi++
				}
				pages++
			}
		}
	}
	if pages < 100 {
		t.Errorf("%d pages in the page cache of %d inodes", pages, inodes)
	}
	t.Logf("%d super blocks, %d inodes, %d pages (%d multi-index, %d value entries)", nsb, inodes, pages, multi, values)
}
