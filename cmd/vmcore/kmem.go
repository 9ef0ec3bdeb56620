package main

import (
	"fmt"
	"io"

	"github.com/vmcoretools/vmcore/kmem"
)

func init() {
	register(subcommand{
		name:    "kmem",
		summary: "the memory summary as crash's kmem -i prints it: vmcore kmem [-json] VMLINUX DUMP -i",
		help:    func(w io.Writer) { fmt.Fprint(w, kmemUsage) },
		run: func(args []string, stdout, stderr io.Writer) int {
			if hasJSON(args) {
				return kmemJSON(dropJSON(args), stdout, stderr)
			}
			return oneShot("kmem", args, stdout, stderr, kmemUsage)
		},
	})
}

const kmemUsage = `usage: vmcore kmem [-json] VMLINUX DUMP -i

Prints the memory summary as crash's kmem -i does (see 'help kmem' in the
session). -json prints it as one vmcore.meminfo record (kmem.Info): counts
of pages, with the parts that could not be read under "warnings".
`

// kmemJSON prints one vmcore.meminfo record.
func kmemJSON(args []string, stdout, stderr io.Writer) int {
	files, rest := splitFiles(args)
	if len(files) == 0 {
		fmt.Fprintf(stderr, "vmcore kmem -json: give the vmlinux and the dump\n\n%s", kmemUsage)
		return 2
	}
	for _, a := range rest {
		if a != "-i" {
			fmt.Fprintf(stderr, "vmcore kmem -json: %s has no JSON form; only -i\n", a)
			return 2
		}
	}
	jl := newJSONLines(stdout)
	s, closeFn, err := openSession(files, stderr)
	if err != nil {
		jl.fail(files, err)
		fmt.Fprintf(stderr, "vmcore kmem: %s\n", msg(err))
		return 1
	}
	defer closeFn()
	if s.Mismatch != nil {
		jl.mismatch = s.Mismatch.Error()
	}
	dump := s.Dump.Paths()
	in, err := func() (*kmem.Info, error) {
		ks, err := s.Translator()
		if err != nil {
			return nil, err
		}
		vals, err := s.Values()
		if err != nil {
			return nil, err
		}
		return kmem.New(ks, vals).Info()
	}()
	if err != nil {
		jl.fail(dump, err)
		fmt.Fprintf(stderr, "vmcore kmem: %s\n", msg(err))
		return 1
	}
	for _, w := range in.Warnings {
		fmt.Fprintf(stderr, "vmcore kmem: warning: %s\n", w)
	}
	if err := jl.record(schemaMemInfo, dump, in); err != nil {
		fmt.Fprintf(stderr, "vmcore kmem: %s\n", msg(err))
		return 1
	}
	return 0
}
