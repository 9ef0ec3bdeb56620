package repl

import (
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"github.com/vmcoretools/vmcore/tasks"
)

// This file prints the kernel model's task table in the layouts of
// crash's ps and its options; ps and foreach ps share it. What it shows
// comes from package tasks (states, times, relations, limits, command
// lines); what it keeps is crash's layout and the bookkeeping of one run
// (which thread-group leaders -G and -g have shown).

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
	mode      psMode
	filter    tasks.Filter // -k, -u, -y, -I
	group     bool         // -G: thread-group leaders only
	kstackp   bool         // -s: the saved stack pointer instead of the task
	noHeader  bool         // -H
	cpus      []bool       // -C: per-CPU blocks of -l / -m
	specified bool         // tasks were named (crash's TASK_SPECIFIED)
}

// psRun is one ps run over the model's table: its options, the task
// order (crash's context array, by pid or, for -l and -m, by last run),
// and what -G and -g have shown already.
type psRun struct {
	c         *Context
	tb        *tasks.Table
	o         psOptions
	order     []*tasks.Task
	shown     map[*tasks.Task]bool
	idleShown bool
}

func newPsRun(c *Context, tb *tasks.Table, o psOptions) *psRun {
	st := &psRun{c: c, tb: tb, o: o, order: tb.Tasks, shown: map[*tasks.Task]bool{}}
	if o.mode == psLastRun || o.mode == psSince {
		st.order = tb.ByLastRun()
	}
	return st
}

// psArg is one task argument of ps: a pid, a task address, a command
// name or a quoted regular expression.
type psArg struct {
	kind int // argPID, argTask, argComm, argRegex, or argInvalid
	val  uint64
	comm string
	re   *regexp.Regexp
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

// parsePolicies reads -y's comma-separated policies as crash does: a
// name (case-insensitive; a longer word starting with one counts), a
// digit or 0xN.
func parsePolicies(s string) (uint32, error) {
	var mask uint32
	for _, p := range strings.Split(s, ",") {
		up := strings.ToUpper(p)
		found := false
		for v, name := range tasks.PolicyNames {
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

// header prints ps's column header unless the mode has its own layout.
func (st *psRun) header() {
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

func (st *psRun) showAll() error {
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

func (st *psRun) showSelected(sel []psArg) error {
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

// showData is crash's show_ps_data: one task in the chosen mode.
func (st *psRun) showData(t *tasks.Task, all bool) error {
	o, w, tb := &st.o, st.c.Out, st.tb
	if !o.filter.Match(t) {
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
			if t = tb.Leader(t); t == nil {
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
			st.taskColumn(t), tasks.PolicyName(t.Policy), t.Prio, psComm(t))
	case psParents:
		for i, p := range tb.Ancestry(t) {
			fmt.Fprint(w, strings.Repeat(" ", i))
			writeTaskHeader(w, p)
		}
		fmt.Fprintln(w)
	case psChildren:
		writeTaskHeader(w, t)
		children := tb.Children(t)
		for _, ch := range children {
			fmt.Fprint(w, "  ")
			writeTaskHeader(w, ch)
		}
		if len(children) == 0 {
			fmt.Fprintln(w, "  (no children)")
		}
		fmt.Fprintln(w)
	case psLastRun:
		fmt.Fprintf(w, "[%*d] [%s]  ", st.lastRunWidth(), t.LastRun, t.StateString())
		writeTaskHeader(w, t)
	case psSince:
		fmt.Fprintf(w, "[%s] [%s]  ", sinceLastRun(tb.CPUClock(t.CPU), t.LastRun), t.StateString())
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
func (st *psRun) taskColumn(t *tasks.Task) string {
	if !st.o.kstackp {
		return fmt.Sprintf("%016x", t.Addr)
	}
	if t.Active || t.ThreadSP == 0 {
		return centerIn("--", 16, true)
	}
	return centerIn(strconv.FormatUint(t.ThreadSP, 16), 16, true)
}

// lastRunWidth is the width of the largest last-run stamp of all tasks,
// which crash pads every -l stamp to.
func (st *psRun) lastRunWidth() int {
	return len(strconv.FormatUint(st.tb.MaxLastRun(), 10))
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
func (st *psRun) showPerCPU() error {
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
			if t.CPU != cpu || st.o.filter.ExcludeIdle && t.PID == 0 {
				continue
			}
			if st.o.mode == psLastRun {
				fmt.Fprintf(w, "[%*d] ", st.lastRunWidth(), t.LastRun)
			} else {
				fmt.Fprintf(w, "[%s] ", sinceLastRun(st.tb.CPUClock(cpu), t.LastRun))
			}
			fmt.Fprintf(w, "[%s]  ", t.StateString())
			writeTaskHeader(w, t)
		}
	}
	return nil
}

func (st *psRun) showSummary() error {
	o := st.o
	if o.filter.UserOnly || o.filter.KernelOnly || o.group || o.filter.ExcludeIdle {
		return errors.New("-S option cannot be used with other options")
	}
	for _, s := range tasks.StateCounts(st.order) {
		fmt.Fprintf(st.c.Out, "  %s: %d\n", s.State, s.Count)
	}
	return nil
}

// showTimes prints -t, oldest first; with a task, that task alone.
func (st *psRun) showTimes(one *tasks.Task) error {
	o := st.o
	var list []*tasks.Task
	if one != nil {
		t := one
		if o.group && t.PID != t.TGID {
			if t = st.tb.Leader(t); t == nil {
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
			f := o.filter
			f.Policies = 0 // crash's -t applies -k, -u and -I only
			if !f.Match(t) {
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
	w := st.c.Out
	for _, t := range tasks.ByStartTime(list) {
		writeTaskHeader(w, t)
		fmt.Fprintf(w, "    RUN TIME: %s\n", runTime(st.tb.RunTime(t)))
		fmt.Fprintf(w, "  START TIME: %d\n", t.StartTime)
		fmt.Fprintf(w, "       UTIME: %d\n", t.UTime)
		fmt.Fprintf(w, "       STIME: %d\n\n", t.STime)
	}
	return nil
}

// showArgs prints -a: the command line and environment from the task's
// user memory, as crash: arguments space-separated, one variable a line.
func (st *psRun) showArgs(t *tasks.Task) {
	w := st.c.Out
	writeTaskHeader(w, t)
	v, err := st.c.Session.Values()
	if err != nil {
		fmt.Fprintf(st.c.Err, "ps: %v\n\n", err)
		return
	}
	ks, err := st.c.Session.Translator()
	if err != nil {
		fmt.Fprintf(st.c.Err, "ps: %v\n\n", err)
		return
	}
	cl, err := tasks.CommandLine(v, ks, t)
	switch {
	case errors.Is(err, tasks.ErrNoMM):
		fmt.Fprintf(st.c.Err, "ps: no user stack\n\n")
		return
	case cl == nil:
		var uf *tasks.UserFault
		if errors.As(err, &uf) {
			fmt.Fprintf(st.c.Err, "ps: cannot access user stack address: %x\n\n", uf.Addr)
		} else {
			fmt.Fprintf(st.c.Err, "ps: %v\n\n", err)
		}
		return
	}
	var b strings.Builder
	b.WriteString("ARG: ")
	n := 0
	for _, ch := range cl.RawArgs {
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
	if cl.Fault != nil {
		fmt.Fprintf(st.c.Err, "ps: cannot access user stack address: %x\n\n", cl.Fault.Addr)
		return
	}
	b.Reset()
	b.WriteString("\nENV: ")
	n, total := 0, 0
	for i, ch := range cl.RawEnv {
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

// showRlimits prints -r: the current and maximum resource limits.
func (st *psRun) showRlimits(t *tasks.Task) error {
	v, err := st.c.Session.Values()
	if err != nil {
		return err
	}
	lims, err := tasks.ResourceLimits(v, t)
	if err != nil {
		return fmt.Errorf("cannot determine rlimit array location: %w", err)
	}
	len1 := 0
	for i, l := range lims {
		if i < len(tasks.RlimitNames) {
			len1 = max(len1, len(l.Resource))
		}
	}
	const len2 = len("(unlimited)")
	w := st.c.Out
	writeTaskHeader(w, t)
	fmt.Fprintf(w, "  %*s   %s   %s\n", len1, "RLIMIT", centerIn("CURRENT", len2, true), centerIn("MAXIMUM", len2, true))
	val := func(v tasks.Limit) string {
		if v.Unlimited() {
			return "(unlimited)"
		}
		return centerIn(strconv.FormatUint(uint64(v), 10), len2, false)
	}
	for _, l := range lims {
		fmt.Fprintf(w, "  %*s   %s   %s\n", len1, l.Resource, val(l.Cur), val(l.Max))
	}
	fmt.Fprintln(w)
	return nil
}

// showThreads prints -g: a thread-group leader and its other threads.
func (st *psRun) showThreads(t *tasks.Task) {
	if t.PID != t.TGID {
		if !st.o.specified {
			return
		}
		if t = st.tb.Leader(t); t == nil {
			return
		}
	}
	if t.PID == 0 && st.idleShown {
		return
	}
	w := st.c.Out
	writeTaskHeader(w, t)
	threads := st.tb.Threads(t)
	for _, o := range threads {
		fmt.Fprint(w, "  ")
		writeTaskHeader(w, o)
		if o.PID == 0 {
			st.idleShown = true
		}
	}
	if len(threads) == 0 {
		fmt.Fprintln(w, "  (no threads)")
	}
	fmt.Fprintln(w)
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
	s := tb.Status(t)
	pad := "  "
	if len(s.State) > 3 {
		pad = " "
	}
	pct := fmt.Sprintf("%.1f", s.MemPercent)
	if len(pct) == 3 {
		pct = " " + pct
	}
	fmt.Fprintf(w, "%s%7d %7d %3d  %s %3s%s%s %8d %8d  %s\n", activeMark(t), s.PID, s.PPID, s.CPU, col, s.State, pad, pct,
		s.VSZ, s.RSS, psComm(t))
}

func psComm(t *tasks.Task) string {
	if t.KernelThread() {
		return "[" + t.Comm + "]"
	}
	return t.Comm
}
