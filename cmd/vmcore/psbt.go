package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
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

const psUsage = `usage: vmcore ps [-json] VMLINUX DUMP [-k|-u] [-p|-c|-l] [pid | task | command] ...

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
