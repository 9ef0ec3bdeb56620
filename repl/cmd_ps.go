package repl

import (
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/vmcoretools/vmcore/tasks"
)

func init() {
	register(&Command{
		Name:    "ps",
		Usage:   "[-k|-u|-G|-y policy] [-s] [-p|-c|-t|-[l|m][-C cpu]|-a|-g|-r|-S|-A|-Y] [-H] [-I] [pid | task | command] ...",
		Summary: "display process status information",
		Help: `Lists every task as crash's ps does: pid, parent pid, CPU, task_struct
address, state (RU IN UN ID ZO ST TR DE PA WA NE), %MEM, VSZ and RSS in
KiB, and the command; kernel threads in [brackets]; '>' marks the task a
CPU was running. Arguments select tasks by pid, task address, command
name (a leading '\' takes a name that looks like a number) or a POSIX
regular expression in single quotes.

  -k  kernel threads only
  -u  user tasks only
  -G  thread-group leaders only
  -y  policies (NORMAL FIFO RR BATCH ISO IDLE DEADLINE, or their numbers,
      comma-separated): only tasks scheduled with one of them
  -s  the saved kernel stack pointer (KSTACKP) instead of the task address
  -I  leave out the idle tasks
  -H  no header line
One of:
  -p  each selected task's line of parents, from pid 0
  -c  each selected task's children
  -t  run time, start time and user and system CPU time (ns), oldest
      first; the run time is the latest runqueue clock minus start_time
      (crash converts through HZ instead, and may differ by rounding)
  -l  sched_info.last_arrival (ns, decimal) and state before each header,
      most recently run first
  -m  as -l, as days hh:mm:ss.ms before the CPU's runqueue clock
  -C  with -l or -m: per-CPU blocks, of CPUs "1,3,5-7" or "all"
  -a  the command line and environment, read from the task's user memory
      (a dump without user pages cannot show them)
  -g  each thread-group leader and its threads
  -r  resource limits (signal->rlim)
  -S  the number of tasks in each state
  -A  the task active on each CPU
  -Y  scheduling policy and priority instead of state and memory`,
		Options:      []string{"-k", "-u", "-G", "-y", "-s", "-I", "-H", "-p", "-c", "-t", "-l", "-m", "-C", "-a", "-g", "-r", "-S", "-A", "-Y"},
		NeedsVMLinux: true,
		Run:          runPs,
	})
	delete(planned, "ps")
}

// taskTables caches one task table per session: the dump never changes.
var taskTables sync.Map // *Session -> *taskTableEntry

type taskTableEntry struct {
	once sync.Once
	tb   *tasks.Table
	err  error
}

// TaskTable walks the dump's tasks once per session.
func (s *Session) TaskTable() (*tasks.Table, error) {
	if s.Kernel != nil {
		return s.Kernel.Tasks() // one table for every command and the tracer
	}
	v, err := s.Values()
	if err != nil {
		return nil, err
	}
	e, _ := taskTables.LoadOrStore(s, &taskTableEntry{})
	ent := e.(*taskTableEntry)
	ent.once.Do(func() { ent.tb, ent.err = tasks.Load(v) })
	return ent.tb, ent.err
}

// selectTasks resolves crash's task arguments: a decimal pid, a hex task
// address, or a command name.
func selectTasks(tb *tasks.Table, args []string) ([]*tasks.Task, error) {
	var out []*tasks.Task
	for _, a := range args {
		if strings.HasPrefix(a, "\\") {
			out = appendComm(out, tb, a[1:])
			continue
		}
		if pid, err := strconv.Atoi(a); err == nil {
			ts := tb.ByPID(pid)
			if len(ts) == 0 {
				return out, fmt.Errorf("invalid task or pid value: %s", a)
			}
			out = append(out, ts...)
			continue
		}
		if addr, ok := parseHex(a); ok {
			if t := tb.ByAddr(addr); t != nil {
				out = append(out, t)
				continue
			}
			if strings.HasPrefix(a, "0x") || len(a) >= 8 {
				return out, fmt.Errorf("invalid task or pid value: %s", a)
			}
		}
		// A command no task runs selects nothing, silently, as in crash.
		out = appendComm(out, tb, a)
	}
	return out, nil
}

func appendComm(out []*tasks.Task, tb *tasks.Table, comm string) []*tasks.Task {
	for _, t := range tb.Tasks {
		if t.Comm == comm {
			out = append(out, t)
		}
	}
	return out
}

// psMode is the one display mode of ps's mutually exclusive options.
type psMode int

const (
	psLines      psMode = iota // the table (default)
	psThreads                  // -g
	psArgs                     // -a
	psTimes                    // -t
	psChildren                 // -c
	psParents                  // -p
	psLastRun                  // -l
	psRlimits                  // -r
	psSince                    // -m
	psSummary                  // -S
	psActive                   // -A
	psPolicyData               // -Y
)

// psExclusive is crash's message for two display modes at once.
const psExclusive = "-a, -t, -c, -p, -g, -l, -m, -S, -r and -A flags are all mutually-exclusive"

// psOptions are ps's options as crash's show_ps_data applies them.
type psOptions struct {
	mode         psMode
	kernel, user bool
	group        bool   // -G: thread-group leaders only
	kstackp      bool   // -s: the saved stack pointer instead of the task
	noHeader     bool   // -H
	excludeIdle  bool   // -I
	policies     uint32 // -y: bit 1<<policy per accepted policy; 0 = any
	cpus         []bool // -C: per-CPU blocks of -l / -m
	specified    bool   // tasks were named (crash's TASK_SPECIFIED)
}

// psState is one ps run: its options, the task order (crash's context
// array, by pid or, for -l and -m, by last run), and what -G and -g have
// shown already.
type psState struct {
	c         *Context
	tb        *tasks.Table
	o         psOptions
	order     []*tasks.Task
	shown     map[*tasks.Task]bool
	idleShown bool
}

func newPsState(c *Context, tb *tasks.Table, o psOptions) *psState {
	st := &psState{c: c, tb: tb, o: o, order: tb.Tasks, shown: map[*tasks.Task]bool{}}
	if o.mode == psLastRun || o.mode == psSince {
		st.order = byLastRun(tb)
	}
	return st
}

// byLastRun is the task table most recently run first, as crash sorts its
// context array for -l and -m (stable: glibc's qsort merges).
func byLastRun(tb *tasks.Table) []*tasks.Task {
	o := append([]*tasks.Task(nil), tb.Tasks...)
	sort.SliceStable(o, func(i, j int) bool { return o[i].LastRun > o[j].LastRun })
	return o
}

func setPsMode(o *psOptions, m psMode) error {
	if o.mode != psLines && o.mode != m {
		return errors.New(psExclusive)
	}
	o.mode = m
	return nil
}

// psArg is one task argument of ps: a pid, a task address, a command
// name or a quoted regular expression.
type psArg struct {
	kind int // argPID, argTask, argComm, argRegex, or argInvalid
	val  uint64
	comm string
	re   *regexp.Regexp
}

const (
	argInvalid = iota
	argPID
	argTask
	argComm
	argRegex
)

// isNumber is crash's IS_A_NUMBER: decimal or hexadecimal digits.
func isNumber(s string) bool {
	t := strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X")
	if t == "" {
		return false
	}
	for _, ch := range t {
		if !strings.ContainsRune("0123456789abcdefABCDEF", ch) {
			return false
		}
	}
	return true
}

// contextTasks resolves a pid or task-address argument (strToContext):
// the tasks it names (a pid can name several), whether it was a pid, and
// ok false when it names none.
func contextTasks(tb *tasks.Table, s string) (ts []*tasks.Task, byPID, ok bool) {
	switch kind, val := strToContext(tb, s); kind {
	case argPID:
		return tb.ByPID(int(val)), true, true
	case argTask:
		return []*tasks.Task{tb.ByAddr(val)}, false, true
	}
	return nil, false, false
}

// strToContext is crash's str_to_context: a number is a pid or a task
// address, decimal tried before hexadecimal; ambiguity or no match is
// argInvalid.
func strToContext(tb *tasks.Table, s string) (kind int, val uint64) {
	const bad = ^uint64(0)
	dv, hv := bad, bad
	if d, err := strconv.ParseUint(s, 10, 64); err == nil {
		dv = d
	}
	if h, ok := parseHex(s); ok {
		hv = h
	}
	type hit struct {
		kind int
		val  uint64
	}
	var hits []hit
	var dp, hp bool
	if dv != bad {
		if dv < 1<<31 && len(tb.ByPID(int(dv))) > 0 {
			hits, dp = append(hits, hit{argPID, dv}), true
		}
		if tb.ByAddr(dv) != nil {
			hits = append(hits, hit{argTask, dv})
		}
	}
	if hv != bad && hv != dv {
		if hv < 1<<31 && len(tb.ByPID(int(hv))) > 0 {
			hits, hp = append(hits, hit{argPID, hv}), true
		}
		if tb.ByAddr(hv) != nil {
			hits = append(hits, hit{argTask, hv})
		}
	}
	switch len(hits) {
	case 1:
		return hits[0].kind, hits[0].val
	case 2:
		if dp && hp {
			return argPID, dv
		}
	}
	return argInvalid, 0
}

func (a psArg) matches(t *tasks.Task, leadersOnly bool) bool {
	switch a.kind {
	case argPID:
		return uint64(t.PID) == a.val
	case argTask:
		return t.Addr == a.val
	case argComm:
		return t.Comm == a.comm && (!leadersOnly || t.PID == t.TGID)
	case argRegex:
		return a.re.MatchString(t.Comm) && (!leadersOnly || t.PID == t.TGID)
	}
	return false
}

// quotedRegex returns the expression of a 'quoted' argument.
func quotedRegex(s string) (string, bool) {
	if len(s) >= 2 && s[0] == '\'' && s[len(s)-1] == '\'' {
		return s[1 : len(s)-1], true
	}
	return "", false
}

var policyNames = []string{"NORMAL", "FIFO", "RR", "BATCH", "ISO", "IDLE", "DEADLINE"}

// parsePolicies reads -y's comma-separated policies as crash does: a
// name (case-insensitive; a longer word starting with one counts), a
// digit or 0xN.
func parsePolicies(s string) (uint32, error) {
	var mask uint32
	for _, p := range strings.Split(s, ",") {
		up := strings.ToUpper(p)
		found := false
		for v, name := range policyNames {
			if strings.HasPrefix(up, name) || up == strconv.Itoa(v) || strings.HasPrefix(up, fmt.Sprintf("0X%X", v)) && len(up) == 3 {
				mask |= 1 << v
				found = true
				break
			}
		}
		if !found {
			return 0, fmt.Errorf("%s: invalid scheduling policy", p)
		}
	}
	return mask, nil
}

func policyName(p uint32) string {
	if int(p) < len(policyNames) {
		return policyNames[p]
	}
	return "UNKNOWN"
}

// parseCPUs reads a CPU list as crash's -C: "1,3,5-7", "all" or "a".
func parseCPUs(s string, n int) ([]bool, error) {
	set := make([]bool, n)
	if s == "all" || s == "a" {
		for i := range set {
			set[i] = true
		}
		return set, nil
	}
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err1 := strconv.Atoi(lo)
		b := a
		var err2 error
		if isRange {
			b, err2 = strconv.Atoi(hi)
		}
		if err1 != nil || err2 != nil || a < 0 || b < a {
			return nil, fmt.Errorf("invalid cpu specification: %s", s)
		}
		for i := a; i <= b && i < n; i++ {
			set[i] = true
		}
	}
	return set, nil
}

func runPs(c *Context, args []string) error {
	opts, rest, err := getopt(args, "HAISgstcpkuGlmarY", "Cy")
	if err != nil {
		return err
	}
	tb, err := c.Session.TaskTable()
	if err != nil {
		return err
	}
	var o psOptions
	var cpuSpec string
	for _, op := range opts {
		var err error
		switch op.name {
		case "k":
			if o.user {
				return errors.New("-u and -k are mutually exclusive")
			}
			o.kernel = true
		case "u":
			if o.kernel {
				return errors.New("-u and -k are mutually exclusive")
			}
			o.user = true
		case "G":
			o.group = true
		case "g":
			err = setPsMode(&o, psThreads)
		case "a":
			err = setPsMode(&o, psArgs)
		case "t":
			err = setPsMode(&o, psTimes)
		case "c":
			err = setPsMode(&o, psChildren)
		case "p":
			err = setPsMode(&o, psParents)
		case "m":
			err = setPsMode(&o, psSince)
		case "l":
			err = setPsMode(&o, psLastRun)
		case "r":
			err = setPsMode(&o, psRlimits)
		case "S":
			err = setPsMode(&o, psSummary)
		case "A":
			err = setPsMode(&o, psActive)
		case "Y":
			err = setPsMode(&o, psPolicyData)
		case "s":
			o.kstackp = true
		case "H":
			o.noHeader = true
		case "I":
			o.excludeIdle = true
		case "C":
			cpuSpec = op.val
		case "y":
			o.policies, err = parsePolicies(op.val)
		}
		if err != nil {
			return err
		}
	}
	if cpuSpec != "" {
		if o.cpus, err = parseCPUs(cpuSpec, len(tb.Clocks)); err != nil {
			return err
		}
		if o.mode != psLastRun && o.mode != psSince {
			fmt.Fprintf(c.Err, "ps: -C option is only applicable with -l and -m\n")
			return nil
		}
	}
	if len(rest) == 0 {
		return newPsState(c, tb, o).showAll()
	}
	if o.mode == psSummary {
		return errors.New("-S option takes no arguments")
	}
	if o.cpus != nil {
		fmt.Fprintf(c.Err, "ps: -C option is not applicable with specified tasks\n")
		o.cpus = nil
	}
	var sel []psArg
	for _, a := range rest {
		switch re, quoted := quotedRegex(a); {
		case isNumber(a):
			kind, val := strToContext(tb, a)
			if kind == argInvalid {
				fmt.Fprintf(c.Err, "ps: invalid task or pid value: %s\n\n", a)
			}
			sel = append(sel, psArg{kind: kind, val: val})
		case quoted:
			rx, err := regexp.Compile(re)
			if err != nil {
				return fmt.Errorf("invalid regular expression: %s", re)
			}
			sel = append(sel, psArg{kind: argRegex, re: rx})
		default:
			sel = append(sel, psArg{kind: argComm, comm: truncComm(strings.TrimPrefix(a, "\\"))})
		}
	}
	o.specified = true
	return newPsState(c, tb, o).showSelected(sel)
}

// truncComm cuts a name to what task_struct.comm holds (15 bytes).
func truncComm(s string) string {
	if len(s) > 15 {
		return s[:15]
	}
	return s
}

// header prints ps's column header unless the mode has its own layout.
func (st *psState) header() {
	w := st.c.Out
	if st.o.noHeader {
		return
	}
	col := centerIn("TASK", 16, false)
	if st.o.kstackp {
		col = centerIn("KSTACKP", 16, true)
	}
	switch st.o.mode {
	case psLines, psActive:
		fmt.Fprintf(w, "      PID    PPID  CPU %s  ST  %%MEM      VSZ      RSS  COMM\n", col)
	case psPolicyData:
		fmt.Fprintf(w, "      PID    PPID  CPU %s  POLICY       PRIO  COMM\n", col)
	}
}

func (st *psState) showAll() error {
	st.header()
	switch {
	case st.o.mode == psTimes:
		return st.showTimes(nil)
	case st.o.mode == psSummary:
		return st.showSummary()
	case st.o.cpus != nil:
		return st.showPerCPU()
	}
	for _, t := range st.order {
		if err := st.c.Stopped(); err != nil {
			return err
		}
		if err := st.showData(t, true); err != nil {
			return err
		}
	}
	return nil
}

func (st *psState) showSelected(sel []psArg) error {
	st.header()
	leaders := st.o.mode == psThreads || st.o.group
	for _, t := range st.order {
		if err := st.c.Stopped(); err != nil {
			return err
		}
		for _, a := range sel {
			if !a.matches(t, leaders) {
				continue
			}
			var err error
			if st.o.mode == psTimes {
				err = st.showTimes(t)
			} else {
				err = st.showData(t, false)
			}
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// leader returns the thread-group leader of t.
func (st *psState) leader(t *tasks.Task) *tasks.Task {
	if t.PID == t.TGID {
		return t
	}
	for _, l := range st.tb.ByPID(t.TGID) {
		return l
	}
	return nil
}

// showData is crash's show_ps_data: one task in the chosen mode.
func (st *psState) showData(t *tasks.Task, all bool) error {
	o, w, tb := &st.o, st.c.Out, st.tb
	if o.user && t.KernelThread() || o.kernel && !t.KernelThread() {
		return nil
	}
	if o.policies != 0 && o.policies&(1<<t.Policy) == 0 {
		return nil
	}
	if o.excludeIdle && t.PID == 0 {
		return nil
	}
	if o.group {
		if o.mode == psLastRun || o.mode == psSince {
			flag := "l"
			if o.mode == psSince {
				flag = "m"
			}
			return fmt.Errorf("-G not supported with -%s option", flag)
		}
		if t.PID != t.TGID {
			if !o.specified {
				return nil
			}
			if t = st.leader(t); t == nil {
				return nil
			}
		}
		if st.shown[t] {
			return nil
		}
		st.shown[t] = true
	}
	switch o.mode {
	case psPolicyData:
		fmt.Fprintf(w, "%s%7d %7d %3d  %s  %-12s %4d  %s\n", activeMark(t), t.PID, t.PPID, t.CPU,
			st.taskColumn(t), policyName(t.Policy), t.Prio, psComm(t))
	case psParents:
		writeParents(w, tb, t)
		fmt.Fprintln(w)
	case psChildren:
		writeChildren(w, tb, t)
		fmt.Fprintln(w)
	case psLastRun:
		fmt.Fprintf(w, "[%*d] [%s]  ", st.lastRunWidth(), t.LastRun, t.StateString())
		writeTaskHeader(w, t)
	case psSince:
		clock := st.clock(t.CPU)
		fmt.Fprintf(w, "[%s] [%s]  ", sinceLastRun(clock, t.LastRun), t.StateString())
		writeTaskHeader(w, t)
	case psArgs:
		st.showArgs(t)
	case psRlimits:
		return st.showRlimits(t)
	case psThreads:
		st.showThreads(t)
	default:
		if o.mode == psActive && all && !t.Active {
			return nil
		}
		writePsLineCol(w, tb, t, st.taskColumn(t))
	}
	return nil
}

func activeMark(t *tasks.Task) string {
	if t.Active {
		return "> "
	}
	return "  "
}

// taskColumn is the TASK column, or with -s the KSTACKP one: the saved
// stack pointer of a sleeping task, "--" for one running at the crash.
func (st *psState) taskColumn(t *tasks.Task) string {
	if !st.o.kstackp {
		return fmt.Sprintf("%016x", t.Addr)
	}
	if t.Active || t.ThreadSP == 0 {
		return centerIn("--", 16, true)
	}
	return centerIn(strconv.FormatUint(t.ThreadSP, 16), 16, true)
}

// centerIn centers s in width columns as crash's mkstring(CENTER): an odd
// leftover space goes left when rjust, right otherwise.
func centerIn(s string, width int, rjust bool) string {
	extra := width - len(s)
	if extra <= 0 {
		return s
	}
	left := extra / 2
	if extra%2 == 1 && rjust {
		left++
	}
	return strings.Repeat(" ", left) + s + strings.Repeat(" ", extra-left)
}

func (st *psState) clock(cpu int) uint64 {
	if cpu >= 0 && cpu < len(st.tb.Clocks) {
		return st.tb.Clocks[cpu]
	}
	return 0
}

// lastRunWidth is the width of the largest last-run stamp of all tasks,
// which crash pads every -l stamp to.
func (st *psState) lastRunWidth() int {
	var m uint64
	for _, t := range st.tb.Tasks {
		m = max(m, t.LastRun)
	}
	return len(strconv.FormatUint(m, 10))
}

// nanosDHMS is crash's translate_nanoseconds: "D HH:MM:SS.mmm".
func nanosDHMS(ns uint64) string {
	ms := ns / 1e6
	s := ms / 1000
	return fmt.Sprintf("%d %02d:%02d:%02d.%03d", s/86400, s/3600%24, s/60%60, s%60, ms%1000)
}

// sinceLastRun is -m's stamp: how long before its CPU's runqueue clock
// the task last ran, the days padded to the clock's width.
func sinceLastRun(clock, last uint64) string {
	d := int64(clock - last)
	if d < 0 {
		d = 0
	}
	s := nanosDHMS(uint64(d))
	daysW := strings.IndexByte(nanosDHMS(clock), ' ')
	if n := strings.IndexByte(s, ' '); n < daysW {
		s = strings.Repeat(" ", daysW-n) + s
	}
	return s
}

// showPerCPU prints -l or -m in per-CPU blocks (-C).
func (st *psState) showPerCPU() error {
	w := st.c.Out
	n := 0
	for cpu, on := range st.o.cpus {
		if !on {
			continue
		}
		if n > 0 {
			fmt.Fprintln(w)
		}
		n++
		fmt.Fprintf(w, "CPU: %d\n", cpu)
		for _, t := range st.order {
			if t.CPU != cpu || st.o.excludeIdle && t.PID == 0 {
				continue
			}
			if st.o.mode == psLastRun {
				fmt.Fprintf(w, "[%*d] ", st.lastRunWidth(), t.LastRun)
			} else {
				fmt.Fprintf(w, "[%s] ", sinceLastRun(st.clock(cpu), t.LastRun))
			}
			fmt.Fprintf(w, "[%s]  ", t.StateString())
			writeTaskHeader(w, t)
		}
	}
	return nil
}

func (st *psState) showSummary() error {
	o := st.o
	if o.user || o.kernel || o.group || o.excludeIdle {
		return errors.New("-S option cannot be used with other options")
	}
	var names []string
	counts := map[string]int{}
	for _, t := range st.order {
		s := t.StateString()
		if counts[s] == 0 {
			names = append(names, s)
		}
		counts[s]++
	}
	for _, s := range names {
		fmt.Fprintf(st.c.Out, "  %s: %d\n", s, counts[s])
	}
	return nil
}

// showTimes prints -t, oldest first; with a task, that task alone.
func (st *psState) showTimes(one *tasks.Task) error {
	o := st.o
	var list []*tasks.Task
	if one != nil {
		t := one
		if o.group && t.PID != t.TGID {
			if t = st.leader(t); t == nil {
				return nil
			}
		}
		if o.group {
			if st.shown[t] {
				return nil
			}
			st.shown[t] = true
		}
		list = []*tasks.Task{t}
	} else {
		for _, t := range st.order {
			if o.user && t.KernelThread() || o.kernel && !t.KernelThread() || o.excludeIdle && t.PID == 0 {
				continue
			}
			if o.group {
				if t.PID != t.TGID {
					continue
				}
				if st.shown[t] {
					break
				}
				st.shown[t] = true
			}
			list = append(list, t)
		}
	}
	sort.SliceStable(list, func(i, j int) bool { return list[i].StartTime < list[j].StartTime })
	w := st.c.Out
	for _, t := range list {
		writeTaskHeader(w, t)
		run := uint64(0)
		if st.tb.Clock > t.StartTime {
			run = st.tb.Clock - t.StartTime
		}
		fmt.Fprintf(w, "    RUN TIME: %s\n", runTime(run))
		fmt.Fprintf(w, "  START TIME: %d\n", t.StartTime)
		fmt.Fprintf(w, "       UTIME: %d\n", t.UTime)
		fmt.Fprintf(w, "       STIME: %d\n\n", t.STime)
	}
	return nil
}

// showArgs prints -a: the command line and environment from the task's
// user memory, as crash: arguments space-separated, one variable a line.
func (st *psState) showArgs(t *tasks.Task) {
	w := st.c.Out
	writeTaskHeader(w, t)
	v, err := st.c.Session.Values()
	if err != nil {
		fmt.Fprintf(st.c.Err, "ps: %v\n\n", err)
		return
	}
	args, env, err := tasks.Args(v, t)
	var uf *tasks.UserFault
	switch {
	case errors.Is(err, tasks.ErrNoMM):
		fmt.Fprintf(st.c.Err, "ps: no user stack\n\n")
		return
	case errors.As(err, &uf) && args == nil:
		fmt.Fprintf(st.c.Err, "ps: cannot access user stack address: %x\n\n", uf.Addr)
		return
	case err != nil && uf == nil:
		fmt.Fprintf(st.c.Err, "ps: %v\n\n", err)
		return
	}
	var b strings.Builder
	b.WriteString("ARG: ")
	n := 0
	for _, ch := range args {
		if ch == 0 {
			if n > 0 {
				b.WriteByte(' ')
			}
			n = 0
		} else {
			b.WriteByte(ch)
			n++
		}
	}
	fmt.Fprint(w, b.String())
	if uf != nil {
		fmt.Fprintf(st.c.Err, "ps: cannot access user stack address: %x\n\n", uf.Addr)
		return
	}
	b.Reset()
	b.WriteString("\nENV: ")
	n, total := 0, 0
	for i, ch := range env {
		if ch == 0 {
			if n > 0 {
				b.WriteByte('\n')
			}
			n = 0
			continue
		}
		if n == 0 && i > 0 {
			b.WriteString("     ")
		}
		b.WriteByte(ch)
		n++
		total++
	}
	b.WriteByte('\n')
	if total == 0 {
		b.WriteByte('\n')
	}
	fmt.Fprint(w, b.String())
}

var rlimitNames = []string{"CPU", "FSIZE", "DATA", "STACK", "CORE", "RSS", "NPROC", "NOFILE", "MEMLOCK", "AS",
	"LOCKS", "SIGPENDING", "MSGQUEUE", "NICE", "RTPRIO", "RTTIME"}

// showRlimits prints -r: the current and maximum resource limits.
func (st *psState) showRlimits(t *tasks.Task) error {
	v, err := st.c.Session.Values()
	if err != nil {
		return err
	}
	lims, err := tasks.Rlimits(v, t)
	if err != nil {
		return fmt.Errorf("cannot determine rlimit array location: %w", err)
	}
	name := func(i int) string {
		if i < len(rlimitNames) {
			return rlimitNames[i]
		}
		return "(unknown)"
	}
	len1 := 0
	for i := range lims {
		if i < len(rlimitNames) {
			len1 = max(len1, len(rlimitNames[i]))
		}
	}
	const len2 = len("(unlimited)")
	w := st.c.Out
	writeTaskHeader(w, t)
	fmt.Fprintf(w, "  %*s   %s   %s\n", len1, "RLIMIT", centerIn("CURRENT", len2, true), centerIn("MAXIMUM", len2, true))
	val := func(v uint64) string {
		if v == tasks.RlimInfinity {
			return "(unlimited)"
		}
		return centerIn(strconv.FormatUint(v, 10), len2, false)
	}
	for i, l := range lims {
		fmt.Fprintf(w, "  %*s   %s   %s\n", len1, name(i), val(l.Cur), val(l.Max))
	}
	fmt.Fprintln(w)
	return nil
}

// showThreads prints -g: a thread-group leader and its other threads.
func (st *psState) showThreads(t *tasks.Task) {
	if t.PID != t.TGID {
		if !st.o.specified {
			return
		}
		if t = st.leader(t); t == nil {
			return
		}
	}
	if t.PID == 0 && st.idleShown {
		return
	}
	w := st.c.Out
	writeTaskHeader(w, t)
	n := 0
	for _, o := range st.tb.Tasks {
		if o == t || o.TGID != t.TGID {
			continue
		}
		fmt.Fprint(w, "  ")
		writeTaskHeader(w, o)
		n++
		if o.PID == 0 {
			st.idleShown = true
		}
	}
	if n == 0 {
		fmt.Fprintln(w, "  (no threads)")
	}
	fmt.Fprintln(w)
}

// writeChildren prints t and, indented, each task whose parent it is.
func writeChildren(w io.Writer, tb *tasks.Table, t *tasks.Task) {
	writeTaskHeader(w, t)
	n := 0
	for _, ch := range tb.Tasks {
		if ch.Parent == t.Addr && ch != t && ch.PID != 0 {
			fmt.Fprint(w, "  ")
			writeTaskHeader(w, ch)
			n++
		}
	}
	if n == 0 {
		fmt.Fprintln(w, "  (no children)")
	}
}

// runTime spells nanoseconds as crash's convert_time: [N days, ]hh:mm:ss.
func runTime(ns uint64) string {
	s := ns / 1e9
	days, s := s/86400, s%86400
	out := fmt.Sprintf("%02d:%02d:%02d", s/3600, s%3600/60, s%60)
	if days > 0 {
		out = fmt.Sprintf("%d days, %s", days, out)
	}
	return out
}

// writePsLine prints one line of ps in crash's columns.
func writePsLine(w io.Writer, tb *tasks.Table, t *tasks.Task) {
	writePsLineCol(w, tb, t, fmt.Sprintf("%016x", t.Addr))
}

// writePsLineCol prints a ps line with col as the TASK column.
func writePsLineCol(w io.Writer, tb *tasks.Table, t *tasks.Task, col string) {
	mark := activeMark(t)
	st := t.StateString()
	pad := "  "
	if len(st) > 3 {
		pad = " "
	}
	pct := fmt.Sprintf("%.1f", tb.PercentMem(t))
	if len(pct) == 3 {
		pct = " " + pct
	}
	fmt.Fprintf(w, "%s%7d %7d %3d  %s %3s%s%s %8d %8d  %s\n", mark, t.PID, t.PPID, t.CPU, col, st, pad, pct,
		t.TotalVM*tb.PageSize/1024, t.RSS*tb.PageSize/1024, psComm(t))
}

func psComm(t *tasks.Task) string {
	if t.KernelThread() {
		return "[" + t.Comm + "]"
	}
	return t.Comm
}

// writeTaskHeader prints crash's task header line.
func writeTaskHeader(w io.Writer, t *tasks.Task) {
	fmt.Fprintf(w, "PID: %-7d  TASK: %016x  CPU: %-3d  COMMAND: \"%s\"\n", t.PID, t.Addr, t.CPU, t.Comm)
}

// writeParents prints the chain from pid 0 down to t, indented a step a
// generation, as crash's ps -p.
func writeParents(w io.Writer, tb *tasks.Table, t *tasks.Task) {
	chain := []*tasks.Task{t}
	seen := map[*tasks.Task]bool{t: true}
	for cur := t; ; {
		p := tb.ByAddr(cur.Parent)
		if p == nil || seen[p] {
			break
		}
		seen[p] = true
		chain = append(chain, p)
		cur = p
	}
	for i := len(chain) - 1; i >= 0; i-- {
		fmt.Fprint(w, strings.Repeat(" ", len(chain)-1-i))
		writeTaskHeader(w, chain[i])
	}
}

// SelectTasks resolves task arguments (pid, task address, command) as ps
// and bt do, in the table's order.
func (s *Session) SelectTasks(args []string) ([]*tasks.Task, error) {
	tb, err := s.TaskTable()
	if err != nil {
		return nil, err
	}
	picked, err := selectTasks(tb, args)
	if err != nil {
		return nil, err
	}
	want := map[*tasks.Task]bool{}
	for _, t := range picked {
		want[t] = true
	}
	var out []*tasks.Task
	for _, t := range tb.Tasks {
		if want[t] {
			out = append(out, t)
		}
	}
	return out, nil
}
