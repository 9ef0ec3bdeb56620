package repl

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/vmcoretools/vmcore/tasks"
)

// This file turns crash's task arguments (a pid, a task address, a
// command name) into tasks of the kernel model's table; ps, bt, files,
// sig, vm, task, set, foreach and vtop take them.

// TaskTable is the kernel model's task table, walked once per kernel and
// released with it (Session.Close).
func (s *Session) TaskTable() (*tasks.Table, error) {
	k, err := s.kernel()
	if err != nil {
		return nil, err
	}
	s.usedTasks = true // the loop warns when the table is partial
	return k.Tasks()
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

// Kinds of a task argument.
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

// truncComm cuts a name to what task_struct.comm holds (15 bytes).
func truncComm(s string) string {
	if len(s) > 15 {
		return s[:15]
	}
	return s
}
