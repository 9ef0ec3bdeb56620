package triage

import (
	"github.com/vmcoretools/vmcore/arch"
	"strconv"
	"strings"
)

// Kind is a class of failure.
type Kind string

// The kinds of failure triage tells apart.
const (
	KindSysrq        Kind = "sysrq"         // a crash asked for with sysrq-c
	KindOops         Kind = "oops"          // a kernel page fault or NULL dereference
	KindBug          Kind = "bug"           // BUG()/BUG_ON(): "kernel BUG at FILE:LINE!"
	KindGPF          Kind = "gpf"           // a general protection fault
	KindOOM          Kind = "oom"           // out of memory with panic_on_oom, or nothing left to kill
	KindHungTask     Kind = "hung_task"     // khungtaskd with hung_task_panic
	KindSoftLockup   Kind = "soft_lockup"   // softlockup_panic
	KindHardLockup   Kind = "hard_lockup"   // hardlockup_panic (the NMI watchdog)
	KindRCUStall     Kind = "rcu_stall"     // panic_on_rcu_stall
	KindMachineCheck Kind = "machine_check" // a fatal machine check
	KindWarning      Kind = "warning"       // panic_on_warn
	KindUnknown      Kind = "unknown"       // a panic none of the above explains
	KindNone         Kind = "none"          // no panic: a dump of a running machine
)

// Failure is what the log says happened.
type Failure struct {
	Kind Kind `json:"kind"`
	// Message is the panic message without its "Kernel panic - not
	// syncing: " prefix, or the oops line when the log holds no panic
	// line; "" for KindNone.
	Message string `json:"message"`
	// Trigger is the log line that reported the failure before the
	// panic ("sysrq: Trigger a crash", "BUG: unable to handle page
	// fault for address: 0000000000000000", ...); "" when the panic
	// message is all there is.
	Trigger string `json:"trigger,omitempty"`
	// CPU, PID and Comm are the context the kernel named in its report
	// ("CPU: 1 PID: 104 Comm: lab-panic"); CPU is -1 when not given.
	CPU  int    `json:"cpu"`
	PID  int    `json:"pid"`
	Comm string `json:"comm,omitempty"`
	// Fault is the faulting access of an oops or general protection
	// fault.
	Fault *Fault `json:"fault,omitempty"`
	// Location is the source position of a BUG or a warning.
	Location *Location `json:"location,omitempty"`
	// OOM is the out-of-memory report.
	OOM *OOM `json:"oom,omitempty"`
	// Hung lists the tasks khungtaskd reported.
	Hung []HungTask `json:"hung,omitempty"`
	// Lockup is a soft or hard lockup's CPU and task.
	Lockup *Lockup `json:"lockup,omitempty"`
	// Lines are the log lines the classification rests on, in log order.
	Lines []string `json:"lines,omitempty"`

	// traceFrom and traceEnd bound, as indexes of the lines classified,
	// where the failure's call trace is looked for: from its report (a
	// hung task's: the first blocked task's), else from the panic line,
	// to a little past the panic line; traceFrom is -1 without either.
	traceFrom, traceEnd int
	firstHung           int // index in the window of the first hung-task report, -1 for none
}

// Fault is a faulting memory access.
type Fault struct {
	// Address is the faulting address as the kernel printed it (hex);
	// "" when not printed (a general protection fault on a canonical
	// address).
	Address string `json:"address,omitempty"`
	// Reason is the kernel's words: "kernel NULL pointer dereference",
	// "unable to handle page fault", "general protection fault, probably
	// for non-canonical address", ...
	Reason string `json:"reason"`
	// Access is "read", "write" or "instruction fetch", and Mode
	// "kernel" or "user" ("#PF: supervisor write access in kernel
	// mode"); "" when not printed.
	Access string `json:"access,omitempty"`
	Mode   string `json:"mode,omitempty"`
	// ErrorCode is the page-fault error code's explanation
	// ("error_code(0x0002) - not-present page").
	ErrorCode string `json:"error_code,omitempty"`
	// IP is the faulting instruction as the RIP line names it
	// ("sysrq_handle_crash+0x16/0x20"), with its module in brackets when
	// in one.
	IP string `json:"ip,omitempty"`
}

// Location is a source position the kernel reported.
type Location struct {
	File string `json:"file"`
	Line int    `json:"line"`
	// Function is the function a warning names ("at FILE:LINE FUNC+off").
	Function string `json:"function,omitempty"`
}

// OOM is an out-of-memory report.
type OOM struct {
	// Invoker is the task whose allocation failed ("X invoked
	// oom-killer"), with the allocation's GFP mask and order.
	Invoker string `json:"invoker,omitempty"`
	GFPMask string `json:"gfp_mask,omitempty"`
	Order   int    `json:"order"`
	// Constraint is the OOM constraint (CONSTRAINT_NONE, _CPUSET,
	// _MEMORY_POLICY, _MEMCG) when the log names it, else what the panic
	// message says ("system-wide", "compulsory").
	Constraint string `json:"constraint,omitempty"`
	// Victim is the task the OOM killer chose, when it chose one before
	// the panic (with panic_on_oom it does not).
	Victim *TaskRef `json:"victim,omitempty"`
	// Largest is the task with the largest resident set in the OOM
	// killer's task dump ("[  pid  ]   uid  tgid total_vm      rss ..."),
	// RSSPages its rss column.
	Largest  *TaskRef `json:"largest,omitempty"`
	RSSPages uint64   `json:"rss_pages,omitempty"`
}

// HungTask is a task khungtaskd reported blocked.
type HungTask struct {
	PID     int    `json:"pid"`
	Comm    string `json:"comm"`
	Seconds int    `json:"seconds"`
}

// Lockup is a soft or hard lockup.
type Lockup struct {
	CPU     int    `json:"cpu"`
	Seconds int    `json:"seconds,omitempty"`
	PID     int    `json:"pid,omitempty"`
	Comm    string `json:"comm,omitempty"`
}

// TaskRef names a task.
type TaskRef struct {
	PID  int    `json:"pid"`
	Comm string `json:"comm"`
	// Task is the task_struct's address, 0 when only the log named it.
	Task arch.Word `json:"task,omitempty"`
}

var (
	rePanic      = lazy(`^Kernel panic - not syncing: ?(.*)$`)
	reContext    = lazy(`^CPU: (\d+) (?:UID: \d+ )?PID: (\d+) Comm: (\S+)`)
	reNullDeref  = lazy(`^BUG: kernel NULL pointer dereference, address: ([0-9a-fx]+)`)
	rePageFault  = lazy(`^BUG: unable to handle (?:page fault for address|kernel paging request at|kernel NULL pointer dereference at): ?([0-9a-fx]+)`)
	rePFAccess   = lazy(`^#PF: (supervisor|user) (read|write|instruction fetch) access in (kernel|user) mode`)
	rePFError    = lazy(`^#PF: (error_code\(.*)$`)
	reGPF        = lazy(`^(?:Oops: )?(general protection fault(?:, (?:probably for non-canonical address|maybe for address) (0x[0-9a-f]+))?)`)
	reBug        = lazy(`^kernel BUG at ([^:]+):(\d+)!`)
	reWarning    = lazy(`^WARNING: CPU: (\d+) PID: (\d+) at ([^:]+):(\d+) ([^+ ]+)`)
	reRIP        = lazy(`^RIP: 0010:(\S+(?: \[\S+\])?)`)
	reOOMInvoke  = lazy(`^(.+) invoked oom-killer: gfp_mask=(0x[0-9a-f]+(?:\([^)]*\))?), order=(-?\d+)`)
	reOOMKill    = lazy(`^oom-kill:constraint=(\w+),.*,task=([^,]*),pid=(\d+)`)
	reOOMTask    = lazy(`^\[\s*(\d+)\]\s+\d+\s+\d+\s+\d+\s+(\d+)\s.*\s(\S+)$`)
	reOOMKilled  = lazy(`^(?:Out of memory|Memory cgroup out of memory): Kill(?:ed)? process (\d+) \(([^)]*)\)`)
	reHung       = lazy(`^INFO: task (.+):(\d+) blocked for more than (\d+) seconds\.`)
	reSoftLockup = lazy(`^(?:watchdog: )?BUG: soft lockup - CPU#(\d+) stuck for (\d+)s! \[(.*):(\d+)\]`)
	reHardLockup = lazy(`(?:Watchdog detected hard LOCKUP on cpu|NMI watchdog: Watchdog detected hard LOCKUP on cpu) (\d+)`)
	reRCUStall   = lazy(`^(?:rcu: )?INFO: rcu_\w+ (?:detected stalls on CPUs/tasks|self-detected stall on CPU)`)
	reMCE        = lazy(`^(?:mce: )?\[Hardware Error\]|^Machine check|^mce: `)
)

// Classify tells the kind of failure from the kernel log's lines (each
// a record's text, without timestamps), in log order. The panic message
// is the last "Kernel panic - not syncing" line (or the last oops when
// the machine did not get to panic); the report that led to it is looked
// for before it, back to the previous panic of an earlier boot in the
// same buffer.
func Classify(lines []string) Failure {
	f := Failure{CPU: -1, traceFrom: -1, firstHung: -1}
	if len(lines) == 0 {
		f.Kind = KindUnknown
		return f
	}
	end := -1
	for i := len(lines) - 1; i >= 0; i-- {
		if m := rePanic.FindStringSubmatch(lines[i]); m != nil {
			end = i
			f.Message = strings.TrimSpace(m[1])
			break
		}
	}
	for i := end + 1; end >= 0 && i < len(lines); i++ {
		if strings.HasPrefix(lines[i], "Linux version ") {
			// The panic was an earlier boot's, whose records the buffer
			// kept; this boot did not panic.
			end, f.Message = -1, ""
		}
	}
	// The window: from after the previous boot's banner (a log buffer can
	// hold an earlier boot's panic) to the panic line (or the end).
	stop := end
	if stop < 0 {
		stop = len(lines) - 1
	}
	start := 0
	for i := stop; i >= 0; i-- {
		if strings.HasPrefix(lines[i], "Linux version ") {
			start = i
			break
		}
	}
	win := lines[start : stop+1]
	var decided []string
	note := func(s string) { decided = append(decided, s) }

	// The last report in the window decides; scan backwards for it.
	trig := -1
	for i := len(win) - 1; i >= 0 && trig < 0; i-- {
		if k := reportKind(win[i]); k != "" {
			f.Kind, trig = k, i
		}
	}
	scanned := f.Kind
	// The panic message has the last word where it is specific: a sysrq
	// oops on an old kernel is still sysrq; a warning before an OOM
	// panic is not what killed the machine.
	msg := f.Message
	switch {
	case strings.HasPrefix(msg, "sysrq triggered crash"):
		f.Kind = KindSysrq
	case strings.HasPrefix(msg, "hung_task: blocked tasks"):
		f.Kind = KindHungTask
	case strings.HasPrefix(msg, "Out of memory") || strings.HasPrefix(msg, "System is deadlocked on memory"):
		f.Kind = KindOOM
	case strings.HasPrefix(msg, "softlockup: hung tasks"):
		f.Kind = KindSoftLockup
	case strings.HasPrefix(msg, "Hard LOCKUP"):
		f.Kind = KindHardLockup
	case strings.HasPrefix(msg, "RCU Stall"):
		f.Kind = KindRCUStall
	case strings.Contains(msg, "machine check") || strings.Contains(msg, "Machine check") || strings.HasPrefix(msg, "MCE"):
		f.Kind = KindMachineCheck
	case strings.Contains(msg, "panic_on_warn set"):
		f.Kind = KindWarning
	}
	if f.Kind != scanned {
		// The panic message overrode the scan: find the kind's own line.
		trig = -1
		for i := len(win) - 1; i >= 0; i-- {
			if kindMatches(f.Kind, win[i]) {
				trig = i
				break
			}
		}
	}
	if f.Kind == "" {
		switch {
		case end >= 0:
			f.Kind = KindUnknown
		default:
			f.Kind = KindNone
		}
	}
	if trig >= 0 {
		f.Trigger = win[trig]
		note(win[trig])
		if f.Message == "" && f.Kind != KindNone {
			f.Message = win[trig]
		}
		f.details(win, trig)
	}
	// The context the kernel printed with its report (the first
	// "CPU: N PID: N Comm:" line after the trigger), else the panic's.
	from := stop
	if trig >= 0 {
		from = start + trig
	}
	for i := max(from, 0); i < len(lines) && i <= stop+5; i++ {
		if m := reContext.FindStringSubmatch(lines[i]); m != nil {
			f.CPU, _ = strconv.Atoi(m[1])
			f.PID, _ = strconv.Atoi(m[2])
			f.Comm = m[3]
			break
		}
	}
	if end >= 0 {
		note(lines[end])
	}
	f.Lines = decided
	// The first trace after the report is the report's own (an oops, a
	// blocked task, the OOM killer's), or the panic's right after the
	// panic line (sysrq, a warning).
	switch {
	case f.Kind == KindHungTask && f.firstHung >= 0:
		f.traceFrom = start + f.firstHung
	case trig >= 0:
		f.traceFrom = start + trig
	case end >= 0:
		f.traceFrom = end
	}
	f.traceEnd = min(len(lines), stop+1+panicTraceLines)
	return f
}

// panicTraceLines is how far past the panic line its call trace is
// looked for.
const panicTraceLines = 40

// reports are the lines that report a failure, by kind, in the order
// they are tried on a line.
var reports = []struct {
	kind  Kind
	match func(string) bool
}{
	{KindSysrq, func(l string) bool {
		return strings.Contains(l, "sysrq: Trigger a crash") || strings.Contains(l, "SysRq : Trigger a crash")
	}},
	{KindBug, reBug.MatchString},
	{KindOops, func(l string) bool { return reNullDeref.MatchString(l) || rePageFault.MatchString(l) }},
	{KindGPF, reGPF.MatchString},
	{KindHungTask, reHung.MatchString},
	{KindSoftLockup, reSoftLockup.MatchString},
	{KindHardLockup, reHardLockup.MatchString},
	{KindRCUStall, reRCUStall.MatchString},
	{KindOOM, reOOMInvoke.MatchString},
	{KindWarning, reWarning.MatchString},
	{KindMachineCheck, reMCE.MatchString},
}

// reportKind is the kind of failure a log line reports, "" for none.
func reportKind(l string) Kind {
	for _, r := range reports {
		if r.match(l) {
			return r.kind
		}
	}
	return ""
}

// kindMatches says whether a log line is the report of kind k.
func kindMatches(k Kind, l string) bool {
	for _, r := range reports {
		if r.kind == k {
			return r.match(l)
		}
	}
	return false
}

// details fills the kind's own fields from the report at win[trig] and
// the lines after it.
func (f *Failure) details(win []string, trig int) {
	after := win[trig:]
	switch f.Kind {
	case KindOops, KindGPF, KindSysrq, KindBug:
		if m := reBug.FindStringSubmatch(win[trig]); m != nil {
			n, _ := strconv.Atoi(m[2])
			f.Location = &Location{File: m[1], Line: n}
		}
		// A sysrq crash on kernels before 5.x oopses on a NULL pointer;
		// the fault is then part of the report too.
		for i, l := range after {
			if i > 60 {
				break
			}
			if m := reNullDeref.FindStringSubmatch(l); m != nil {
				f.fault().Address, f.fault().Reason = m[1], "kernel NULL pointer dereference"
			} else if m := rePageFault.FindStringSubmatch(l); m != nil {
				f.fault().Address = m[1]
				reason := strings.TrimPrefix(l, "BUG: ")
				for _, cut := range []string{" for address", " at", ":"} {
					reason, _, _ = strings.Cut(reason, cut)
				}
				f.fault().Reason = reason
			} else if m := reGPF.FindStringSubmatch(l); m != nil && f.Kind == KindGPF {
				f.fault().Reason = strings.TrimSuffix(strings.TrimSuffix(m[1], m[2]), " ")
				f.fault().Address = m[2]
			} else if m := rePFAccess.FindStringSubmatch(l); m != nil && f.Fault != nil {
				f.Fault.Access, f.Fault.Mode = m[2], m[3]
			} else if m := rePFError.FindStringSubmatch(l); m != nil && f.Fault != nil {
				f.Fault.ErrorCode = m[1]
			} else if m := reRIP.FindStringSubmatch(l); m != nil {
				if f.Fault != nil && f.Fault.IP == "" {
					f.Fault.IP = m[1]
				}
				if f.Location != nil && f.Location.Function == "" {
					f.Location.Function = frameName(m[1])
				}
				break
			}
		}
		if f.Fault != nil {
			f.Fault.Reason = strings.TrimSuffix(f.Fault.Reason, ",")
		}
	case KindWarning:
		m := reWarning.FindStringSubmatch(win[trig])
		n, _ := strconv.Atoi(m[4])
		f.Location = &Location{File: m[3], Line: n, Function: frameName(m[5])}
	case KindHungTask:
		for i, l := range win {
			if m := reHung.FindStringSubmatch(l); m != nil {
				if f.firstHung < 0 {
					f.firstHung = i
				}
				pid, _ := strconv.Atoi(m[2])
				s, _ := strconv.Atoi(m[3])
				f.Hung = append(f.Hung, HungTask{PID: pid, Comm: m[1], Seconds: s})
			}
		}
	case KindSoftLockup:
		m := reSoftLockup.FindStringSubmatch(win[trig])
		cpu, _ := strconv.Atoi(m[1])
		s, _ := strconv.Atoi(m[2])
		pid, _ := strconv.Atoi(m[4])
		f.Lockup = &Lockup{CPU: cpu, Seconds: s, PID: pid, Comm: m[3]}
	case KindHardLockup:
		m := reHardLockup.FindStringSubmatch(win[trig])
		cpu, _ := strconv.Atoi(m[1])
		f.Lockup = &Lockup{CPU: cpu}
	case KindOOM:
		m := reOOMInvoke.FindStringSubmatch(win[trig])
		o := &OOM{Invoker: m[1], GFPMask: m[2]}
		o.Order, _ = strconv.Atoi(m[3])
		for _, l := range after {
			if m := reOOMKill.FindStringSubmatch(l); m != nil {
				o.Constraint = m[1]
				pid, _ := strconv.Atoi(m[3])
				o.Victim = &TaskRef{PID: pid, Comm: m[2]}
			} else if m := reOOMKilled.FindStringSubmatch(l); m != nil && o.Victim == nil {
				pid, _ := strconv.Atoi(m[1])
				o.Victim = &TaskRef{PID: pid, Comm: m[2]}
			} else if m := reOOMTask.FindStringSubmatch(l); m != nil {
				rss, _ := strconv.ParseUint(m[2], 10, 64)
				if o.Largest == nil || rss > o.RSSPages {
					pid, _ := strconv.Atoi(m[1])
					o.Largest, o.RSSPages = &TaskRef{PID: pid, Comm: m[3]}, rss
				}
			}
		}
		if o.Constraint == "" {
			switch {
			case strings.Contains(f.Message, "system-wide panic_on_oom"):
				o.Constraint = "system-wide"
			case strings.Contains(f.Message, "compulsory panic_on_oom"):
				o.Constraint = "compulsory"
			}
		}
		f.OOM = o
	}
}

func (f *Failure) fault() *Fault {
	if f.Fault == nil {
		f.Fault = &Fault{}
	}
	return f.Fault
}
