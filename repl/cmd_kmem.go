package repl

import (
	"fmt"
	"io"
	"strings"

	"github.com/vmcoretools/vmcore/kmem"
	"github.com/vmcoretools/vmcore/value"
	"github.com/vmcoretools/vmcore/walk"
)

func init() {
	register(&Command{
		Name:    "kmem",
		Usage:   "-i | -V | -v | -z | -o | -s [name]",
		Summary: "kernel memory",
		Help: `  -i  the memory summary, as crash prints it: total RAM, free and used
      pages, shared pages (crash's tally of mem_map: pages not reserved
      with more than one reference), buffers (the block devices' page
      cache), cached pages, slab, huge pages, swap and the overcommit
      limit, in pages, bytes and percentages.

  -V  the kernel's memory statistics: the zone, node and NUMA counters
      (vm_zone_stat, vm_node_stat, vm_numa_stat) and the event counters
      (vm_event_states) summed over the CPUs, named by the kernel's enums.

  -s  the SLUB caches: object size, objects allocated and in all, slabs,
      slab size and name; with a name, that cache only.

  -v  the busy vmalloc areas (those with a vm_struct: vmalloc, vmap,
      ioremap, modules) by address: the vmap_area, its vm_struct, the
      address range (a guard page included) and its size in bytes.

  -z  each node's zones: size, present pages, watermarks and the zone's
      vm_stat counters.

  -o  each CPU's per-CPU area offset.

crash's other kmem options (-S, -p, -n, -f, -g, -h and an address) are
not here yet.`,
		Options:      []string{"-i", "-V", "-v", "-z", "-o", "-s"},
		NeedsVMLinux: true,
		Run:          runKmem,
	})
}

func runKmem(c *Context, args []string) error {
	for _, a := range args {
		// crash's options that are not here yet are named as such, not
		// as unknown ones.
		if len(a) == 2 && a[0] == '-' && strings.IndexByte("SpnfFgchlLrRC", a[1]) >= 0 {
			return fmt.Errorf("%s is not here yet (this kmem has -i, -s, -V, -v, -z and -o)", a)
		}
	}
	opts, rest, err := getopt(args, "iVvzos", "")
	if err != nil {
		return err
	}
	if len(opts) != 1 || len(rest) > 1 || len(rest) == 1 && opts[0].name != "s" {
		return usagef("give one of -i, -V, -v, -z, -o and -s [name] (the other options are not here yet)")
	}
	s := c.Session
	ks, err := s.Translator()
	if err != nil {
		return err
	}
	var vals *value.Context
	if vals, err = s.Values(); err != nil {
		return err
	}
	mem := kmem.New(ks, vals)
	switch opts[0].name {
	case "o":
		fmt.Fprintln(c.Out, "PER-CPU OFFSET VALUES:")
		for cpu, err := range walk.PossibleCPUs(vals) {
			if err != nil {
				return err
			}
			off, err := walk.PerCPUOffset(vals, cpu)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.Out, "  CPU %d: %x\n", cpu, off)
		}
		return nil
	case "s":
		caches, err := mem.Caches()
		found := false
		for _, kc := range caches {
			if len(rest) == 1 && kc.Name != rest[0] {
				continue
			}
			if !found || len(rest) == 1 {
				fmt.Fprintln(c.Out, "CACHE             OBJSIZE  ALLOCATED     TOTAL  SLABS  SSIZE  NAME")
			}
			found = true
			writeCache(c.Out, c.Err, &kc)
		}
		if err == nil && len(rest) == 1 && !found {
			return fmt.Errorf("invalid slab cache name: %s", rest[0])
		}
		return err
	case "v":
		areas, err := mem.VmapAreas()
		if len(areas) > 0 {
			fmt.Fprintln(c.Out, "   VMAP_AREA         VM_STRUCT                 ADDRESS RANGE                SIZE")
		}
		for _, a := range areas {
			fmt.Fprintf(c.Out, "%-16x  %-16x  %16x - %-16x  %7d\n", uint64(a.Addr), uint64(a.VMStruct), uint64(a.Start), uint64(a.End), a.Size())
		}
		return err
	case "z":
		zones, err := mem.Zones()
		for _, z := range zones {
			writeZone(c.Out, &z)
		}
		return err
	}
	if opts[0].name == "V" {
		st, err := mem.VMStats()
		if err != nil {
			return err
		}
		writeVMStats(c.Out, st)
		return nil
	}
	in, err := mem.Info()
	if err != nil {
		return err
	}
	writeMemInfo(c.Out, in)
	for _, w := range in.Warnings {
		fmt.Fprintf(c.Err, "kmem: WARNING: %s\n", w)
	}
	return nil
}

// writeMemInfo prints kmem -i as crash 8.0.6 does.
func writeMemInfo(w io.Writer, in *kmem.Info) {
	size := func(pages uint64) string { return pagesToSize(pages, in.PageSize) }
	pct := func(n, of uint64) uint64 {
		if of == 0 {
			return 0
		}
		return n * 100 / of
	}
	line := func(label string, n uint64, of string, total uint64) {
		fmt.Fprintf(w, "%13s  %7d  %11s  %3d%% of %s\n", label, n, size(n), pct(n, total), of)
	}
	head := func(label string, n uint64) {
		fmt.Fprintf(w, "%13s  %7d  %11s         ----\n", label, n, size(n))
	}
	fmt.Fprintln(w, "                 PAGES        TOTAL      PERCENTAGE")
	total := in.TotalPages
	head("TOTAL MEM", total)
	line("FREE", in.FreePages, "TOTAL MEM", total)
	line("USED", total-min(in.FreePages, total), "TOTAL MEM", total)
	line("SHARED", in.SharedPages, "TOTAL MEM", total)
	line("BUFFERS", in.BufferPages, "TOTAL MEM", total)
	line("CACHED", in.CachedPages, "TOTAL MEM", total)
	line("SLAB", in.SlabPages, "TOTAL MEM", total)
	if in.HighPages != nil {
		high := *in.HighPages
		fmt.Fprintln(w)
		line("TOTAL HIGH", high, "TOTAL MEM", total)
		var freeHigh uint64
		if in.FreeHighPages != nil {
			freeHigh = *in.FreeHighPages
		}
		line("FREE HIGH", freeHigh, "TOTAL HIGH", high)
		low := total - high
		line("TOTAL LOW", low, "TOTAL MEM", total)
		line("FREE LOW", in.FreePages-freeHigh, "TOTAL LOW", low)
	}
	if h := in.Huge; h != nil {
		fmt.Fprintln(w)
		head("TOTAL HUGE", h.TotalPages)
		line("HUGE FREE", h.FreePages, "TOTAL HUGE", h.TotalPages)
	}
	fmt.Fprintln(w)
	if sw := in.Swap; sw != nil {
		head("TOTAL SWAP", sw.TotalPages)
		line("SWAP USED", sw.UsedPages, "TOTAL SWAP", sw.TotalPages)
		line("SWAP FREE", sw.TotalPages-min(sw.UsedPages, sw.TotalPages), "TOTAL SWAP", sw.TotalPages)
	}
	// crash leaves the commit lines out where it found no huge page
	// accounting and no overcommit_kbytes.
	if cm := in.Commit; cm != nil && in.Huge != nil {
		fmt.Fprintln(w)
		head("COMMIT LIMIT", cm.LimitPages)
		committed := uint64(cm.CommittedPages)
		if cm.LimitPages != 0 {
			line("COMMITTED", committed, "TOTAL LIMIT", cm.LimitPages)
		} else {
			head("COMMITTED", committed)
		}
	}
}

// pagesToSize is crash's pages_to_size: "0", "640 KB", "72.2 MB",
// "1.5 GB", with ".0" dropped.
func pagesToSize(pages, pageSize uint64) string {
	if pages == 0 {
		return "0"
	}
	total := float64(pages) * float64(pageSize)
	var s string
	switch {
	case total >= 1<<30:
		s = fmt.Sprintf("%.1f GB", total/(1<<30))
	case total >= 1<<20:
		s = fmt.Sprintf("%.1f MB", total/(1<<20))
	default:
		return fmt.Sprintf("%d KB", uint64(total/(1<<10)))
	}
	if n := len(s); n > 5 && s[n-5:n-3] == ".0" {
		s = s[:n-5] + s[n-3:]
	}
	return s
}

// writeVMStats prints kmem -V as crash does: each section's names
// right-aligned, the zone, node and NUMA counters to one width, the
// events to their own.
func writeVMStats(w io.Writer, st *kmem.VMStats) {
	width := func(cs ...[]kmem.Counter) int {
		n := 0
		for _, c := range cs {
			for _, x := range c {
				n = max(n, len(x.Name))
			}
		}
		return n
	}
	stat := width(st.Zone, st.Node, st.NUMA)
	section := func(title string, cs []kmem.Counter, n int, unsigned bool) {
		fmt.Fprintf(w, "  %s:\n", title)
		for _, c := range cs {
			if unsigned {
				fmt.Fprintf(w, "%*s: %d\n", n, c.Name, uint64(c.Value))
			} else {
				fmt.Fprintf(w, "%*s: %d\n", n, c.Name, c.Value)
			}
		}
	}
	section("VM_ZONE_STAT", st.Zone, stat, false)
	if st.Node != nil {
		fmt.Fprintln(w)
		section("VM_NODE_STAT", st.Node, stat, false)
	}
	if len(st.NUMA) > 0 {
		fmt.Fprintln(w)
		section("VM_NUMA_STAT", st.NUMA, stat, false)
	}
	if st.Events != nil {
		fmt.Fprintln(w)
		section("VM_EVENT_STATES", st.Events, width(st.Events), true)
	}
}

// writeZone prints one zone as crash's kmem -z does.
func writeZone(w io.Writer, z *kmem.Zone) {
	fmt.Fprintf(w, "NODE: %d  ZONE: %d  ADDR: %x  NAME: \"%s\"\n", z.Node, z.Index, z.Addr, z.Name)
	if z.SpannedPages == 0 {
		fmt.Fprintf(w, "  [unpopulated]\n\n")
		return
	}
	fmt.Fprintf(w, "  SIZE: %d", z.SpannedPages)
	if z.PresentPages < z.SpannedPages {
		fmt.Fprintf(w, "  PRESENT: %d", z.PresentPages)
	}
	fmt.Fprintf(w, "  MIN/LOW/HIGH: %d/%d/%d\n  VM_STAT:\n", z.Min, z.Low, z.High)
	n := 0
	for _, c := range z.Stats {
		n = max(n, len(c.Name))
	}
	for _, c := range z.Stats {
		fmt.Fprintf(w, "%*s: %d\n", n, c.Name, c.Value)
	}
	fmt.Fprint(w, "\n\n")
}

// writeCache prints one cache's line as crash's kmem -s does.
func writeCache(w, errw io.Writer, kc *kmem.Cache) {
	if kc.Err != "" {
		fmt.Fprintf(errw, "kmem: %s: cannot gather relevant slab data: %s\n", kc.Name, kc.Err)
		fmt.Fprintf(w, "%-16x %8d  %9s  %8s  %5s  %4dk  %s\n", kc.Addr, kc.ObjectSize, "?", "?", "?", kc.SlabBytes/1024, kc.Name)
		return
	}
	fmt.Fprintf(w, "%-16x %8d  %9d  %8d  %5d  %4dk  %s\n", kc.Addr, kc.ObjectSize, kc.Allocated, kc.Total, kc.Slabs, kc.SlabBytes/1024, kc.Name)
}
