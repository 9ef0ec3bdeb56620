package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/vmcoretools/vmcore/triage"
	"github.com/vmcoretools/vmcore/vmcore"
)

func init() {
	register(subcommand{
		name:    "triage",
		summary: "say what happened: kind of failure, fingerprint, panic task and trace, every CPU, D-state tasks, taint, modules, memory: vmcore triage [-json] [-j N] [VMLINUX] DUMP...",
		run:     runTriage,
		help: func(w io.Writer) {
			fs, _ := triageFlags()
			flagHelp(w, triageUsage, fs)
		},
	})
}

const triageUsage = `usage: vmcore triage [-json] [-j N] [-log N] [-debug-dir DIR] [-no-vmlinux] [VMLINUX] DUMP...

Reads each dump once and reports what happened: the kind of failure (sysrq,
oops, bug, gpf, oom, hung_task, soft_lockup, hard_lockup, rcu_stall,
machine_check, warning, unknown, or none for a dump of a running machine),
its fingerprint (equal for the same bug on every format of one crash and
across rebuilds of a kernel), the panicking CPU and task with its backtrace,
the other CPUs' tasks, the tasks in D state, taint, modules, memory and the
last log lines; and what it could not determine, and why.

The kernel's types come from VMLINUX when it is the dump's kernel (one given
for many dumps is used for those it matches), else from a vmlinux found by
build ID (in each -debug-dir, then where the session looks), else from the dump's own BTF and
kallsyms; with none of them the report holds what the dump alone tells.
-json prints one vmcore.triage/1 record per dump (JSON Lines). The exit
status is 0 when every dump was analysed, 1 when one could not be read.
`

type triageOptions struct {
	debugDirs []string
	json      bool
	jobs      int
	logLines  int
	noVmlinux bool
}

func triageFlags() (*flag.FlagSet, *triageOptions) {
	fs := flag.NewFlagSet("triage", flag.ContinueOnError)
	o := &triageOptions{}
	fs.BoolVar(&o.json, "json", false, "print one JSON object ("+schemaTriage+") per dump, one per line")
	fs.IntVar(&o.jobs, "j", 1, "triage this many dumps at once (each holds one dump open)")
	fs.IntVar(&o.logLines, "log", 20, "how many of the log's last lines to report")
	fs.BoolVar(&o.noVmlinux, "no-vmlinux", false, "use no vmlinux: the dump's own BTF and kallsyms, or the dump alone")
	fs.Func("debug-dir", "look for each dump's vmlinux by build ID and release in `DIR` first (an unpacked -dbg package, a directory of vmlinux-RELEASE files); repeatable", func(d string) error {
		o.debugDirs = append(o.debugDirs, d)
		return nil
	})
	return fs, o
}

func runTriage(args []string, stdout, stderr io.Writer) int {
	fs, o := triageFlags()
	files, ok := parseFlags(fs, "triage", args, stderr)
	if !ok {
		return 2
	}
	if o.jobs < 1 || o.jobs > 256 {
		fmt.Fprintf(stderr, "vmcore triage: -j %d: give 1 to 256\n\n", o.jobs)
		subcommands["triage"].help(stderr)
		return 2
	}
	var vmlinux string
	var dumps []string
	for _, p := range files {
		kind, err := classify(p)
		if err != nil {
			fmt.Fprintf(stderr, "vmcore triage: %s\n", msg(err))
			return 1
		}
		if kind == fileVMLinux {
			if vmlinux != "" {
				fmt.Fprintf(stderr, "vmcore triage: two kernels given: %s and %s\n\n", vmlinux, p)
				subcommands["triage"].help(stderr)
				return 2
			}
			vmlinux = p
			continue
		}
		dumps = append(dumps, p)
	}
	if len(dumps) == 0 {
		fmt.Fprint(stderr, "vmcore triage: no dump file given\n\n")
		subcommands["triage"].help(stderr)
		return 2
	}
	opt := triage.Options{Vmlinux: vmlinux, NoVmlinux: o.noVmlinux, LogLines: o.logLines,
		Find: &vmcore.FindOptions{Dirs: o.debugDirs, Root: debugRoot, Log: announceDownloads(stderr)}}
	groups := vmcore.GroupSplitSets(dumps)

	// Each dump's output, printed in the order given as soon as it and
	// those before it are done; at most o.jobs dumps are open at once.
	type result struct {
		out    bytes.Buffer
		errMsg string
		failed bool
	}
	results := make([]chan *result, len(groups))
	for i := range results {
		results[i] = make(chan *result, 1)
	}
	work := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < min(o.jobs, len(groups)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				res := &result{}
				rep, err := triage.Open(context.Background(), groups[i], opt)
				jl := newJSONLines(&res.out)
				switch {
				case err != nil:
					res.failed = true
					res.errMsg = fmt.Sprintf("vmcore triage: %s\n", msg(err))
					if o.json {
						jl.fail(groups[i], err)
					}
				case o.json:
					if err := jl.record(schemaTriage, groups[i], rep); err != nil {
						res.failed = true
						res.errMsg = fmt.Sprintf("vmcore triage: %s: %v\n", strings.Join(groups[i], ","), err)
					}
				default:
					if len(groups) > 1 {
						fmt.Fprintf(&res.out, "== %s ==\n", strings.Join(groups[i], " "))
					}
					rep.WriteText(&res.out)
				}
				results[i] <- res
			}
		}()
	}
	go func() {
		for i := range groups {
			work <- i
		}
		close(work)
	}()
	status := 0
	for i := range groups {
		res := <-results[i]
		if !o.json && i > 0 && res.out.Len() > 0 {
			fmt.Fprintln(stdout)
		}
		stdout.Write(res.out.Bytes())
		if res.errMsg != "" {
			fmt.Fprint(stderr, res.errMsg)
		}
		if res.failed {
			status = 1
		}
	}
	wg.Wait()
	return status
}
