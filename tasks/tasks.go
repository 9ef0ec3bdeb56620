package tasks

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sort"

	"github.com/vmcoretools/vmcore/ktype"
	"github.com/vmcoretools/vmcore/value"
)

// MaxTasks bounds every list walk: a kernel has at most PID_MAX_LIMIT
// (4 Mi) tasks; a corrupt ring must end, not spin.
const MaxTasks = 1 << 22

// Task state bits of the kernel (include/linux/sched.h), stable since 4.14.
const (
	taskInterruptible   = 0x1
	taskUninterruptible = 0x2
	taskStopped         = 0x4
	taskTraced          = 0x8
	exitDead            = 0x10
	exitZombie          = 0x20
	taskParked          = 0x40
	taskDead            = 0x80
	taskWaking          = 0x200
	taskNoLoad          = 0x400
	taskNew             = 0x800
)

// pfKthread is PF_KTHREAD in task_struct.flags.
const pfKthread = 0x00200000

// Task is what ps shows of one task_struct, as read from it (Table.Status
// gives the derived values: state names, KiB, times).
type Task struct {
	Addr uint64 `json:"task"` // the task_struct
	PID  int    `json:"pid"`
	TGID int    `json:"tgid"`
	// Parent is task_struct.parent, the parent crash shows (PPID, ps -p):
	// the tracer while the task is ptraced, and for the idle tasks of
	// CPUs other than 0 the boot CPU's idle task. RealParent is
	// real_parent, the task that forked it (whose children list holds it).
	Parent     uint64 `json:"parent"`
	RealParent uint64 `json:"real_parent"`
	PPID       int    `json:"ppid"`
	CPU        int    `json:"cpu"`
	State      uint64 `json:"state"` // __state | exit_state
	Flags      uint64 `json:"flags"`
	Comm       string `json:"comm"`
	MM         uint64 `json:"mm"`
	Stack      uint64 `json:"stack"`     // base of the kernel stack (task->stack)
	ThreadSP   uint64 `json:"thread_sp"` // saved stack pointer of a switched-out task (thread.sp)
	LastRun    uint64 `json:"last_run"`  // sched_info.last_arrival, ns of rq clock
	// StartTime is start_time (ns since boot); UTime and STime are the
	// user and system CPU time (ns).
	StartTime uint64 `json:"start_time"`
	UTime     uint64 `json:"utime"`
	STime     uint64 `json:"stime"`
	// Policy is the scheduling policy (SCHED_NORMAL 0, FIFO 1, RR 2,
	// BATCH 3, IDLE 5, DEADLINE 6) and Prio the dynamic priority.
	Policy uint32 `json:"policy"`
	Prio   int    `json:"prio"`
	// Signal is the signal_struct the thread group shares (rlimits).
	Signal uint64 `json:"signal"`
	// Active is set for the task each CPU was running at the crash.
	Active bool `json:"active"`
	// RSS and TotalVM are in pages; zero for kernel threads.
	RSS     uint64 `json:"rss_pages"`
	TotalVM uint64 `json:"total_vm_pages"`
}

// KernelThread reports a kernel thread, which ps prints in [brackets]:
// the idle tasks and tasks flagged PF_KTHREAD.
func (t *Task) KernelThread() bool { return t.PID == 0 || t.Flags&pfKthread != 0 }

// StateString is the task's state as crash's ps prints it: RU IN UN ID ZO
// ST TR DE SW PA WA NE, or ?? for a combination crash does not name.
func (t *Task) StateString() string { return StateString(t.State) }

// StateString names a state|exit_state word as crash does; the later tests
// win, as in crash's task_state_string.
func StateString(state uint64) string {
	s := "??"
	set := false
	if state == 0 {
		s = "RU"
	}
	if state&taskInterruptible != 0 {
		s, set = "IN", true
	}
	if state&taskUninterruptible != 0 {
		if state&taskNoLoad != 0 {
			s = "ID"
		} else {
			s = "UN"
		}
		set = true
	}
	if state&exitZombie != 0 {
		s, set = "ZO", true
	}
	if state&taskStopped != 0 {
		s, set = "ST", true
	}
	if state&taskTraced != 0 {
		s, set = "TR", true
	}
	if state&(exitDead|taskDead) != 0 && !set {
		s = "DE"
	}
	switch state {
	case taskParked:
		s = "PA"
	case taskWaking:
		s = "WA"
	case taskNew:
		s = "NE"
	}
	return s
}

// Table is every task of the dump, sorted by pid (the idle tasks by CPU),
// as crash's task table.
type Table struct {
	Tasks []*Task `json:"tasks"`
	// Current is the task each CPU was running (rq->curr), by CPU number;
	// 0 for a CPU not online.
	Current []uint64 `json:"current"`
	// TotalPages is the memory ps's %MEM divides by: pages below
	// high_memory, as crash's vt->total_pages.
	TotalPages uint64 `json:"total_pages"`
	PageSize   uint64 `json:"page_size"`
	// Clock is the latest runqueue clock of any CPU (ns since boot), the
	// "now" of the dump for run times; 0 when unknown.
	Clock uint64 `json:"clock"`
	// Uptime is the kernel's uptime in whole seconds as crash counts it
	// (jiffies since boot over HZ; system.Uptime), 0 when unknown. The
	// loader does not know HZ: its caller sets it. RunTime uses it.
	Uptime uint64 `json:"uptime"`
	// Clocks is each CPU's runqueue clock (rq->clock), by CPU number:
	// how long ago a task last ran is measured against its CPU's.
	Clocks []uint64 `json:"clocks"`
	// Warnings name tasks or lists that could not be read in full.
	Warnings []string `json:"warnings,omitempty"`

	byAddr map[uint64]*Task
}

// ByAddr returns the task whose task_struct is at addr.
func (tb *Table) ByAddr(addr uint64) *Task { return tb.byAddr[addr] }

// ByPID returns the tasks with that pid (several only for pid 0, one idle
// task per CPU).
func (tb *Table) ByPID(pid int) []*Task {
	i := sort.Search(len(tb.Tasks), func(i int) bool { return tb.Tasks[i].PID >= pid })
	var out []*Task
	for ; i < len(tb.Tasks) && tb.Tasks[i].PID == pid; i++ {
		out = append(out, tb.Tasks[i])
	}
	return out
}

// PercentMem is RSS as a percentage of TotalPages, ps's %MEM.
func (tb *Table) PercentMem(t *Task) float64 {
	if tb.TotalPages == 0 {
		return 0
	}
	return float64(t.RSS*100) / float64(tb.TotalPages)
}

// layout holds the offsets of the members read, found once per vmlinux.
type layout struct {
	taskSize                                               int64
	tasks, pid, tgid, realParent, parent, state, exitState int64
	stateSize, exitStateSize, flagsSize                    int64
	flags, comm, mm, cpu, stack, threadSP, lastRun         int64
	threadGroup, taskRSS                                   int64 // -1 when absent
	signal, threadNode, sigThreadHead                      int64 // 6.7+: threads on signal->thread_head
	mmTotalVM, mmRSS, mmCount                              int64
	mmRSSPerCPU                                            bool // 6.2+: percpu_counter rss_stat[]
	pcpuCounterSize, pcpuCount, pcpuCounters               int64
	rqCurr, rqIdle, rqClock                                int64
	startTime, utime, stime                                int64
	policy, prio                                           int64
	nrMMCounters                                           int
}

func offsetOf(s ktype.Source, typ, path string) (int64, int64, error) {
	t, err := s.Type(typ)
	if err != nil {
		return 0, 0, err
	}
	m, err := ktype.FindMember(t, path)
	if err != nil {
		return 0, 0, fmt.Errorf("tasks: %s: %w", typ, err)
	}
	return m.Offset, m.Type.Size(), nil
}

// firstOffset returns the offset of the first member path that exists.
func firstOffset(s ktype.Source, typ string, paths ...string) (off, size int64, err error) {
	for _, p := range paths {
		if off, size, err = offsetOf(s, typ, p); err == nil {
			return
		}
	}
	return -1, 0, err
}

func newLayout(s ktype.Source) (*layout, error) {
	l := &layout{}
	var err error
	ts := "struct task_struct"
	if l.taskSize, err = ktype.Sizeof(s, ts); err != nil {
		return nil, err
	}
	must := func(dst *int64, typ string, paths ...string) {
		if err != nil {
			return
		}
		*dst, _, err = firstOffset(s, typ, paths...)
	}
	must(&l.tasks, ts, "tasks")
	must(&l.pid, ts, "pid")
	must(&l.tgid, ts, "tgid")
	must(&l.realParent, ts, "real_parent")
	var perr error
	if l.parent, _, perr = offsetOf(s, ts, "parent"); perr != nil {
		l.parent = -1 // real_parent stands for it
	}
	must(&l.comm, ts, "comm")
	must(&l.mm, ts, "mm")
	must(&l.stack, ts, "stack")
	must(&l.rqCurr, "struct rq", "curr")
	must(&l.rqIdle, "struct rq", "idle")
	must(&l.mmTotalVM, "struct mm_struct", "total_vm")
	if err != nil {
		return nil, err
	}
	// The saved stack pointer of a switched-out task, where the machine's
	// thread_struct keeps it: x86's thread.sp, arm64's
	// thread.cpu_context.sp.
	if l.threadSP, _, err = firstOffset(s, ts, "thread.sp", "thread.cpu_context.sp"); err != nil {
		return nil, err
	}
	if l.state, l.stateSize, err = firstOffset(s, ts, "__state", "state"); err != nil {
		return nil, err
	}
	if l.flags, l.flagsSize, err = firstOffset(s, ts, "flags"); err != nil {
		return nil, err
	}
	l.exitState, l.exitStateSize, _ = firstOffset(s, ts, "exit_state")
	l.cpu, _, _ = firstOffset(s, ts, "cpu", "thread_info.cpu")
	l.lastRun, _, _ = firstOffset(s, ts, "sched_info.last_arrival")
	l.threadGroup, _, _ = firstOffset(s, ts, "thread_group")
	l.signal, _, _ = firstOffset(s, ts, "signal")
	l.threadNode, _, _ = firstOffset(s, ts, "thread_node")
	l.sigThreadHead, _, _ = firstOffset(s, "struct signal_struct", "thread_head")
	l.policy, _, _ = firstOffset(s, ts, "policy")
	l.prio, _, _ = firstOffset(s, ts, "prio")
	l.startTime, _, _ = firstOffset(s, ts, "start_time")
	l.utime, _, _ = firstOffset(s, ts, "utime")
	l.stime, _, _ = firstOffset(s, ts, "stime")
	l.rqClock, _, _ = firstOffset(s, "struct rq", "clock")
	l.taskRSS, _, _ = firstOffset(s, ts, "rss_stat.count")
	l.mmCount, _, _ = firstOffset(s, "struct mm_struct", "mm_count")
	var rssSize int64
	l.mmRSS, rssSize, err = firstOffset(s, "struct mm_struct", "rss_stat.count")
	if err != nil {
		// 6.2 and later: struct percpu_counter rss_stat[NR_MM_COUNTERS].
		if l.mmRSS, rssSize, err = firstOffset(s, "struct mm_struct", "rss_stat"); err != nil {
			return nil, err
		}
		l.mmRSSPerCPU = true
		if l.pcpuCounterSize, err = ktype.Sizeof(s, "struct percpu_counter"); err != nil {
			return nil, err
		}
		l.pcpuCount, _, _ = firstOffset(s, "struct percpu_counter", "count")
		if l.pcpuCounters, _, err = firstOffset(s, "struct percpu_counter", "counters"); err != nil {
			return nil, err
		}
		l.nrMMCounters = int(rssSize / l.pcpuCounterSize)
	} else {
		l.nrMMCounters = int(rssSize / 8)
	}
	return l, nil
}

// mm_struct counters (enum in include/linux/mm_types_task.h).
const (
	mmFilePages  = 0
	mmAnonPages  = 1
	mmShmemPages = 3
)

type reader struct {
	c     *value.Context
	l     *layout
	bo    binary.ByteOrder
	cpus  []int
	pcpu  []uint64 // __per_cpu_offset by CPU
	warns []string
}

func (r *reader) warnf(format string, args ...any) {
	if len(r.warns) < 100 {
		r.warns = append(r.warns, fmt.Sprintf(format, args...))
	}
}

func (r *reader) u64(addr uint64, what string) (uint64, error) {
	var b [8]byte
	if err := r.c.Read(b[:], addr, what); err != nil {
		return 0, err
	}
	return r.bo.Uint64(b[:]), nil
}

func (r *reader) uintAt(b []byte, off, size int64) uint64 { return value.UintAt(b, off, size, r.bo) }

// Load walks the tasks of the kernel behind c.
func Load(c *value.Context) (*Table, error) {
	l, err := newLayout(c.Types)
	if err != nil {
		return nil, fmt.Errorf("tasks: the vmlinux lacks what tasks are read with: %w", err)
	}
	r := &reader{c: c, l: l, bo: binary.LittleEndian}
	if c.ByteOrder != nil {
		r.bo = c.ByteOrder
	}
	if r.cpus, err = onlineCPUs(c); err != nil {
		return nil, err
	}
	tb := &Table{PageSize: 4096, byAddr: map[uint64]*Task{}}
	maxCPU := 0
	for _, cpu := range r.cpus {
		maxCPU = max(maxCPU, cpu)
	}
	tb.Clocks = make([]uint64, maxCPU+1)
	r.pcpu = make([]uint64, maxCPU+1)
	if offs, err := c.Var("__per_cpu_offset"); err == nil {
		for _, cpu := range r.cpus {
			if e, err := offs.Index(cpu); err == nil {
				r.pcpu[cpu], _ = e.Uint()
			}
		}
	}
	tb.TotalPages = totalPages(c)

	initTask, err := c.Types.Variable("init_task")
	if err != nil {
		return nil, fmt.Errorf("tasks: %w", err)
	}
	var order []uint64
	seen := map[uint64]bool{}
	add := func(a uint64) {
		if a != 0 && !seen[a] && len(order) < MaxTasks {
			seen[a] = true
			order = append(order, a)
		}
	}
	add(initTask.Addr)
	leaders, err := r.ring(initTask.Addr+uint64(l.tasks), l.tasks, "init_task.tasks")
	if err != nil {
		r.warnf("task list: %v", err)
	}
	for _, a := range leaders {
		add(a)
	}
	for _, lead := range append([]uint64{initTask.Addr}, leaders...) {
		var threads []uint64
		var err error
		switch {
		case l.threadGroup >= 0:
			threads, err = r.ring(lead+uint64(l.threadGroup), l.threadGroup, fmt.Sprintf("thread group of %#x", lead))
		case l.signal >= 0 && l.threadNode >= 0 && l.sigThreadHead >= 0:
			// 6.7 dropped thread_group: the threads hang off the
			// signal_struct the group shares.
			var sig uint64
			if sig, err = r.u64(lead+uint64(l.signal), "task_struct.signal"); err == nil && sig != 0 {
				threads, err = r.ring(sig+uint64(l.sigThreadHead), l.threadNode, fmt.Sprintf("threads of %#x", lead))
			}
		}
		if err != nil {
			r.warnf("%v", err)
		}
		for _, a := range threads {
			add(a)
		}
	}
	// Per-CPU runqueues: the current task of every CPU, and the idle
	// tasks of CPUs other than 0, which are on no list.
	if rq, err := c.Types.Variable("runqueues"); err == nil {
		tb.Current = make([]uint64, maxCPU+1)
		for _, cpu := range r.cpus {
			base := rq.Addr + r.pcpu[cpu]
			if idle, err := r.u64(base+uint64(l.rqIdle), fmt.Sprintf("runqueues:%d.idle", cpu)); err == nil {
				add(idle)
			} else {
				r.warnf("CPU %d: %v", cpu, err)
			}
			if l.rqClock >= 0 {
				if clk, err := r.u64(base+uint64(l.rqClock), "rq.clock"); err == nil {
					tb.Clock = max(tb.Clock, clk)
					tb.Clocks[cpu] = clk
				}
			}
			if cur, err := r.u64(base+uint64(l.rqCurr), fmt.Sprintf("runqueues:%d.curr", cpu)); err == nil {
				tb.Current[cpu] = cur
				add(cur)
			} else {
				r.warnf("CPU %d: %v", cpu, err)
			}
		}
	} else {
		r.warnf("no runqueues: active tasks unknown: %v", err)
	}

	buf := make([]byte, l.taskSize)
	for _, a := range order {
		t, err := r.task(a, buf)
		if err != nil {
			r.warnf("task %x: %v", a, err)
			continue
		}
		tb.Tasks = append(tb.Tasks, t)
		tb.byAddr[a] = t
	}
	for _, cur := range tb.Current {
		if t := tb.byAddr[cur]; t != nil {
			t.Active = true
		}
	}
	for _, t := range tb.Tasks {
		// The idle tasks (pid 0) have PPID 0 whatever their parent.
		if p := tb.byAddr[t.Parent]; p != nil && t.PID != 0 {
			t.PPID = p.PID
		}
	}
	r.memory(tb)
	sort.SliceStable(tb.Tasks, func(i, j int) bool {
		a, b := tb.Tasks[i], tb.Tasks[j]
		if a.PID != b.PID {
			return a.PID < b.PID
		}
		return a.CPU < b.CPU
	})
	tb.Warnings = r.warns
	return tb, nil
}

// ring walks a list_head ring whose head is at head, returning the address
// of the structure embedding each node (node - off), bounded and with
// cycle detection.
func (r *reader) ring(head uint64, off int64, what string) ([]uint64, error) {
	var out []uint64
	visited := map[uint64]bool{head: true}
	cur := head
	for range MaxTasks {
		next, err := r.u64(cur, what)
		if err != nil {
			return out, fmt.Errorf("%s: %w", what, err)
		}
		if next == head {
			return out, nil
		}
		if next == 0 || visited[next] {
			return out, fmt.Errorf("%s: list broken after %d entries (next %#x at %#x)", what, len(out), next, cur)
		}
		visited[next] = true
		out = append(out, next-uint64(off))
		cur = next
	}
	return out, fmt.Errorf("%s: more than %d entries", what, MaxTasks)
}

func (r *reader) task(addr uint64, buf []byte) (*Task, error) {
	l := r.l
	if err := r.c.Read(buf, addr, "task_struct"); err != nil {
		return nil, err
	}
	t := &Task{Addr: addr}
	t.PID = int(int32(r.uintAt(buf, l.pid, 4)))
	t.TGID = int(int32(r.uintAt(buf, l.tgid, 4)))
	t.RealParent = r.uintAt(buf, l.realParent, 8)
	t.Parent = t.RealParent
	if l.parent >= 0 {
		t.Parent = r.uintAt(buf, l.parent, 8)
	}
	t.State = r.uintAt(buf, l.state, l.stateSize)
	if l.exitState >= 0 {
		t.State |= r.uintAt(buf, l.exitState, l.exitStateSize)
	}
	t.Flags = r.uintAt(buf, l.flags, l.flagsSize)
	if l.cpu >= 0 {
		t.CPU = int(r.uintAt(buf, l.cpu, 4))
	}
	if l.comm >= 0 && l.comm+16 <= int64(len(buf)) {
		comm := buf[l.comm : l.comm+16]
		for i, ch := range comm {
			if ch == 0 {
				comm = comm[:i]
				break
			}
		}
		t.Comm = string(comm)
	}
	t.MM = r.uintAt(buf, l.mm, 8)
	t.Stack = r.uintAt(buf, l.stack, 8)
	t.ThreadSP = r.uintAt(buf, l.threadSP, 8)
	if l.lastRun >= 0 {
		t.LastRun = r.uintAt(buf, l.lastRun, 8)
	}
	if l.policy >= 0 {
		t.Policy = uint32(r.uintAt(buf, l.policy, 4))
	}
	if l.prio >= 0 {
		t.Prio = int(int32(r.uintAt(buf, l.prio, 4)))
	}
	if l.signal >= 0 {
		t.Signal = r.uintAt(buf, l.signal, 8)
	}
	t.StartTime = r.uintAt(buf, l.startTime, 8)
	t.UTime = r.uintAt(buf, l.utime, 8)
	t.STime = r.uintAt(buf, l.stime, 8)
	return t, nil
}

// memory fills RSS and TotalVM as crash's get_task_mem_usage: the mm's
// file, anon and shmem counters (negative parts as zero), plus, where
// the kernel splits them per thread (SPLIT_RSS_COUNTING), the cached
// counts of every thread of the group.
func (r *reader) memory(tb *Table) {
	l := r.l
	type mmInfo struct {
		rss, total uint64
		ok         bool
	}
	cache := map[uint64]*mmInfo{}
	split := map[int]uint64{} // tgid -> sum of thread caches
	if l.taskRSS >= 0 {
		for _, t := range tb.Tasks {
			if t.MM == 0 {
				continue
			}
			var sum uint64
			for _, idx := range []int{mmFilePages, mmAnonPages, mmShmemPages} {
				var b [4]byte
				if err := r.c.Read(b[:], t.Addr+uint64(l.taskRSS)+uint64(4*idx), "task_struct.rss_stat"); err != nil {
					continue
				}
				if v := int32(r.bo.Uint32(b[:])); v > 0 {
					sum += uint64(v)
				}
			}
			split[t.TGID] += sum
		}
	}
	for _, t := range tb.Tasks {
		if t.MM == 0 || t.State&exitZombie != 0 {
			continue
		}
		m := cache[t.MM]
		if m == nil {
			m = &mmInfo{}
			cache[t.MM] = m
			if tv, err := r.u64(t.MM+uint64(l.mmTotalVM), "mm_struct.total_vm"); err == nil {
				m.total, m.ok = tv, true
			} else {
				r.warnf("task %d: %v", t.PID, err)
			}
			for _, idx := range []int{mmFilePages, mmAnonPages, mmShmemPages} {
				if idx >= l.nrMMCounters {
					continue
				}
				v, err := r.counter(t.MM, idx)
				if err != nil {
					r.warnf("task %d: %v", t.PID, err)
					continue
				}
				if v > 0 {
					m.rss += uint64(v)
				}
			}
		}
		if !m.ok {
			continue
		}
		t.TotalVM = m.total
		t.RSS = m.rss + split[t.TGID]
	}
}

// counter reads mm->rss_stat[idx]: an atomic_long_t, or since 6.2 a
// percpu_counter summed over the online CPUs.
func (r *reader) counter(mm uint64, idx int) (int64, error) {
	l := r.l
	if !l.mmRSSPerCPU {
		v, err := r.u64(mm+uint64(l.mmRSS)+uint64(8*idx), "mm_struct.rss_stat")
		return int64(v), err
	}
	fbc := mm + uint64(l.mmRSS) + uint64(int64(idx)*l.pcpuCounterSize)
	count, err := r.u64(fbc+uint64(l.pcpuCount), "percpu_counter.count")
	if err != nil {
		return 0, err
	}
	sum := int64(count)
	counters, err := r.u64(fbc+uint64(l.pcpuCounters), "percpu_counter.counters")
	if err != nil {
		return 0, err
	}
	for _, cpu := range r.cpus {
		var b [4]byte
		if err := r.c.Read(b[:], counters+r.pcpu[cpu], "percpu_counter.counters"); err != nil {
			return 0, err
		}
		sum += int64(int32(r.bo.Uint32(b[:])))
	}
	return sum, nil
}

// onlineCPUs reads __cpu_present_mask: a panic takes the other CPUs
// offline (smp_send_stop), so the online mask of a dump names only the
// panicking CPU, while their runqueues still say what they ran.
func onlineCPUs(c *value.Context) ([]int, error) {
	var v value.Value
	var err error
	for _, name := range []string{"__cpu_present_mask", "cpu_present_mask", "__cpu_online_mask", "cpu_online_mask"} {
		if v, err = c.Var(name); err == nil {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("tasks: online CPUs: %w", err)
	}
	n := v.Size()
	if n <= 0 || n > 1024 {
		return nil, fmt.Errorf("tasks: cpu_online_mask has an implausible size %d", n)
	}
	b, err := v.Bytes()
	if err != nil {
		return nil, fmt.Errorf("tasks: online CPUs: %w", err)
	}
	var cpus []int
	for i, x := range b {
		for bit := range 8 {
			if x&(1<<bit) != 0 {
				cpus = append(cpus, i*8+bit)
			}
		}
	}
	if len(cpus) == 0 {
		return nil, errors.New("tasks: no CPU is online in cpu_online_mask")
	}
	return cpus, nil
}

// totalPages is crash's vt->total_pages: the pages below high_memory in
// the direct map.
func totalPages(c *value.Context) uint64 {
	hm, err := c.Var("high_memory")
	if err != nil {
		return 0
	}
	h, err := hm.Uint()
	if err != nil {
		return 0
	}
	base := uint64(0xffff888000000000)
	if pob, err := c.Var("page_offset_base"); err == nil {
		if v, err := pob.Uint(); err == nil {
			base = v
		}
	}
	if h < base {
		return 0
	}
	return (h - base) / 4096
}

// StateName spells a state word out as crash's set and task do:
// TASK_RUNNING, TASK_INTERRUPTIBLE, TASK_UNINTERRUPTIBLE|TASK_NOLOAD, ...
func StateName(state uint64) string {
	if state == 0 {
		return "TASK_RUNNING"
	}
	if state == taskParked {
		return "TASK_PARKED"
	}
	names := []struct {
		bit  uint64
		name string
	}{
		{taskInterruptible, "TASK_INTERRUPTIBLE"}, {taskUninterruptible, "TASK_UNINTERRUPTIBLE"},
		{taskStopped, "TASK_STOPPED"}, {taskTraced, "TASK_TRACED"}, {exitDead, "EXIT_DEAD"},
		{exitZombie, "EXIT_ZOMBIE"}, {taskParked, "TASK_PARKED"}, {taskDead, "TASK_DEAD"},
		{0x100, "TASK_WAKEKILL"}, {taskWaking, "TASK_WAKING"}, {taskNoLoad, "TASK_NOLOAD"}, {taskNew, "TASK_NEW"},
	}
	s := ""
	for _, n := range names {
		if state&n.bit != 0 {
			if s != "" {
				s += "|"
			}
			s += n.name
		}
	}
	if s == "" {
		return fmt.Sprintf("%#x", state)
	}
	return s
}

// NewTable makes a table of tasks known otherwise (a test, another
// reader), sorted and indexed as Load's.
func NewTable(ts []*Task) *Table {
	tb := &Table{Tasks: append([]*Task(nil), ts...), PageSize: 4096, byAddr: map[uint64]*Task{}}
	for _, t := range tb.Tasks {
		tb.byAddr[t.Addr] = t
	}
	sort.SliceStable(tb.Tasks, func(i, j int) bool {
		a, b := tb.Tasks[i], tb.Tasks[j]
		if a.PID != b.PID {
			return a.PID < b.PID
		}
		return a.CPU < b.CPU
	})
	return tb
}
