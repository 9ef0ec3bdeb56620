package main

import (
	"fmt"
	"io"

	"github.com/vmcoretools/vmcore/kmem"
)

func init() {
	register(subcommand{
		name:    "search",
		summary: "search memory as crash's search does: vmcore search [-json] VMLINUX DUMP [-p|-u|-k] [-s start] [-e end|-l len] [-w|-h|-c] VALUE...",
		help:    func(w io.Writer) { fmt.Fprint(w, searchUsage) },
		run: func(args []string, stdout, stderr io.Writer) int {
			if hasJSON(args) {
				return searchJSON(dropJSON(args), stdout, stderr)
			}
			return oneShot("search", args, stdout, stderr, searchUsage)
		},
	})
}

const searchUsage = `usage: vmcore search [-json] VMLINUX DUMP [-k|-p|-u] [-s start] [-e end|-l length]
                     [-m mask] [-w|-h|-c] [-x count] VALUE...

Searches memory as crash's search does (see 'help search' in the session):
kernel virtual memory by default, physical memory with -p, the panic
task's user memory with -u; 64-bit values, or 32-bit (-w), 16-bit (-h),
strings (-c). Pages the dump lacks are skipped and counted. -json prints
one vmcore.match record per match (kmem.Match: the address, which value
matched, the value found, and for a string the bytes from the match,
base64-encoded), then, when a filtered dump lacked pages of the space, a
vmcore.warning saying how many were not searched; -x has no JSON form.
`

// searchJSON prints the matches as vmcore.match records.
func searchJSON(args []string, stdout, stderr io.Writer) int {
	files, rest := splitFiles(args)
	if len(files) == 0 {
		fmt.Fprintf(stderr, "vmcore search -json: give the vmlinux and the dump\n\n%s", searchUsage)
		return 2
	}
	for _, a := range rest {
		if a == "-x" {
			fmt.Fprintf(stderr, "vmcore search -json: -x (context lines) has no JSON form\n")
			return 2
		}
	}
	s, run, closeFn, ok := startJSON("search", files, stdout, stderr)
	if !ok {
		return 1
	}
	defer closeFn()
	q, err := s.SearchQuery(rest, stderr)
	if err != nil {
		return run.failed(err)
	}
	ks, err := s.Translator()
	if err != nil {
		return run.failed(err)
	}
	vals, err := s.Values()
	if err != nil {
		return run.failed(err)
	}
	var st kmem.SearchStats
	for m, err := range kmem.New(ks, vals).Search(s.Dump.Phys(), q, &st) {
		if err != nil {
			return run.failed(err)
		}
		if err := run.record(schemaMatch, &m); err != nil {
			fmt.Fprintf(stderr, "vmcore search: %s\n", msg(err))
			return 1
		}
	}
	if st.Excluded > 0 {
		w := fmt.Sprintf("%d pages excluded from the dump (by its dump level, or lost) were not searched", st.Excluded)
		run.jl.warn(run.dump, w)
		fmt.Fprintf(stderr, "vmcore search: warning: %s\n", w)
	}
	return 0
}
