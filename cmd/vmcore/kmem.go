package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/vmcoretools/vmcore/arch"
	"github.com/vmcoretools/vmcore/kmem"
)

func init() {
	register(subcommand{
		name:    "kmem",
		summary: "memory as crash's kmem prints it: vmcore kmem [-json] VMLINUX DUMP -i|-s|-S|-V|-v|-f|-h|-p|-z|-o|ADDRESS",
		help:    func(w io.Writer) { fmt.Fprint(w, kmemUsage) },
		hOption: true,
		run: func(args []string, stdout, stderr io.Writer) int {
			if hasJSON(args) {
				return kmemJSON(dropJSON(args), stdout, stderr)
			}
			return oneShot("kmem", args, stdout, stderr, kmemUsage)
		},
	})
}

const kmemUsage = `usage: vmcore kmem [-json] VMLINUX DUMP -i|-s [cache]|-S cache|-V|-v|-f|-h|-g [flags]|-n|-p [addr]|-z|-o|ADDRESS...

Prints what crash's kmem prints with that option (see 'help kmem' in the
session): -i the memory summary, -s the SLUB caches, -S one cache's slabs
and objects, -V the vm_stat and event counters, -v the vmalloc areas, -f
the free lists, -h the huge page pools, -g the page flags, -n the nodes,
sections and memory blocks, -p the struct pages, -z the zones, -o the
per-CPU offsets, ADDRESS what an address is (-h is this help until the
files are named).
-json prints the same values as records: -i one vmcore.meminfo (kmem.Info,
the parts that could not be read under "warnings"), -s one vmcore.slabcache
per cache (kmem.Cache), -S one vmcore.cacheslabs (kmem.CacheSlabs), -V one
vmcore.vmstat (kmem.VMStats), -v one vmcore.vmaparea per area
(kmem.VmapArea), -f one vmcore.zonefree per zone (kmem.ZoneFree), -h one
vmcore.hugepool per pool (kmem.HugePool), -n one vmcore.memlayout (the
nodes, sections and memory blocks), -p one vmcore.page per struct page
(kmem.PageInfo), -z one vmcore.zone per zone (kmem.Zone), -g one
vmcore.pageflag per PG_ flag (kmem.PageFlag and its value; with flags,
those set in them), ADDRESS one
vmcore.address per address (vmcore.AddressInfo: its symbol, vmalloc area,
slab object, free block, task, stack and struct page); -o has no JSON
form.
`

// kmemJSON prints the records of one kmem view.
func kmemJSON(args []string, stdout, stderr io.Writer) int {
	files, rest := splitFiles(args)
	if len(files) == 0 {
		fmt.Fprintf(stderr, "vmcore kmem -json: give the vmlinux and the dump\n\n%s", kmemUsage)
		return 2
	}
	opt, name := "", ""
	var addrs []uint64
	for _, a := range rest {
		addr, hex := parseHex(a)
		switch {
		case opt == "" && hex:
			addrs = append(addrs, addr)
		case strings.Contains(" -i -s -S -V -v -f -g -h -n -p -z ", " "+a+" "):
			if opt != "" || len(addrs) > 0 {
				fmt.Fprintf(stderr, "vmcore kmem -json: give one of -i, -s, -S, -V, -v, -f, -g, -h, -n, -p, -z and addresses\n")
				return 2
			}
			opt = a
		case (opt == "-s" || opt == "-S" || opt == "-p" || opt == "-g") && name == "" && !strings.HasPrefix(a, "-"):
			name = a
		default:
			fmt.Fprintf(stderr, "vmcore kmem -json: %s has no JSON form (-i, -s [cache], -S cache, -V, -v, -f, -g [flags], -h, -n, -p [address], -z and ADDRESS have)\n", a)
			return 2
		}
	}
	if opt == "" && len(addrs) == 0 || opt == "-S" && name == "" {
		fmt.Fprintf(stderr, "vmcore kmem -json: give one of -i, -s, -S cache, -V, -v, -f, -g, -h, -n, -p, -z and addresses\n\n%s", kmemUsage)
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
	mem := kmem.New(ks, vals).UseVMCOREINFO(s.Dump.Info())
	var recs []any
	schema := ""
	switch opt {
	case "":
		k := s.Kernel
		if k == nil {
			return fail(fmt.Errorf("the vmlinux and the dump give no kernel model"))
		}
		schema = schemaAddress
		for _, a := range addrs {
			info, err := k.Identify(a)
			if err != nil {
				return fail(err)
			}
			for _, e := range info.Errors {
				fmt.Fprintf(stderr, "vmcore kmem: warning: %#x: %s\n", a, e)
			}
			recs = append(recs, info)
		}
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
	case "-S":
		cs, err := mem.CacheSlabs(name)
		if err != nil {
			return fail(err)
		}
		schema, recs = schemaCacheSlabs, []any{cs}
	case "-f":
		zones, err := mem.FreeAreas()
		if err != nil {
			return fail(err)
		}
		schema = schemaZoneFree
		for i := range zones {
			recs = append(recs, &zones[i])
		}
	case "-n":
		var lay memLayout
		var err error
		if lay.Nodes, err = mem.Nodes(); err != nil {
			return fail(err)
		}
		if lay.Sections, err = mem.Sections(); err != nil {
			return fail(err)
		}
		if lay.Blocks, err = mem.MemoryBlocks(); err != nil {
			return fail(err)
		}
		schema, recs = schemaMemLayout, []any{&lay}
	case "-g":
		flags := uint64(0)
		if name != "" {
			var ok bool
			if flags, ok = parseHex(name); !ok {
				return fail(fmt.Errorf("invalid flags: %s", name))
			}
		}
		pf, err := mem.PageFlags()
		if err != nil {
			return fail(err)
		}
		schema = schemaPageFlag
		for _, f := range pf {
			// The PG_ flags (not the __NR_PAGEFLAGS count nor the
			// aliases' limits), set in flags when given.
			if !strings.HasPrefix(f.Name, "PG_") || f.Bit < 0 || f.Bit > 63 || flags != 0 && flags&(1<<f.Bit) == 0 {
				continue
			}
			recs = append(recs, pageFlagRecord{f, arch.Word(1) << f.Bit})
		}
	case "-h":
		pools, _, err := mem.HugePools()
		if err != nil {
			return fail(err)
		}
		schema = schemaHugePool
		for i := range pools {
			recs = append(recs, &pools[i])
		}
	case "-p":
		// One record per page, written as the walk goes (a million
		// pages are not kept).
		if name != "" {
			addr, ok := parseHex(name)
			if !ok {
				return fail(fmt.Errorf("invalid address: %s", name))
			}
			p, err := mem.PageOf(addr, !ks.KernelAddr(addr))
			if err != nil {
				return fail(err)
			}
			schema, recs = schemaPage, []any{&p}
			break
		}
		for p, err := range mem.Pages() {
			if err != nil {
				return fail(err)
			}
			if err := run.record(schemaPage, &p); err != nil {
				fmt.Fprintf(stderr, "vmcore kmem: %s\n", msg(err))
				return 1
			}
		}
		return 0
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

// memLayout is kmem -n's record: the nodes with their zones, the memory
// sections and the memory block devices.
type memLayout struct {
	Nodes    []kmem.Node        `json:"nodes"`
	Sections []kmem.Section     `json:"sections"`
	Blocks   []kmem.MemoryBlock `json:"memory_blocks"`
}

// parseHex reads a hexadecimal number, with or without 0x, as kmem
// takes addresses and flags.
func parseHex(a string) (uint64, bool) {
	x, err := strconv.ParseUint(strings.TrimPrefix(a, "0x"), 16, 64)
	return x, err == nil
}

// pageFlagRecord is a kmem.PageFlag with its value, as kmem -g shows it.
type pageFlagRecord struct {
	kmem.PageFlag
	Value arch.Word `json:"value"`
}
