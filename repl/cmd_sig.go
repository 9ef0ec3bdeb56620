package repl

import (
	"fmt"
	"strings"

	"github.com/vmcoretools/vmcore/tasks"
	"github.com/vmcoretools/vmcore/value"
)

func init() {
	register(&Command{
		Name:    "sig",
		Usage:   "[pid | task] ...",
		Summary: "task signal handling",
		Help: `Shows a task's signal handling as crash's sig: its thread group's
signal_struct and every signal's sigaction (handler, mask, flags) from
the sighand_struct, whether a signal is pending, the blocked set, and the
private and shared pending sets and queues. Without a task, the current
context's (see set).`,
		NeedsVMLinux: true,
		Run:          runSig,
	})
	delete(planned, "sig")
}

func runSig(c *Context, args []string) error {
	_, rest, err := getopt(args, "", "")
	if err != nil {
		return err
	}
	tb, err := c.Session.TaskTable()
	if err != nil {
		return err
	}
	var sel []*tasks.Task
	for _, a := range rest {
		ts, _, ok := contextTasks(tb, a)
		if !ok {
			fmt.Fprintf(c.Err, "sig: invalid task or pid value: %s\n", a)
		}
		sel = append(sel, ts...)
	}
	if len(rest) == 0 {
		t, err := c.Session.CurrentTask()
		if err != nil {
			return err
		}
		sel = []*tasks.Task{t}
	}
	for _, t := range sel {
		writeTaskHeader(c.Out, t)
		if err := writeSignals(c, t); err != nil {
			return err
		}
	}
	return nil
}

// Signal flags of x86 (arch/x86/include/uapi/asm/signal.h), in the order
// crash lists them.
var saFlags = []struct {
	bit  uint64
	name string
}{
	{0x1, "SA_NOCLDSTOP"}, {0x04000000, "SA_RESTORER"}, {0x2, "SA_NOCLDWAIT"}, {0x4, "SA_SIGINFO"},
	{0x08000000, "SA_ONSTACK"}, {0x10000000, "SA_RESTART"}, {0x40000000, "SA_NODEFER"}, {0x80000000, "SA_RESETHAND"},
}

// tifSigpending is TIF_SIGPENDING in thread_info.flags on x86.
const tifSigpending = 1 << 2

// writeSignals prints crash's dump_signal_data for a task: the thread
// group's dispositions, then the task's pending and blocked signals, then
// the group's shared pending ones.
func writeSignals(c *Context, t *tasks.Task) error {
	v, err := c.Session.Values()
	if err != nil {
		return err
	}
	w := c.Out
	task, err := v.At("struct task_struct", t.Addr)
	if err != nil {
		return err
	}
	u := func(val value.Value, path string) uint64 {
		m, err := val.Member(path)
		if err != nil {
			return 0
		}
		x, _ := m.Uint()
		return x
	}
	sigAddr := u(task, "signal")
	fmt.Fprintf(w, "SIGNAL_STRUCT: %x  ", sigAddr)
	if sigAddr == 0 {
		fmt.Fprintln(w)
		return nil
	}
	sig, err := v.At("struct signal_struct", sigAddr)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "NR_THREADS: %d\n", int32(u(sig, "nr_threads")))
	fmt.Fprintf(w, " SIG %s %s %s %s\n", centerIn("SIGACTION", 16, false), fmt.Sprintf("%10s", "HANDLER"),
		centerIn("MASK", 16, false), fmt.Sprintf("%-16s", "FLAGS"))
	hand, err := task.Member("sighand")
	if err != nil {
		return err
	}
	hand, err = hand.Deref()
	if err != nil {
		return err
	}
	actions, err := hand.Member("action")
	if err != nil {
		return err
	}
	acts, err := actions.Elements()
	if err != nil {
		return err
	}
	for i, a := range acts {
		if err := c.Stopped(); err != nil {
			return err
		}
		handler := u(a, "sa.sa_handler")
		var hs string
		switch int64(handler) {
		case -1:
			hs = "SIG_ERR"
		case 0:
			hs = "SIG_DFL"
		case 1:
			hs = "SIG_IGN"
		default:
			hs = fmt.Sprintf("%x", handler)
		}
		flags := u(a, "sa.sa_flags")
		fmt.Fprintf(w, "%s[%d] %-16x %10s %016x %x ", map[bool]string{true: " ", false: ""}[i+1 < 10], i+1, a.Addr, hs,
			u(a, "sa.sa_mask.sig[0]"), flags)
		if flags != 0 {
			var names []string
			for _, f := range saFlags {
				if flags&f.bit != 0 {
					names = append(names, f.name)
				}
			}
			if len(names) > 0 {
				fmt.Fprintf(w, "(%s)", strings.Join(names, "|"))
			}
		}
		fmt.Fprintln(w)
	}
	pending := "no"
	if u(task, "thread_info.flags")&tifSigpending != 0 {
		pending = "yes"
	}
	fmt.Fprintf(w, "SIGPENDING: %s\n", pending)
	fmt.Fprintf(w, "   BLOCKED: %016x\n", u(task, "blocked.sig[0]"))
	fmt.Fprintln(w, "PRIVATE_PENDING")
	fmt.Fprintf(w, "    SIGNAL: %016x\n", u(task, "pending.signal.sig[0]"))
	priv, err := task.Member("pending.list")
	if err != nil {
		return err
	}
	if err := writeSigqueue(c, v, priv.Addr); err != nil {
		return err
	}
	fmt.Fprintln(w, "SHARED_PENDING")
	fmt.Fprintf(w, "    SIGNAL: %016x\n", u(sig, "shared_pending.signal.sig[0]"))
	shared, err := sig.Member("shared_pending.list")
	if err != nil {
		return err
	}
	return writeSigqueue(c, v, shared.Addr)
}

// writeSigqueue prints a pending queue (a list of struct sigqueue): each
// signal number and the address of its siginfo.
func writeSigqueue(c *Context, v *value.Context, head uint64) error {
	ents, err := v.ListEntries(head, "struct sigqueue", "list", 4096)
	if err != nil {
		return err
	}
	if len(ents) == 0 {
		fmt.Fprintln(c.Out, "  SIGQUEUE: (empty)")
		return nil
	}
	fmt.Fprintf(c.Out, "  SIGQUEUE:  SIG  %s\n", centerIn("SIGINFO", 16, false))
	for _, e := range ents {
		info, err := e.Member("info")
		if err != nil {
			return err
		}
		signo, _ := info.Member("si_signo")
		n, _ := signo.Int()
		fmt.Fprintf(c.Out, "             %3d  %x\n", n, info.Addr)
	}
	return nil
}
