package repl

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
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
		FromBTF:      true,
		Run:          runPs,
	})
	delete(planned, "ps")
}

func setPsMode(o *psOptions, m psMode) error {
	if o.mode != psLines && o.mode != m {
		return errors.New(psExclusive)
	}
	o.mode = m
	return nil
}

// quotedRegex returns the expression of a 'quoted' argument.
func quotedRegex(s string) (string, bool) {
	if len(s) >= 2 && s[0] == '\'' && s[len(s)-1] == '\'' {
		return s[1 : len(s)-1], true
	}
	return "", false
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
			if o.filter.UserOnly {
				return errors.New("-u and -k are mutually exclusive")
			}
			o.filter.KernelOnly = true
		case "u":
			if o.filter.KernelOnly {
				return errors.New("-u and -k are mutually exclusive")
			}
			o.filter.UserOnly = true
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
			o.filter.ExcludeIdle = true
		case "C":
			cpuSpec = op.val
		case "y":
			o.filter.Policies, err = parsePolicies(op.val)
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
		return newPsRun(c, tb, o).showAll()
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
	return newPsRun(c, tb, o).showSelected(sel)
}
