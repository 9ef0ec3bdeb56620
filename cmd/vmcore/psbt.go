package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/vmcoretools/vmcore/tasks"
)

func init() {
	register(subcommand{
		name:    "ps",
		summary: "list tasks as crash's ps prints them: vmcore ps [-json] VMLINUX DUMP [ps options]",
		run: func(args []string, stdout, stderr io.Writer) int {
			if hasJSON(args) {
				return psJSON(dropJSON(args), stdout, stderr)
			}
			return oneShot("ps", args, stdout, stderr, psUsage)
		},
	})
}

const psUsage = `usage: vmcore ps [-json] VMLINUX DUMP [-k|-u] [-p|-c|-l|-t] [pid | task | command] ...

Lists the dump's tasks as crash's ps does (see 'help ps' in the session).
-json prints every task as a JSON object instead.
`

func hasJSON(args []string) bool {
	for _, a := range args {
		if a == "-json" || a == "--json" {
			return true
		}
	}
	return false
}

func dropJSON(args []string) []string {
	var out []string
	for _, a := range args {
		if a != "-json" && a != "--json" {
			out = append(out, a)
		}
	}
	return out
}

// splitFiles separates the arguments naming files (vmlinux, dump) from
// the rest, as oneShot does.
func splitFiles(args []string) (files, rest []string) {
	for _, a := range args {
		if st, err := os.Stat(a); err == nil && st.Mode().IsRegular() && !strings.HasPrefix(a, "-") {
			files = append(files, a)
		} else {
			rest = append(rest, a)
		}
	}
	return
}

// psTask is one task in `vmcore ps -json`.
type psTask struct {
	PID      int     `json:"pid"`
	PPID     int     `json:"ppid"`
	CPU      int     `json:"cpu"`
	Task     string  `json:"task"`
	State    string  `json:"state"`
	PctMem   float64 `json:"pct_mem"`
	VSZKiB   uint64  `json:"vsz_kib"`
	RSSKiB   uint64  `json:"rss_kib"`
	Comm     string  `json:"comm"`
	Kernel   bool    `json:"kernel_thread"`
	Active   bool    `json:"active"`
	LastRun  uint64  `json:"last_run_ns"`
	StateRaw uint64  `json:"state_word"`
}

func psJSON(args []string, stdout, stderr io.Writer) int {
	files, rest := splitFiles(args)
	if len(files) == 0 || len(rest) > 0 {
		fmt.Fprintf(stderr, "vmcore ps -json: give the vmlinux and the dump, no ps options\n\n%s", psUsage)
		return 2
	}
	s, closeFn, err := openSession(files, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "vmcore ps: %v\n", err)
		return 1
	}
	defer closeFn()
	tb, err := s.TaskTable()
	if err != nil {
		fmt.Fprintf(stderr, "vmcore ps: %v\n", err)
		return 1
	}
	for _, w := range tb.Warnings {
		fmt.Fprintf(stderr, "vmcore ps: warning: %s\n", w)
	}
	out := make([]psTask, 0, len(tb.Tasks))
	for _, t := range tb.Tasks {
		out = append(out, psTask{PID: t.PID, PPID: t.PPID, CPU: t.CPU, Task: fmt.Sprintf("%#x", t.Addr),
			State: t.StateString(), PctMem: tb.PercentMem(t), VSZKiB: t.TotalVM * tb.PageSize / 1024,
			RSSKiB: t.RSS * tb.PageSize / 1024, Comm: t.Comm, Kernel: t.KernelThread(), Active: t.Active,
			LastRun: t.LastRun, StateRaw: t.State})
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		fmt.Fprintf(stderr, "vmcore ps: %v\n", err)
		return 1
	}
	return 0
}

func init() {
	register(subcommand{
		name:    "bt",
		summary: "stack traces as crash's bt prints them: vmcore bt [-json] VMLINUX DUMP [-a|-f|-l] [pid | task]",
		run: func(args []string, stdout, stderr io.Writer) int {
			if hasJSON(args) {
				return btJSON(dropJSON(args), stdout, stderr)
			}
			files, rest := splitFiles(args)
			for _, a := range rest {
				if a == "-A" {
					// every task: the session's foreach bt
					var others []string
					for _, b := range rest {
						if b != "-A" {
							others = append(others, b)
						}
					}
					return oneShot("foreach", append(append(files, others...), "bt"), stdout, stderr, btUsage)
				}
			}
			return oneShot("bt", args, stdout, stderr, btUsage)
		},
	})
}

const btUsage = `usage: vmcore bt [-json] VMLINUX DUMP [-a | -A] [-f] [-l] [pid | task | command] ...

Prints kernel stack traces as crash's bt does (see 'help bt' in the
session): the panic task by default, -a the task active on each CPU, -A
every task (crash's foreach bt). -json prints the traces of the tasks
named (every task without arguments) as JSON.
`

// btFrame and btTask are `vmcore bt -json`'s records.
type btFrame struct {
	Level    int    `json:"level"`
	SP       string `json:"sp"`
	PC       string `json:"pc"`
	Function string `json:"function"`
	Offset   uint64 `json:"offset"`
	// Regs is the exception frame saved above this frame, if any.
	Regs map[string]string `json:"exception_regs,omitempty"`
}

type btTask struct {
	PID      int               `json:"pid"`
	Task     string            `json:"task"`
	CPU      int               `json:"cpu"`
	Comm     string            `json:"comm"`
	Active   bool              `json:"active"`
	Frames   []btFrame         `json:"frames"`
	UserRegs map[string]string `json:"user_regs,omitempty"`
	Error    string            `json:"error,omitempty"`
}

func regsMap(ex *tasks.Exception) map[string]string {
	if ex == nil || ex.Regs == nil {
		return nil
	}
	m := map[string]string{}
	for _, r := range ex.Regs.Regs {
		m[r.Name] = fmt.Sprintf("%#x", uint64(r.Value))
	}
	return m
}

func btJSON(args []string, stdout, stderr io.Writer) int {
	files, rest := splitFiles(args)
	if len(files) == 0 {
		fmt.Fprintf(stderr, "vmcore bt -json: no dump file given\n\n%s", btUsage)
		return 2
	}
	s, closeFn, err := openSession(files, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "vmcore bt: %v\n", err)
		return 1
	}
	defer closeFn()
	tr, err := s.Tracer()
	if err != nil {
		fmt.Fprintf(stderr, "vmcore bt: %v\n", err)
		return 1
	}
	sel := tr.Table.Tasks
	if len(rest) > 0 {
		if sel, err = s.SelectTasks(rest); err != nil {
			fmt.Fprintf(stderr, "vmcore bt: %v\n", err)
			return 1
		}
	}
	out := make([]btTask, 0, len(sel))
	for _, t := range sel {
		trace := tr.Backtrace(t)
		bt := btTask{PID: t.PID, Task: fmt.Sprintf("%#x", t.Addr), CPU: t.CPU, Comm: t.Comm, Active: t.Active,
			Frames: []btFrame{}, UserRegs: regsMap(trace.User)}
		for _, f := range trace.Frames {
			bt.Frames = append(bt.Frames, btFrame{Level: f.Level, SP: fmt.Sprintf("%#x", uint64(f.Slot)), PC: fmt.Sprintf("%#x", uint64(f.PC)),
				Function: f.Function, Offset: f.Offset, Regs: regsMap(f.Exception)})
		}
		if trace.Err != nil {
			bt.Error = trace.Err.Error()
		}
		out = append(out, bt)
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		fmt.Fprintf(stderr, "vmcore bt: %v\n", err)
		return 1
	}
	return 0
}
