package repl

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/vmcoretools/vmcore/tasks"
)

func init() {
	register(&Command{
		Name:    "ps",
		Usage:   "[-k|-u] [-p|-c|-l|-t] [pid | task | command] ...",
		Summary: "display process status information",
		Help: `Lists every task as crash's ps does: pid, parent pid, CPU, task_struct
address, state (RU IN UN ID ZO ST TR DE PA WA NE), %MEM, VSZ and RSS in
KiB, and the command; kernel threads in [brackets]; '>' marks the task a
CPU was running. Arguments select tasks by pid, task address or command
name (a leading '\' takes a name that looks like a number).

  -k  kernel threads only
  -u  user tasks only
  -p  each selected task's line of parents, from pid 0
  -c  each selected task's children
  -l  sched_info.last_arrival (ns, decimal) and state before each header
  -t  run time, start time and user and system CPU time (ns), oldest
      first; the run time is the latest runqueue clock minus start_time
      (crash converts through HZ instead, and may differ by rounding)`,
		Options:      []string{"-k", "-u", "-p", "-c", "-l", "-t"},
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

func runPs(c *Context, args []string) error {
	opts, rest, err := getopt(args, "kupclt", "")
	if err != nil {
		return err
	}
	var kernel, user, parents, children, lastRun, times bool
	for _, o := range opts {
		switch o.name {
		case "k":
			kernel = true
		case "u":
			user = true
		case "p":
			parents = true
		case "c":
			children = true
		case "l":
			lastRun = true
		case "t":
			times = true
		}
	}
	if kernel && user {
		return usagef("-k and -u exclude each other")
	}
	tb, err := c.Session.TaskTable()
	if err != nil {
		return err
	}
	sel := tb.Tasks
	if len(rest) > 0 {
		picked, err := selectTasks(tb, rest)
		if err != nil {
			return err
		}
		// crash prints the selected tasks in its table's order, once each.
		want := map[*tasks.Task]bool{}
		for _, t := range picked {
			want[t] = true
		}
		sel = nil
		for _, t := range tb.Tasks {
			if want[t] {
				sel = append(sel, t)
			}
		}
	}
	keep := func(t *tasks.Task) bool {
		return !(kernel && !t.KernelThread()) && !(user && t.KernelThread())
	}
	switch {
	case times:
		byStart := append([]*tasks.Task(nil), sel...)
		sort.SliceStable(byStart, func(i, j int) bool { return byStart[i].StartTime < byStart[j].StartTime })
		for _, t := range byStart {
			if !keep(t) {
				continue
			}
			writeTaskHeader(c.Out, t)
			run := uint64(0)
			if tb.Clock > t.StartTime {
				run = tb.Clock - t.StartTime
			}
			fmt.Fprintf(c.Out, "    RUN TIME: %s\n", runTime(run))
			fmt.Fprintf(c.Out, "  START TIME: %d\n", t.StartTime)
			fmt.Fprintf(c.Out, "       UTIME: %d\n", t.UTime)
			fmt.Fprintf(c.Out, "       STIME: %d\n\n", t.STime)
		}
	case parents:
		for _, t := range sel {
			if !keep(t) {
				continue
			}
			writeParents(c.Out, tb, t)
			fmt.Fprintln(c.Out)
		}
	case children:
		for _, t := range sel {
			if !keep(t) {
				continue
			}
			writeTaskHeader(c.Out, t)
			n := 0
			for _, ch := range tb.Tasks {
				if ch.Parent == t.Addr && ch != t && ch.PID != 0 {
					fmt.Fprint(c.Out, "  ")
					writeTaskHeader(c.Out, ch)
					n++
				}
			}
			if n == 0 {
				fmt.Fprintln(c.Out, "  (no children)")
			}
			fmt.Fprintln(c.Out)
		}
	case lastRun:
		// Most recently run first, as crash; the width is that of the
		// largest value.
		byRun := append([]*tasks.Task(nil), sel...)
		sort.SliceStable(byRun, func(i, j int) bool { return byRun[i].LastRun > byRun[j].LastRun })
		width := 1
		if len(byRun) > 0 {
			width = len(strconv.FormatUint(byRun[0].LastRun, 10))
		}
		for _, t := range byRun {
			if !keep(t) {
				continue
			}
			fmt.Fprintf(c.Out, "[%*d] [%s]  ", width, t.LastRun, t.StateString())
			writeTaskHeader(c.Out, t)
		}
	default:
		fmt.Fprintln(c.Out, "      PID    PPID  CPU       TASK        ST  %MEM      VSZ      RSS  COMM")
		for _, t := range sel {
			if err := c.Stopped(); err != nil {
				return err
			}
			if keep(t) {
				writePsLine(c.Out, tb, t)
			}
		}
	}
	return nil
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
	mark := "  "
	if t.Active {
		mark = "> "
	}
	st := t.StateString()
	pad := "  "
	if len(st) > 3 {
		pad = " "
	}
	pct := fmt.Sprintf("%.1f", tb.PercentMem(t))
	if len(pct) == 3 {
		pct = " " + pct
	}
	fmt.Fprintf(w, "%s%7d %7d %3d  %016x %3s%s%s %8d %8d  %s\n", mark, t.PID, t.PPID, t.CPU, t.Addr, st, pad, pct,
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
