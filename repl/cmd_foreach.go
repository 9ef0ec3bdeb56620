package repl

import (
	"errors"
	"fmt"
	"strings"

	"github.com/vmcoretools/vmcore/tasks"
	"github.com/vmcoretools/vmcore/vmcore"
)

func init() {
	register(&Command{
		Name:    "foreach",
		Usage:   "[[pid | task | name | state | kernel | user | gleader | active] ...] command [flag] [argument]",
		Summary: "display command data for multiple tasks in the system",
		Help: `Runs commands for every task, or the tasks selected, in pid order, as
crash's foreach.

Selectors (any number; without one, every task):
  pid, task    that task (a pid: all of its tasks)
  name         the tasks running that command ('\' before a name that
               looks like a number or a keyword)
  kernel       kernel threads
  user         user tasks
  gleader      user thread-group leaders
  active       the task each CPU was running
  RU IN UN ID ST TR ZO DE PA WA NE SW
               tasks in that state (one)
Commands (one or more): bt, ps, task, set, sig, files, vm. Flags may come anywhere and go
to the commands: bt -f -l; ps -s -G -y and one of -a -c -p -t -l -m -r -g;
task -R member[,member] -x -d. Each task's output starts with its header
line, except ps's (one table) and task -R's (its own).`,
		Options:      []string{"-R", "-f", "-l", "-s", "-G", "-y", "-a", "-c", "-p", "-t", "-m", "-r", "-g", "-x", "-d"},
		NeedsVMLinux: true,
		FromBTF:      true,
		Run:          runForeach,
	})
	delete(planned, "foreach")
}

// foreachKeywords are crash's foreach commands; the ones not listed in
// foreachRuns are refused with a message.
var foreachKeywords = []string{"bt", "vm", "task", "files", "net", "set", "ps", "sig", "vtop", "test"}

var foreachRuns = map[string]bool{"bt": true, "task": true, "set": true, "ps": true, "sig": true, "files": true, "vm": true}

var stateNames = []string{"RU", "IN", "UN", "ST", "TR", "ZO", "DE", "SW", "PA", "WA", "ID", "NE"}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func runForeach(c *Context, args []string) error {
	opts, rest, err := getopt(args, "vomlgersStTpukcfFxhdaG", "Ry")
	if err != nil {
		return err
	}
	flags := map[string]bool{}
	var reference, policy string
	for _, o := range opts {
		switch o.name {
		case "R":
			reference = o.val
		case "y":
			policy = o.val
		case "h":
			flags["x"] = true
		default:
			flags[o.name] = true
		}
	}
	if len(rest) == 0 {
		return usagef("give a command to run")
	}
	tr, err := c.Session.Tracer()
	if err != nil {
		return err
	}
	tb := tr.Table
	var (
		keys                       []string
		pids                       []uint64
		addrs                      []uint64
		comms                      []string
		kernel, user, gleader, act bool
		state                      string
		specified                  bool
	)
	for _, a := range rest {
		if len(keys) > 0 {
			continue // a command argument: none of ours takes one
		}
		if contains(foreachKeywords, a) {
			keys = append(keys, a)
			continue
		}
		if isNumber(a) {
			switch kind, val := strToContext(tb, a); kind {
			case argPID:
				pids, specified = append(pids, val), true
				continue
			case argTask:
				addrs, specified = append(addrs, val), true
				continue
			}
		}
		if a == `\DE` {
			a = "DE"
		}
		switch {
		case a == "kernel":
			if user {
				return errors.New("user and kernel are mutually exclusive!")
			}
			kernel = true
			continue
		case contains(stateNames, a):
			if state != "" {
				return errors.New("only one task state allowed")
			}
			state = a
			continue
		case a == "user":
			if kernel {
				return errors.New("user and kernel are mutually exclusive!")
			}
			user = true
			continue
		case a == "gleader":
			if kernel {
				return errors.New("gleader and kernel are mutually exclusive!")
			}
			user, gleader = true, true
			continue
		case a == "active":
			act = true
			continue
		}
		name := strings.TrimPrefix(a, `\`)
		if len(appendComm(nil, tb, name)) > 0 {
			comms, specified = append(comms, name), true
			continue
		}
		specified = true
		fmt.Fprintf(c.Err, "foreach: unknown argument: \"%s\"\n", a)
	}
	if len(keys) == 0 {
		fmt.Fprintln(c.Err, "foreach: no keywords specified")
		return nil
	}
	for _, k := range keys {
		if !foreachRuns[k] {
			return fmt.Errorf("%s is not implemented here: foreach runs bt, ps, task, set, sig, files and vm", k)
		}
	}

	// Each command's checks, as crash makes them before the first task.
	printHeader := true
	var bo tasks.TraceOptions
	var ps *psRun
	order := tb.Tasks
	for _, k := range keys {
		switch k {
		case "bt":
			if flags["x"] && flags["d"] {
				return errors.New("bt: -x and -d options are mutually exclusive")
			}
			for _, f := range []string{"r", "t", "T", "e", "s", "o", "F", "x", "d", "g"} {
				if flags[f] {
					return fmt.Errorf("bt -%s is not implemented here (foreach bt takes -f and -l)", f)
				}
			}
			if reference != "" {
				return errors.New("bt -R is not implemented here")
			}
			if flags["l"] && c.Session.Debug == nil {
				return errors.New("bt -l needs the debuginfo vmlinux: source lines come from its line tables, which the kernel's memory does not hold")
			}
			bo = c.Session.btTraceOptions(flags["f"], flags["l"])
		case "task":
			if flags["x"] && flags["d"] {
				return errors.New("task: -x and -d options are mutually exclusive")
			}
		case "set":
			if reference != "" {
				return errors.New("set command does not support -R option")
			}
		case "sig":
			if flags["l"] || flags["s"] {
				return errors.New("sig: -l and -s options are not applicable")
			}
			if flags["g"] {
				return errors.New("sig -g is not implemented here")
			}
			if reference != "" {
				return errors.New("sig: -R not supported yet")
			}
		case "vm":
			for _, f := range []string{"p", "v", "m", "x", "d"} {
				if flags[f] {
					return fmt.Errorf("vm -%s is not implemented here", f)
				}
			}
			if reference != "" {
				return errors.New("vm -R is not implemented here")
			}
		case "files":
			if flags["p"] {
				return errors.New("files command does not support -p option")
			}
			if flags["c"] || flags["i"] || reference != "" {
				return errors.New("files -c and -R are not implemented here")
			}
		case "ps":
			n := 0
			for _, f := range []string{"g", "a", "t", "c", "p", "l", "r", "m"} {
				if flags[f] {
					n++
				}
			}
			if n > 1 {
				return errors.New(psExclusive)
			}
			if (flags["l"] || flags["m"]) && flags["G"] {
				f := "m"
				if flags["l"] {
					f = "l"
				}
				return fmt.Errorf("-G not supported with -%s option", f)
			}
			o := psOptions{group: flags["G"], kstackp: flags["s"], specified: true}
			if policy != "" {
				if o.filter.Policies, err = parsePolicies(policy); err != nil {
					return err
				}
			}
			// One display mode, in crash's order of precedence.
			for _, m := range []struct {
				flag string
				mode psMode
			}{{"a", psArgs}, {"c", psChildren}, {"p", psParents}, {"t", psTimes}, {"l", psLastRun}, {"m", psSince}, {"r", psRlimits}, {"g", psThreads}} {
				if flags[m.flag] {
					o.mode = m.mode
					break
				}
			}
			ps = newPsRun(c, tb, o)
			order = ps.order
			printHeader = false
		}
	}
	radix := ""
	if flags["x"] {
		radix = "x"
	} else if flags["d"] {
		radix = "d"
	}
	var members []string
	if reference != "" {
		members = []string{reference}
	}

	subsequent := 0
	meter := c.progress("foreach "+strings.Join(keys, " "), "tasks")
	if meter != nil {
		defer meter.Clear()
	}
	for i, t := range order {
		if meter != nil {
			meter.Update(int64(i), int64(len(order)))
		}
		if act && !t.Active || user && t.KernelThread() || gleader && t.PID != t.TGID ||
			kernel && !t.KernelThread() || state != "" && !strings.HasPrefix(t.StateString(), state) {
			continue
		}
		if specified && !foreachSelects(t, pids, addrs, comms) {
			continue
		}
		if err := c.Stopped(); err != nil {
			return err
		}
		if reference == "" && printHeader {
			if subsequent > 0 {
				fmt.Fprintln(c.Out)
			}
			subsequent++
			writeTaskHeader(c.Out, t)
		}
		for _, k := range keys {
			var err error
			switch k {
			case "bt":
				var bt *tasks.Backtrace
				var k *vmcore.Kernel
				if k, err = c.Session.kernel(); err != nil {
					return err
				}
				if bt, err = k.Backtrace(t, bo); err == nil {
					writeBacktrace(c.Out, bt)
				}
			case "task":
				err = doTask(c, t, true, members, radix)
			case "set":
				writeContext(c.Out, t, tr)
			case "sig":
				err = showSignals(c, t)
			case "files":
				err = showFiles(c, t)
			case "vm":
				err = showVM(c, t)
			case "ps":
				ps.o.noHeader = subsequent > 0
				subsequent++
				if ps.o.mode == psTimes {
					err = ps.showTimes(t)
				} else {
					ps.header()
					err = ps.showData(t, false)
				}
			}
			if err != nil {
				return err
			}
		}
	}
	return nil
}

func foreachSelects(t *tasks.Task, pids, addrs []uint64, comms []string) bool {
	for _, a := range addrs {
		if t.Addr == a {
			return true
		}
	}
	for _, p := range pids {
		if uint64(t.PID) == p {
			return true
		}
	}
	for _, cm := range comms {
		if truncComm(cm) == t.Comm {
			return true
		}
	}
	return false
}
