package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/vmcoretools/vmcore/kmem"
)

func init() {
	register(subcommand{
		name:    "kmem",
		summary: "memory as crash's kmem prints it: vmcore kmem [-json] VMLINUX DUMP -i|-s|-V|-v|-z|-o",
		help:    func(w io.Writer) { fmt.Fprint(w, kmemUsage) },
		run: func(args []string, stdout, stderr io.Writer) int {
			if hasJSON(args) {
				return kmemJSON(dropJSON(args), stdout, stderr)
			}
			return oneShot("kmem", args, stdout, stderr, kmemUsage)
		},
	})
}

const kmemUsage = `usage: vmcore kmem [-json] VMLINUX DUMP -i|-s [cache]|-V|-v|-z|-o

Prints what crash's kmem prints with that option (see 'help kmem' in the
session): -i the memory summary, -s the SLUB caches, -V the vm_stat and
event counters, -v the vmalloc areas, -z the zones, -o the per-CPU offsets.
-json prints the same values as records: -i one vmcore.meminfo (kmem.Info,
the parts that could not be read under "warnings"), -s one vmcore.slabcache
per cache (kmem.Cache), -V one vmcore.vmstat (kmem.VMStats), -v one
vmcore.vmaparea per area (kmem.VmapArea), -z one vmcore.zone per zone
(kmem.Zone); -o has no JSON form.
`

// kmemJSON prints one vmcore.meminfo record.
func kmemJSON(args []string, stdout, stderr io.Writer) int {
	files, rest := splitFiles(args)
	if len(files) == 0 {
		fmt.Fprintf(stderr, "vmcore kmem -json: give the vmlinux and the dump\n\n%s", kmemUsage)
		return 2
	}
	opt, name := "", ""
	for _, a := range rest {
		switch {
		case a == "-i" || a == "-s" || a == "-V" || a == "-v" || a == "-z":
			if opt != "" {
				fmt.Fprintf(stderr, "vmcore kmem -json: give one of -i, -s, -V, -v and -z\n")
				return 2
			}
			opt = a
		case opt == "-s" && name == "" && !strings.HasPrefix(a, "-"):
			name = a
		default:
			fmt.Fprintf(stderr, "vmcore kmem -json: %s has no JSON form (-i, -s [cache], -V, -v and -z have)\n", a)
			return 2
		}
	}
	if opt == "" {
		fmt.Fprintf(stderr, "vmcore kmem -json: give one of -i, -s, -V, -v and -z\n\n%s", kmemUsage)
		return 2
	}
	s, run, closeFn, ok := startJSON("kmem", files, stdout, stderr)
	if !ok {
		return 1
	}
	defer closeFn()
	fail := run.failed
	ks, err := s.Translator()
	if err != nil {
		return fail(err)
	}
	vals, err := s.Values()
	if err != nil {
		return fail(err)
	}
	mem := kmem.New(ks, vals)
	var recs []any
	schema := ""
	switch opt {
	case "-i":
		in, err := mem.Info()
		if err != nil {
			return fail(err)
		}
		for _, w := range in.Warnings {
			fmt.Fprintf(stderr, "vmcore kmem: warning: %s\n", w)
		}
		schema, recs = schemaMemInfo, []any{in}
	case "-V":
		st, err := mem.VMStats()
		if err != nil {
			return fail(err)
		}
		schema, recs = schemaVMStat, []any{st}
	case "-v":
		areas, err := mem.VmapAreas()
		if err != nil {
			return fail(err)
		}
		schema = schemaVmapArea
		for i := range areas {
			recs = append(recs, vmapAreaRecord{&areas[i], areas[i].Size()})
		}
	case "-z":
		zones, err := mem.Zones()
		if err != nil {
			return fail(err)
		}
		schema = schemaZone
		for i := range zones {
			recs = append(recs, &zones[i])
		}
	case "-s":
		caches, err := mem.Caches()
		if err != nil {
			return fail(err)
		}
		schema = schemaSlabCache
		for i := range caches {
			if name == "" || caches[i].Name == name {
				recs = append(recs, &caches[i])
			}
		}
		if name != "" && len(recs) == 0 {
			return fail(fmt.Errorf("no slab cache named %q", name))
		}
	}
	for _, r := range recs {
		if err := run.record(schema, r); err != nil {
			fmt.Fprintf(stderr, "vmcore kmem: %s\n", msg(err))
			return 1
		}
	}
	return 0
}

// vmapAreaRecord is a kmem.VmapArea with its size, as kmem -v shows it.
type vmapAreaRecord struct {
	*kmem.VmapArea
	Size uint64 `json:"size"`
}
