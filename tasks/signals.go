package tasks

import (
	"fmt"

	"github.com/vmcoretools/vmcore/arch"
	"github.com/vmcoretools/vmcore/value"
)

// SignalState is a task's signal handling, as crash's sig shows it: its
// thread group's dispositions and shared pending signals, and its own
// blocked and pending signals. Signal sets are the first word of the
// kernel's sigset_t (signals 1-64), bit n-1 for signal n.
type SignalState struct {
	Task arch.Word `json:"task"`
	// SignalStruct is the thread group's signal_struct (0 when the task
	// has none: then nothing else is set), NrThreads its thread count.
	SignalStruct arch.Word `json:"signal_struct"`
	NrThreads    int       `json:"nr_threads"`
	// SigHand is the sighand_struct, Actions its dispositions, signal 1
	// first.
	SigHand arch.Word   `json:"sighand"`
	Actions []SigAction `json:"actions"`
	// Pending is TIF_SIGPENDING: the task has a signal to handle.
	Pending bool `json:"sigpending"`
	// Blocked is the task's blocked set.
	Blocked arch.Word `json:"blocked"`
	// Private is the task's own pending signals, Shared its thread
	// group's.
	Private SigPending `json:"private_pending"`
	Shared  SigPending `json:"shared_pending"`
}

// SigAction is one signal's disposition (struct k_sigaction).
type SigAction struct {
	Signal int       `json:"signal"`
	Addr   arch.Word `json:"sigaction"` // the k_sigaction
	// Handler is sa_handler; HandlerName names the special ones (SIG_DFL
	// 0, SIG_IGN 1, SIG_ERR -1) and is "" for a function.
	Handler     arch.Word `json:"handler"`
	HandlerName string    `json:"handler_name,omitempty"`
	Mask        arch.Word `json:"mask"`
	Flags       arch.Word `json:"flags"`
	// FlagNames are the SA_ flags set, in crash's order.
	FlagNames []string `json:"flag_names,omitempty"`
}

// SigPending is a set of pending signals and their queue (struct
// sigpending).
type SigPending struct {
	Signal arch.Word      `json:"signal"`
	Queue  []QueuedSignal `json:"queue"`
}

// QueuedSignal is one struct sigqueue: the signal number and the address
// of its siginfo.
type QueuedSignal struct {
	Signal  int       `json:"signal"`
	SigInfo arch.Word `json:"siginfo"`
}

// SAFlags are the sigaction flags (include/uapi/asm-generic/signal.h and
// x86's SA_RESTORER) in the order crash lists them.
var SAFlags = []struct {
	Bit  uint64
	Name string
}{
	{0x1, "SA_NOCLDSTOP"}, {0x04000000, "SA_RESTORER"}, {0x2, "SA_NOCLDWAIT"}, {0x4, "SA_SIGINFO"},
	{0x08000000, "SA_ONSTACK"}, {0x10000000, "SA_RESTART"}, {0x40000000, "SA_NODEFER"}, {0x80000000, "SA_RESETHAND"},
}

// maxSigQueue bounds a pending queue (RLIMIT_SIGPENDING is per user; a
// corrupt list must end).
const maxSigQueue = 4096

// SigFlagNames names the SA_ flags set in flags.
func SigFlagNames(flags uint64) []string {
	var names []string
	for _, f := range SAFlags {
		if flags&f.Bit != 0 {
			names = append(names, f.Name)
		}
	}
	return names
}

// HandlerName names a special sa_handler value, "" for a function.
func HandlerName(h uint64) string {
	switch int64(h) {
	case -1:
		return "SIG_ERR"
	case 0:
		return "SIG_DFL"
	case 1:
		return "SIG_IGN"
	}
	return ""
}

// Signals reads t's signal state, as crash's dump_signal_data. On an
// unreadable structure it returns what was read before it, with an error
// naming the address.
//
// tif gives the machine's thread_info flag bits (arch.CPU.ThreadFlags):
// Pending is TIF_SIGPENDING.
func Signals(c *value.Context, tif arch.ThreadFlags, t *Task) (*SignalState, error) {
	st := &SignalState{Task: arch.Word(t.Addr)}
	task, err := c.At("struct task_struct", t.Addr)
	if err != nil {
		return nil, err
	}
	if st.SignalStruct, err = readWord(task, "signal"); err != nil {
		return nil, err
	}
	if st.SignalStruct == 0 {
		return st, nil
	}
	sig, err := c.At("struct signal_struct", uint64(st.SignalStruct))
	if err != nil {
		return st, err
	}
	n, err := readMember(sig, "nr_threads")
	if err != nil {
		return st, err
	}
	st.NrThreads = int(int32(n))
	hand, err := task.Member("sighand")
	if err != nil {
		return st, err
	}
	sh, _ := hand.Uint()
	st.SigHand = arch.Word(sh)
	if hand, err = hand.Deref(); err != nil {
		return st, err
	}
	actions, err := hand.Member("action")
	if err != nil {
		return st, err
	}
	if _, err := actions.Bytes(); err != nil { // readable, before its members are
		return st, err
	}
	acts, err := actions.Elements()
	if err != nil {
		return st, err
	}
	for i, a := range acts {
		h := u64Member(a, "sa.sa_handler")
		flags := u64Member(a, "sa.sa_flags")
		st.Actions = append(st.Actions, SigAction{Signal: i + 1, Addr: arch.Word(a.Addr), Handler: arch.Word(h), HandlerName: HandlerName(h),
			Mask: arch.Word(u64Member(a, "sa.sa_mask.sig[0]")), Flags: arch.Word(flags), FlagNames: SigFlagNames(flags)})
	}
	st.Pending = u64Member(task, "thread_info.flags")&tif.SigPending != 0
	st.Blocked = arch.Word(u64Member(task, "blocked.sig[0]"))
	st.Private.Signal = arch.Word(u64Member(task, "pending.signal.sig[0]"))
	priv, err := task.Member("pending.list")
	if err != nil {
		return st, err
	}
	if st.Private.Queue, err = sigQueue(c, priv.Addr); err != nil {
		return st, err
	}
	st.Shared.Signal = arch.Word(u64Member(sig, "shared_pending.signal.sig[0]"))
	shared, err := sig.Member("shared_pending.list")
	if err != nil {
		return st, err
	}
	st.Shared.Queue, err = sigQueue(c, shared.Addr)
	return st, err
}

// sigQueue reads a pending queue: a list of struct sigqueue at head.
func sigQueue(c *value.Context, head uint64) ([]QueuedSignal, error) {
	ents, err := c.ListEntries(head, "struct sigqueue", "list", maxSigQueue)
	if err != nil {
		return nil, fmt.Errorf("signal queue at %#x: %w", head, err)
	}
	var out []QueuedSignal
	for _, e := range ents {
		info, err := e.Member("info")
		if err != nil {
			return out, err
		}
		var n int64
		if signo, err := info.Member("si_signo"); err == nil {
			n, _ = signo.Int()
		}
		out = append(out, QueuedSignal{Signal: int(n), SigInfo: arch.Word(info.Addr)})
	}
	return out, nil
}
