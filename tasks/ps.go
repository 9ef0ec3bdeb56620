package tasks

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"

	"github.com/vmcoretools/vmcore/arch"
	"github.com/vmcoretools/vmcore/value"
)

// Status is everything ps and its options show of one task, as one
// value: the default line (state, %MEM, VSZ, RSS), -s's saved stack
// pointer, -t's times, -l's and -m's last run, -y's policy and priority,
// and the task's place among the others (parent, thread-group leader).
type Status struct {
	Task      arch.Word `json:"task"` // the task_struct
	PID       int       `json:"pid"`
	PPID      int       `json:"ppid"`
	TGID      int       `json:"tgid"`
	CPU       int       `json:"cpu"`
	Comm      string    `json:"comm"`
	State     string    `json:"state"`      // crash's letters: RU IN UN ID ...
	StateName string    `json:"state_name"` // TASK_RUNNING, TASK_UNINTERRUPTIBLE|TASK_NOLOAD, ...
	// Active is set for the task a CPU was running at the crash.
	Active bool `json:"active"`
	// KernelThread: an idle task or a PF_KTHREAD task, which ps shows in
	// [brackets].
	KernelThread bool `json:"kernel_thread"`
	// MemPercent is RSS as a percentage of the memory below high_memory
	// (ps's %MEM); VSZ and RSS are in KiB.
	MemPercent float64 `json:"mem_percent"`
	VSZ        uint64  `json:"vsz_kib"`
	RSS        uint64  `json:"rss_kib"`
	// KStackP is the saved kernel stack pointer of a task switched out
	// (ps -s); 0 for a task running at the crash.
	KStackP arch.Word `json:"kstackp"`
	Policy  string    `json:"policy"` // NORMAL FIFO RR BATCH ISO IDLE DEADLINE
	Prio    int       `json:"prio"`
	// Times in ns: StartTime since boot, UTime and STime spent in user
	// and kernel mode, RunTime the dump's clock minus StartTime, LastRun
	// the runqueue clock at the task's last arrival on a CPU, and
	// SinceLastRun how long before its CPU's clock that was.
	StartTime    uint64 `json:"start_time_ns"`
	UTime        uint64 `json:"utime_ns"`
	STime        uint64 `json:"stime_ns"`
	RunTime      uint64 `json:"run_time_ns"`
	LastRun      uint64 `json:"last_run_ns"`
	SinceLastRun uint64 `json:"since_last_run_ns"`
	// Parent is the real parent's task_struct, Leader the thread-group
	// leader's (0 when not in the table).
	Parent arch.Word `json:"parent"`
	Leader arch.Word `json:"group_leader"`
}

// Status gathers what ps shows of t.
func (tb *Table) Status(t *Task) Status {
	s := Status{
		Task: arch.Word(t.Addr), PID: t.PID, PPID: t.PPID, TGID: t.TGID, CPU: t.CPU, Comm: t.Comm,
		State: t.StateString(), StateName: StateName(t.State), Active: t.Active,
		KernelThread: t.KernelThread(), MemPercent: tb.PercentMem(t),
		VSZ: tb.KiB(t.TotalVM), RSS: tb.KiB(t.RSS), Policy: PolicyName(t.Policy), Prio: t.Prio,
		StartTime: t.StartTime, UTime: t.UTime, STime: t.STime, RunTime: tb.RunTime(t),
		LastRun: t.LastRun, SinceLastRun: tb.SinceLastRun(t), Parent: arch.Word(t.Parent),
	}
	if !t.Active {
		s.KStackP = arch.Word(t.ThreadSP)
	}
	if l := tb.Leader(t); l != nil {
		s.Leader = arch.Word(l.Addr)
	}
	return s
}

// KiB converts pages to KiB.
func (tb *Table) KiB(pages uint64) uint64 { return pages * tb.PageSize / 1024 }

// RunTime is how long t had existed at the dump, in ns. As crash's ps -t
// counts it: the uptime (Uptime) less the task's start time, both in whole
// seconds; without Uptime, the latest runqueue clock minus its start time
// (0 when the clock is unknown too). The two can be a second apart.
func (tb *Table) RunTime(t *Task) uint64 {
	if start := t.StartTime / 1e9; tb.Uptime > 0 {
		if tb.Uptime > start {
			return (tb.Uptime - start) * 1e9
		}
		return 0
	}
	if tb.Clock > t.StartTime {
		return tb.Clock - t.StartTime
	}
	return 0
}

// CPUClock is the runqueue clock of cpu, 0 when unknown.
func (tb *Table) CPUClock(cpu int) uint64 {
	if cpu >= 0 && cpu < len(tb.Clocks) {
		return tb.Clocks[cpu]
	}
	return 0
}

// SinceLastRun is how long before its CPU's runqueue clock t last ran
// (ps -m), 0 when the clock is behind.
func (tb *Table) SinceLastRun(t *Task) uint64 {
	if c := tb.CPUClock(t.CPU); c > t.LastRun {
		return c - t.LastRun
	}
	return 0
}

// Leader returns the thread-group leader of t: t itself, or the first
// task whose pid is t's tgid; nil when that is not in the table.
func (tb *Table) Leader(t *Task) *Task {
	if t.PID == t.TGID {
		return t
	}
	for _, l := range tb.ByPID(t.TGID) {
		return l
	}
	return nil
}

// Threads returns the other tasks of leader's thread group, in the
// table's order.
func (tb *Table) Threads(leader *Task) []*Task {
	var out []*Task
	for _, o := range tb.Tasks {
		if o != leader && o.TGID == leader.TGID {
			out = append(out, o)
		}
	}
	return out
}

// Children returns the tasks whose real parent is t (never an idle
// task), in the table's order: the kernel's children list.
func (tb *Table) Children(t *Task) []*Task {
	var out []*Task
	for _, ch := range tb.Tasks {
		if ch.RealParent == t.Addr && ch != t && ch.PID != 0 {
			out = append(out, ch)
		}
	}
	return out
}

// Ancestry returns t's line of parents, the oldest first and t last, as
// ps -p shows it; a loop in the parent links ends the line.
func (tb *Table) Ancestry(t *Task) []*Task {
	chain := []*Task{t}
	seen := map[*Task]bool{t: true}
	for cur := t; len(chain) <= len(tb.Tasks); {
		p := tb.ByAddr(cur.Parent)
		if p == nil || seen[p] {
			break
		}
		seen[p] = true
		chain = append(chain, p)
		cur = p
	}
	for i, j := 0, len(chain)-1; i < j; i, j = i+1, j-1 {
		chain[i], chain[j] = chain[j], chain[i]
	}
	return chain
}

// ByLastRun returns the tasks most recently run first, as crash sorts
// them for ps -l and -m (stable: ties keep the table's order).
func (tb *Table) ByLastRun() []*Task {
	o := append([]*Task(nil), tb.Tasks...)
	sort.SliceStable(o, func(i, j int) bool { return o[i].LastRun > o[j].LastRun })
	return o
}

// ByStartTime returns ts oldest first, as ps -t lists them.
func ByStartTime(ts []*Task) []*Task {
	o := append([]*Task(nil), ts...)
	sort.SliceStable(o, func(i, j int) bool { return o[i].StartTime < o[j].StartTime })
	return o
}

// MaxLastRun is the largest last-run stamp of all tasks.
func (tb *Table) MaxLastRun() uint64 {
	var m uint64
	for _, t := range tb.Tasks {
		m = max(m, t.LastRun)
	}
	return m
}

// StateCount is how many tasks are in one state (ps -S).
type StateCount struct {
	State string `json:"state"`
	Count int    `json:"count"`
}

// StateCounts counts the tasks of ts by state, in the order the states
// first appear.
func StateCounts(ts []*Task) []StateCount {
	var out []StateCount
	idx := map[string]int{}
	for _, t := range ts {
		s := t.StateString()
		i, ok := idx[s]
		if !ok {
			i = len(out)
			idx[s] = i
			out = append(out, StateCount{State: s})
		}
		out[i].Count++
	}
	return out
}

// Filter selects tasks as ps's and foreach's -k, -u, -y and -I do.
type Filter struct {
	KernelOnly, UserOnly bool
	// Policies has bit 1<<policy set for each accepted scheduling
	// policy; 0 accepts any.
	Policies uint32
	// ExcludeIdle leaves out the idle tasks (pid 0).
	ExcludeIdle bool
}

// Match reports whether t passes the filter.
func (f Filter) Match(t *Task) bool {
	switch {
	case f.UserOnly && t.KernelThread(), f.KernelOnly && !t.KernelThread():
		return false
	case f.Policies != 0 && (t.Policy >= 32 || f.Policies&(1<<t.Policy) == 0):
		return false
	case f.ExcludeIdle && t.PID == 0:
		return false
	}
	return true
}

// PolicyNames are the scheduling policies by number (SCHED_NORMAL 0 ...
// SCHED_DEADLINE 6), as crash spells them.
var PolicyNames = []string{"NORMAL", "FIFO", "RR", "BATCH", "ISO", "IDLE", "DEADLINE"}

// PolicyName names a scheduling policy, UNKNOWN for a number the kernel
// does not define.
func PolicyName(p uint32) string {
	if int(p) < len(PolicyNames) {
		return PolicyNames[p]
	}
	return "UNKNOWN"
}

// RlimitNames are the resource limits by index (RLIMIT_CPU 0 ...), as
// crash spells them.
var RlimitNames = []string{"CPU", "FSIZE", "DATA", "STACK", "CORE", "RSS", "NPROC", "NOFILE", "MEMLOCK", "AS",
	"LOCKS", "SIGPENDING", "MSGQUEUE", "NICE", "RTPRIO", "RTTIME"}

// Limit is a resource limit's value; RlimInfinity is unlimited, which
// JSON spells "unlimited".
type Limit uint64

// Unlimited reports RLIM_INFINITY.
func (l Limit) Unlimited() bool { return uint64(l) == RlimInfinity }

// MarshalJSON writes the number, or "unlimited".
func (l Limit) MarshalJSON() ([]byte, error) {
	if l.Unlimited() {
		return []byte(`"unlimited"`), nil
	}
	return strconv.AppendUint(nil, uint64(l), 10), nil
}

// ResourceLimit is one of a thread group's resource limits, named.
type ResourceLimit struct {
	Resource string `json:"resource"` // CPU, FSIZE, ...; "(unknown)" past RLIMIT_RTTIME
	Cur      Limit  `json:"current"`
	Max      Limit  `json:"maximum"`
}

// ResourceLimits returns t's thread group's resource limits
// (signal->rlim[]), named, RLIMIT_CPU first (ps -r).
func ResourceLimits(c *value.Context, t *Task) ([]ResourceLimit, error) {
	lims, err := Rlimits(c, t)
	if err != nil {
		return nil, err
	}
	out := make([]ResourceLimit, len(lims))
	for i, l := range lims {
		name := "(unknown)"
		if i < len(RlimitNames) {
			name = RlimitNames[i]
		}
		out[i] = ResourceLimit{Resource: name, Cur: Limit(l.Cur), Max: Limit(l.Max)}
	}
	return out, nil
}

// Cmdline is a process's command line and environment as its user
// memory holds them (ps -a).
type Cmdline struct {
	// Args and Env are the NUL-separated strings of the areas, empty
	// strings left out.
	Args []string `json:"args"`
	Env  []string `json:"env"`
	// RawArgs and RawEnv are the areas as read (mm->arg_start..arg_end
	// and env_start..env_end).
	RawArgs []byte `json:"-"`
	RawEnv  []byte `json:"-"`
	// Fault, when set, is the first user address the dump could not
	// give: Args may be read and Env not.
	Fault *UserFault `json:"-"`
}

// MarshalJSON adds the fault's address as "fault".
func (cl *Cmdline) MarshalJSON() ([]byte, error) {
	type plain Cmdline
	out := struct {
		*plain
		Fault string `json:"fault,omitempty"`
	}{plain: (*plain)(cl)}
	if cl.Fault != nil {
		out.Fault = fmt.Sprintf("%#x", cl.Fault.Addr)
	}
	return json.Marshal(out)
}

// CommandLine reads t's arguments and environment from its user memory.
// A kernel thread gives ErrNoMM. When the dump lacks a page, the areas
// read before it are returned with Fault set, and the error is the
// *UserFault; when not even the arguments can be read, Cmdline is nil.
func CommandLine(c *value.Context, sp UserSpaces, t *Task) (*Cmdline, error) {
	args, env, err := Args(c, sp, t)
	var uf *UserFault
	if err != nil && (!errors.As(err, &uf) || args == nil) {
		return nil, err
	}
	if uf != nil {
		env = nil // the environment's area is where the read failed
	}
	cl := &Cmdline{Args: splitNUL(args), Env: splitNUL(env), RawArgs: args, RawEnv: env, Fault: uf}
	return cl, err
}

// splitNUL returns the non-empty NUL-separated strings of b.
func splitNUL(b []byte) []string {
	var out []string
	for _, s := range bytes.Split(b, []byte{0}) {
		if len(s) > 0 {
			out = append(out, string(s))
		}
	}
	return out
}

// TaskRef names a task as crash's header line does: pid, task_struct,
// CPU and command.
type TaskRef struct {
	PID  int       `json:"pid"`
	Task arch.Word `json:"task"`
	CPU  int       `json:"cpu"`
	Comm string    `json:"comm"`
}

// Ref is t's TaskRef.
func (t *Task) Ref() TaskRef {
	return TaskRef{PID: t.PID, Task: arch.Word(t.Addr), CPU: t.CPU, Comm: t.Comm}
}

func refs(ts []*Task) []TaskRef {
	out := make([]TaskRef, len(ts))
	for i, t := range ts {
		out[i] = t.Ref()
	}
	return out
}

// Family is a task's place among the others: its line of parents (ps
// -p), its thread group (ps -g) and its children (ps -c).
type Family struct {
	Task TaskRef `json:"task"`
	// Ancestry is the line of parents from the oldest (pid 0) down to
	// the task itself.
	Ancestry []TaskRef `json:"ancestry"`
	// Leader is the thread-group leader (nil when not in the table),
	// Threads the group's other tasks.
	Leader  *TaskRef  `json:"leader"`
	Threads []TaskRef `json:"threads"`
	// Children are the tasks whose real parent it is.
	Children []TaskRef `json:"children"`
}

// Family gathers t's parents, thread group and children.
func (tb *Table) Family(t *Task) Family {
	f := Family{Task: t.Ref(), Ancestry: refs(tb.Ancestry(t)), Children: refs(tb.Children(t))}
	if l := tb.Leader(t); l != nil {
		r := l.Ref()
		f.Leader = &r
		f.Threads = refs(tb.Threads(l))
	}
	return f
}

// taskJSON is Task's JSON form: its addresses as arch.Words.
type taskJSON struct {
	*taskPlain
	Addr       arch.Word `json:"task"`
	Parent     arch.Word `json:"parent"`
	RealParent arch.Word `json:"real_parent"`
	State      arch.Word `json:"state"`
	Flags      arch.Word `json:"flags"`
	MM         arch.Word `json:"mm"`
	Stack      arch.Word `json:"stack"`
	ThreadSP   arch.Word `json:"thread_sp"`
	Signal     arch.Word `json:"signal"`
}

type taskPlain Task

// MarshalJSON writes the task's addresses, state and flags in
// hexadecimal (arch.Word), its counts and times as numbers.
func (t *Task) MarshalJSON() ([]byte, error) {
	return json.Marshal(taskJSON{taskPlain: (*taskPlain)(t), Addr: arch.Word(t.Addr), Parent: arch.Word(t.Parent),
		RealParent: arch.Word(t.RealParent), State: arch.Word(t.State), Flags: arch.Word(t.Flags), MM: arch.Word(t.MM), Stack: arch.Word(t.Stack),
		ThreadSP: arch.Word(t.ThreadSP), Signal: arch.Word(t.Signal)})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (t *Task) UnmarshalJSON(b []byte) error {
	j := taskJSON{taskPlain: (*taskPlain)(t)}
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	t.Addr, t.Parent, t.RealParent, t.State, t.Flags = uint64(j.Addr), uint64(j.Parent), uint64(j.RealParent), uint64(j.State), uint64(j.Flags)
	t.MM, t.Stack, t.ThreadSP, t.Signal = uint64(j.MM), uint64(j.Stack), uint64(j.ThreadSP), uint64(j.Signal)
	return nil
}
