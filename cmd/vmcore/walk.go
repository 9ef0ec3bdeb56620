package main

import (
	"fmt"
	"io"
)

func init() {
	for _, w := range []struct {
		name, usage string
		hOption     bool
	}{
		{"list", listUsage, true}, // list -h: an embedded head
		{"tree", treeUsage, false},
	} {
		register(subcommand{
			name:    w.name,
			summary: fmt.Sprintf("walk a %s as crash's %s does: vmcore %s [-json] VMLINUX DUMP [%s options] start", map[string]string{"list": "linked list", "tree": "tree (rbtree, xarray, radix, maple)"}[w.name], w.name, w.name, w.name),
			help:    func(out io.Writer) { fmt.Fprint(out, w.usage) },
			hOption: w.hOption,
			run: func(args []string, stdout, stderr io.Writer) int {
				if hasJSON(args) {
					return walkJSON(w.name, w.usage, dropJSON(args), stdout, stderr)
				}
				return oneShot(w.name, args, stdout, stderr, w.usage)
			},
		})
	}
}

const listUsage = `usage: vmcore list [-json] VMLINUX DUMP [-o offset] [-e end] [-s struct[.member,...] [-l offset]]
                   [-x|-d] [-r] [-h|-H] start

Walks a linked list as crash's list does (see 'help list' in the session;
-h is list's own option once the files are named):
  vmcore list VMLINUX DUMP task_struct.tasks -s task_struct.pid,comm -h init_task
-json prints one vmcore.entry record per element: its address and, with -s,
the structure (or the named members) as JSON values; -x and -d have no
effect on it.
`

const treeUsage = `usage: vmcore tree [-json] VMLINUX DUMP [-t rbtree|xarray|radix|maple] [-r offset] [-o offset]
                   [-s struct[.member,...]]... [-l] [-p] [-N] [-x|-d] start

Walks a tree as crash's tree does (see 'help tree' in the session):
  vmcore tree VMLINUX DUMP -t xarray -r pid_namespace.idr -p init_pid_ns
-json prints one vmcore.entry record per entry: its address, with -p its
place, and with -s the structures (or the named members) as JSON values.
`

// walkJSON prints the entries of a list or tree walk as vmcore.entry
// records.
func walkJSON(name, usage string, args []string, stdout, stderr io.Writer) int {
	files, rest := splitFiles(args)
	if len(files) == 0 {
		fmt.Fprintf(stderr, "vmcore %s -json: give the vmlinux and the dump\n\n%s", name, usage)
		return 2
	}
	s, run, closeFn, ok := startJSON(name, files, stdout, stderr)
	if !ok {
		return 1
	}
	defer closeFn()
	entries, err := s.Walk(name, rest)
	if err != nil {
		return run.failed(err)
	}
	for e, err := range entries {
		if err != nil {
			return run.failed(err)
		}
		if err := run.record(schemaEntry, &e); err != nil {
			fmt.Fprintf(stderr, "vmcore %s: %s\n", name, msg(err))
			return 1
		}
	}
	return 0
}
