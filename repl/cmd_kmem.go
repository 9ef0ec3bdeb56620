package repl

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/vmcoretools/vmcore/arch"
	"github.com/vmcoretools/vmcore/kmem"
	"github.com/vmcoretools/vmcore/tasks"
	"github.com/vmcoretools/vmcore/value"
	"github.com/vmcoretools/vmcore/walk"
)

func init() {
	register(&Command{
		Name: "kmem",
		Usage: "[-f|-F|-c|-C|-i|-v|-V|-n|-z|-o|-h] [-p | -m member[,member]]\n" +
			"[[-s|-S|-S=cpu[s]|-r] [slab] [-I slab[,slab]]] [-g [flags]] [[-P] address]]",
		Summary: "kernel memory",
		Help: `  -i  the memory summary, as crash prints it: total RAM, free and used
      pages, shared pages (crash's tally of mem_map: pages not reserved
      with more than one reference), buffers (the block devices' page
      cache), cached pages, slab, huge pages, swap and the overcommit
      limit, in pages, bytes and percentages.

  -f  each zone's free memory as the buddy allocator lists it: for each
      order and migrate type, the free list's address, its blocks and
      pages; then the zones' free pages, "verified" when the lists hold
      as many. With an address: the free block holding it, if any.

  -g  the kernel's struct page flags (enum pageflags): name, bit and
      value; with a hexadecimal value, the flags set in it.

  -h  the huge page pools (hstates): page size, free and total huge
      pages, name.

  -n  the memory nodes (size, pglist_data, zones, mem_map), their zones,
      the memory sections (SPARSEMEM: address, coded and decoded mem_map,
      state: Present, has Mem_map, Online, Early) and the memory block
      devices (name, physical range, node, state, first section).

  -p  every struct page (address, physical address, mapping, index,
      reference count, flags with their names); with an address, the page
      it is (a struct page), or holds it (a kernel virtual address), or, for
      any other number, the page of that physical address.

  -V  the kernel's memory statistics: the zone, node and NUMA counters
      (vm_zone_stat, vm_node_stat, vm_numa_stat) and the event counters
      (vm_event_states) summed over the CPUs, named by the kernel's enums.

  -s  the SLUB caches: object size, objects allocated and in all, slabs,
      slab size and name; with a name, that cache only; with an address,
      the cache, slab and object holding it (-S: every object of that
      slab).

  -v  the busy vmalloc areas (those with a vm_struct: vmalloc, vmap,
      ioremap, modules) by address: the vmap_area, its vm_struct, the
      address range (a guard page included) and its size in bytes.

  -S [name]  the cache's slabs (every cache's without a name): each CPU's current slab and partial slabs
      with every object, free or [allocated] (and free on the CPU's own
      freelist: "cpu N cache"), then each node's counters and partial
      slabs, and its full slabs when the kernel keeps them.

  -z  each node's zones: size, present pages, watermarks and the zone's
      vm_stat counters.

  -o  each CPU's per-CPU area offset.

  address  what the address is, as crash's kmem says it: the kernel
      symbol holding it; the vmalloc area (and a task whose stack it is);
      the slab cache, slab and object holding it, allocated or free; the
      task whose task_struct or stack holds it; and its struct page. A
      number that is no kernel virtual address is a physical one.

crash's other kmem options (-c, -C, -F, -l, -L, -r, -m, -I) are
not here yet.`,
		Options:      []string{"-i", "-f", "-g", "-h", "-n", "-p", "-V", "-v", "-z", "-o", "-s", "-S"},
		NeedsVMLinux: true,
		FromBTF:      true,
		Run:          runKmem,
	})
}

func runKmem(c *Context, args []string) error {
	for _, a := range args {
		// crash's options that are not here yet are named as such, not
		// as unknown ones.
		if len(a) == 2 && a[0] == '-' && strings.IndexByte("FclLrRC", a[1]) >= 0 {
			return fmt.Errorf("%s is not here yet (this kmem has -i, -f, -g, -h, -n, -p, -s, -S, -V, -v, -z and -o)", a)
		}
	}
	opts, rest, err := getopt(args, "ifghnpVvzosS", "")
	if err != nil {
		return err
	}
	if len(opts) == 0 && len(rest) > 0 {
		for _, a := range rest {
			if _, ok := parseHex(a); !ok {
				return usagef("") // crash: kmem takes only hexadecimal addresses
			}
		}
	} else if len(opts) != 1 || len(rest) > 1 || len(rest) == 1 && strings.IndexByte("sgpSf", opts[0].name[0]) < 0 {
		return usagef("give one of -i, -f, -g [flags], -h, -p [address], -V, -v, -z, -o and -s [name] (the other options are not here yet)")
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
	mem := kmem.New(ks, vals).UseVMCOREINFO(s.Dump.Info())
	if len(opts) == 0 {
		for i, a := range rest {
			if i > 0 {
				fmt.Fprintln(c.Out)
			}
			addr, _ := parseHex(a)
			if err := kmemAddress(c, mem, addr); err != nil {
				return err
			}
		}
		return nil
	}
	if n := opts[0].name; (n == "s" || n == "S") && len(rest) == 1 {
		// A hexadecimal argument is an address, as in crash: the cache,
		// slab and object holding it (with -S, all the slab's objects).
		if addr, ok := parseHex(rest[0]); ok {
			return kmemSlabAddress(c, mem, addr, n == "S")
		}
	}
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
	case "n":
		return writeMemoryLayout(c.Out, mem, ks.PageSize())
	case "S":
		if len(rest) == 0 {
			caches, err := mem.Caches()
			if err != nil {
				return err
			}
			for i := range caches {
				if err := c.Stopped(); err != nil {
					return err
				}
				cs, err := mem.SlabsOf(&caches[i])
				if err != nil {
					fmt.Fprintf(c.Err, "kmem: %s: %v\n", caches[i].Name, err)
					continue
				}
				writeCacheSlabs(c.Out, c.Err, cs)
			}
			return nil
		}
		cs, err := mem.CacheSlabs(rest[0])
		if err != nil {
			return err
		}
		writeCacheSlabs(c.Out, c.Err, cs)
		return nil
	case "g":
		var flags uint64
		if len(rest) == 1 {
			var ok bool
			if flags, ok = parseHex(rest[0]); !ok {
				return fmt.Errorf("invalid input: \"%s\"", rest[0])
			}
		}
		pf, err := mem.PageFlags()
		if err != nil {
			return err
		}
		writePageFlags(c.Out, pf, flags)
		return nil
	case "p":
		const header = "      PAGE       PHYSICAL      MAPPING       INDEX CNT FLAGS"
		if len(rest) == 1 {
			addr, ok := parseHex(rest[0])
			if !ok {
				return fmt.Errorf("invalid input: \"%s\"", rest[0])
			}
			p, err := mem.PageOf(addr, !ks.KernelAddr(addr))
			if err != nil {
				return err
			}
			fmt.Fprintln(c.Out, header)
			writePage(c.Out, &p)
			return nil
		}
		fmt.Fprintln(c.Out, header)
		for p, err := range mem.Pages() {
			if err != nil {
				return err
			}
			if err := c.Stopped(); err != nil {
				return err
			}
			writePage(c.Out, &p)
		}
		return nil
	case "h":
		pools, ok, err := mem.HugePools()
		if err != nil {
			return err
		}
		if !ok {
			return errors.New("hstates[] array does not exist")
		}
		fmt.Fprintf(c.Out, "%s   SIZE    FREE   TOTAL  NAME\n", centerIn("HSTATE", 16, false))
		for _, p := range pools {
			fmt.Fprintf(c.Out, "%x  %5s  %6d  %6d  %s\n", uint64(p.Addr), hugeSize(ks.PageSize()<<p.Order), p.FreePages, p.TotalPages, p.Name)
		}
		return nil
	case "f":
		if len(rest) == 1 {
			// The free block holding an address, if any.
			addr, ok := parseHex(rest[0])
			if !ok {
				return fmt.Errorf("invalid input: \"%s\"", rest[0])
			}
			sp, ok := kmemSearchPhys(mem, addr)
			if !ok {
				return nil
			}
			if !kmemHasPage(mem, sp) {
				fmt.Fprintf(c.Err, "kmem: cannot determine page for %x\n", addr)
				return nil
			}
			fb, found, err := mem.FreeBlockOf(sp)
			if err != nil || !found {
				return err
			}
			writeFreeBlock(c.Out, fb, addr, !ks.KernelAddr(addr), ks.PageSize())
			return nil
		}
		zones, err := mem.FreeAreas()
		if err != nil {
			return err
		}
		writeFreeAreas(c.Out, c.Err, zones, ks.PageSize())
		return nil
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

// writeFreeAreas prints the zones' free lists as crash's kmem -f does.
func writeFreeAreas(w, errw io.Writer, zones []kmem.ZoneFree, pageSize uint64) {
	var sum, found uint64
	nodes := 0
	for _, z := range zones {
		nodes = max(nodes, z.Node+1)
	}
	for _, z := range zones {
		if z.Index == 0 && nodes > 1 {
			if z.Node > 0 {
				fmt.Fprintf(w, "\n%s\n", strings.Repeat("-", 74))
			}
			pre := ""
			if z.Node > 0 {
				pre = "\n"
			}
			fmt.Fprintf(w, "%sNODE\n %2d\n", pre, z.Node)
		}
		pre := ""
		if z.Index > 0 {
			pre = "\n"
		}
		fmt.Fprint(w, pre)
		writeFreeZone(w, &z, pageSize)
		sum += z.FreePages
		if z.FreePages == 0 {
			continue
		}
		fmt.Fprintln(w, "AREA    SIZE  FREE_AREA_STRUCT  BLOCKS  PAGES")
		for _, l := range z.Lists {
			fmt.Fprintf(w, "%s%6d %6d\n", freeAreaLine(l, pageSize), l.Blocks, l.Pages())
		}
		found += z.ListedPages()
		if z.Err != "" {
			fmt.Fprintf(errw, "kmem: zone %s: corrupted free list: %s\n", z.Name, z.Err)
		}
	}
	fmt.Fprintf(w, "\nnr_free_pages: %d  ", sum)
	if sum == found {
		fmt.Fprintln(w, "(verified)")
	} else {
		fmt.Fprintf(w, "(found %d)\n", found)
	}
}

// hugeSize is crash's pages_to_size without its space: "2MB", "1GB",
// "1.5GB", "64KB".
func hugeSize(bytes uint64) string {
	var s string
	switch {
	case bytes >= 1<<30:
		s = fmt.Sprintf("%.1fGB", float64(bytes)/(1<<30))
	case bytes >= 1<<20:
		s = fmt.Sprintf("%.1fMB", float64(bytes)/(1<<20))
	default:
		return fmt.Sprintf("%dKB", bytes/1024)
	}
	return strings.Replace(s, ".0", "", 1)
}

// writePageFlags prints enum pageflags as crash's kmem -g does: every
// PG_ flag, or with flags those set in it, indented under "FLAGS:".
func writePageFlags(w io.Writer, pf []kmem.PageFlag, flags uint64) {
	longest, largest := 0, int64(0)
	for _, f := range pf {
		longest = max(longest, len(f.Name))
		if strings.Contains(f.Name, "PG_") {
			largest = max(largest, f.Bit)
		}
	}
	digits := int((largest+1)/4 + 1)
	indent := ""
	if flags != 0 {
		fmt.Fprintf(w, "FLAGS: %x\n", flags)
		indent = "  "
	}
	fmt.Fprintf(w, "%s%-*s BIT  VALUE\n", indent, longest, "PAGE-FLAG")
	found := 0
	for _, f := range pf {
		if !strings.Contains(f.Name, "PG_") || f.Bit < 0 || f.Bit > 63 {
			continue
		}
		bit := uint64(1) << f.Bit
		if flags != 0 && flags&bit == 0 {
			continue
		}
		fmt.Fprintf(w, "%s%-*s  %2d  %0*x\n", indent, longest, f.Name, f.Bit, digits, bit)
		found++
	}
	if flags != 0 && found == 0 {
		fmt.Fprintf(w, "  (none found)\n")
	}
}

// writePage prints a struct page as crash's kmem -p does.
func writePage(w io.Writer, p *kmem.PageInfo) {
	flags := fmt.Sprintf("%x", uint64(p.Flags))
	if len(p.FlagNames) > 0 {
		flags += " " + strings.Join(p.FlagNames, ",")
	}
	fmt.Fprintf(w, "%-16x %8x %16x %8x %2d %s\n", uint64(p.Addr), uint64(p.Phys), uint64(p.Mapping), uint64(p.Index), p.Count, flags)
}

// kmemAddress is crash's kmem_search for one address: the kernel model's
// Identify, in crash's order and layout.
func kmemAddress(c *Context, mem *kmem.Memory, addr uint64) error {
	s := c.Session
	k, err := s.kernel()
	if err != nil {
		return err
	}
	info, err := k.Identify(addr)
	if err != nil {
		return err
	}
	for _, e := range info.Errors {
		fmt.Fprintf(c.Err, "kmem: %s\n", e)
	}
	tr, _ := s.Tracer()
	context := func(t *tasks.Task) {
		if t != nil && tr != nil {
			writeContext(c.Out, t, tr)
			fmt.Fprintln(c.Out)
		}
	}
	// The symbol, for an address of the kernel image or a module, named
	// as crash names it.
	if info.Symbol != nil && info.Virt != nil {
		if sym, off, ok := s.crashSymbols().search(uint64(*info.Virt)); ok {
			s.showSymbol(c.Out, sym, off)
			fmt.Fprintln(c.Out)
		}
	}
	// A vmalloc area (a task's stack among them): crash stops there.
	if a := info.VmapArea; a != nil {
		context(info.Stack)
		fmt.Fprintln(c.Out, "   VMAP_AREA         VM_STRUCT                 ADDRESS RANGE                SIZE")
		fmt.Fprintf(c.Out, "%-16x  %-16x  %16x - %-16x  %7d\n\n", uint64(a.Addr), uint64(a.VMStruct), uint64(a.Start), uint64(a.End), a.Size())
		return writeKmemPage(c.Out, info.Page, uint64(*info.Phys), true)
	}
	// crash's complaints about a page frame with no struct page (beyond
	// the memory map), or no translation: the frame is read once.
	phys, mapped, pageless := kmemFrame(mem, addr)
	if !info.Physical {
		kmemPagelessWarning(c.Err, addr, mapped, pageless)
	}
	if info.Slab != nil {
		writeSlabObject(c.Out, c.Err, info.Slab)
		fmt.Fprintln(c.Out)
	}
	if pageless {
		fmt.Fprintf(c.Err, "kmem: cannot determine page for %x\n", addr)
	}
	if info.FreeBlock != nil {
		writeFreeBlock(c.Out, info.FreeBlock, addr, info.Physical, mem.Space().PageSize())
		fmt.Fprintln(c.Out)
	}
	if info.Task != nil {
		context(info.Task)
	} else {
		context(info.Stack)
	}
	if info.Virt == nil {
		fmt.Fprintf(c.Out, "%x: physical address not found in mem map\n", addr)
		return nil
	}
	if info.Page == nil && !info.Physical && pageless {
		// crash names a direct-map address beyond the memory map by its
		// physical address, as "kernel virtual" still.
		fmt.Fprintf(c.Out, "%x: kernel virtual address not found in mem map\n", phys)
		return nil
	}
	return writeKmemPage(c.Out, info.Page, addr, info.Physical)
}

// kmemHasPage says whether a physical address has a struct page.
func kmemHasPage(mem *kmem.Memory, phys uint64) bool {
	_, err := mem.PageOf(phys, true)
	return err == nil
}

// kmemFrame is the page frame of an address as crash's kvtop finds it
// (kmemPhys): its physical address, whether there is one, and whether it
// has no struct page.
func kmemFrame(mem *kmem.Memory, addr uint64) (phys uint64, mapped, pageless bool) {
	phys, mapped = kmemPhys(mem.Space(), addr)
	return phys, mapped, mapped && !kmemHasPage(mem, phys)
}

// kmemPagelessWarning prints crash's warning for a kernel virtual address
// whose page it cannot check for a slab (vaddr_to_kmem_cache): no
// translation, or a page frame beyond the memory map (kmemFrame).
func kmemPagelessWarning(w io.Writer, vaddr uint64, mapped, pageless bool) {
	switch {
	case !mapped:
		fmt.Fprintf(w, "WARNING: cannot make virtual-to-physical translation: %x\n", vaddr)
	case pageless:
		fmt.Fprintf(w, "WARNING: cannot find mem_map page for address: %x\n", vaddr)
	}
}

// writeKmemPage prints the struct page of an address (kmem -p's line),
// or crash's "not found in mem map" when there is none.
func writeKmemPage(w io.Writer, p *kmem.PageInfo, addr uint64, phys bool) error {
	if p == nil {
		kind := "kernel virtual"
		if phys {
			kind = "physical"
		}
		fmt.Fprintf(w, "%x: %s address not found in mem map\n", addr, kind)
		return nil
	}
	fmt.Fprintln(w, "      PAGE       PHYSICAL      MAPPING       INDEX CNT FLAGS")
	writePage(w, p)
	return nil
}

// writeSlabObject prints the cache, slab and object holding an address
// as crash's kmem ADDRESS does.
func writeSlabObject(w, errw io.Writer, o *kmem.SlabObject) {
	fmt.Fprintln(w, "CACHE             OBJSIZE  ALLOCATED     TOTAL  SLABS  SSIZE  NAME")
	writeCache(w, errw, &o.Cache)
	writeSlab(w, &o.Slab)
	fmt.Fprintln(w, "  FREE / [ALLOCATED]")
	if o.Object != 0 {
		writeSlot(w, kmem.Slot{Addr: o.Object, Free: o.Free}, o.Slab.CPU)
	}
}

// writeSlab prints a slab's header and line as crash's do_slab_slub.
func writeSlab(w io.Writer, s *kmem.Slab) {
	fmt.Fprintln(w, "  SLAB              MEMORY            NODE  TOTAL  ALLOCATED  FREE")
	writeSlabLine(w, s)
}

func writeSlabLine(w io.Writer, s *kmem.Slab) {
	fmt.Fprintf(w, "  %-16x  %-16x  %4d  %5d  %9d  %4d\n", uint64(s.Addr), uint64(s.Memory), s.Node, s.Objects, s.InUse, s.Objects-s.InUse)
}

// writeSlot prints one object: [allocated], or free (with its CPU's
// cache when the slab is a CPU's).
func writeSlot(w io.Writer, o kmem.Slot, cpu int) {
	if !o.Free {
		fmt.Fprintf(w, "  [%x]\n", uint64(o.Addr))
		return
	}
	fmt.Fprintf(w, "   %x  ", uint64(o.Addr))
	if cpu >= 0 {
		fmt.Fprintf(w, "(cpu %d cache)", cpu)
	}
	fmt.Fprintln(w)
}

// writeCacheSlabs prints a cache's slabs as crash's kmem -S does.
func writeCacheSlabs(w, errw io.Writer, cs *kmem.CacheSlabs) {
	fmt.Fprintln(w, "CACHE             OBJSIZE  ALLOCATED     TOTAL  SLABS  SSIZE  NAME")
	writeCache(w, errw, &cs.Cache)
	verbose := func(s *kmem.Slab) {
		writeSlab(w, s)
		fmt.Fprintln(w, "  FREE / [ALLOCATED]")
		for _, o := range s.Slots {
			writeSlot(w, o, s.CPU)
		}
	}
	for _, c := range cs.CPUs {
		fmt.Fprintf(w, "CPU %d KMEM_CACHE_CPU:\n  %x\nCPU %d SLAB:\n", c.CPU, uint64(c.KmemCacheCPU), c.CPU)
		if c.Slab == nil {
			fmt.Fprintln(w, "  (empty)")
		} else {
			verbose(c.Slab)
		}
		fmt.Fprintf(w, "CPU %d PARTIAL:\n", c.CPU)
		if len(c.Partial) == 0 {
			fmt.Fprintln(w, "  (empty)")
		}
		for i := range c.Partial {
			verbose(&c.Partial[i])
		}
	}
	for _, n := range cs.Nodes {
		fmt.Fprintln(w, "KMEM_CACHE_NODE   NODE  SLABS  PARTIAL  PER-CPU")
		fmt.Fprintf(w, "%x  %4d  %5d  %7d  %7d\n", uint64(n.KmemCacheNode), n.Node, n.Slabs, n.PartialCount, n.PerCPU)
		lists := []struct {
			name    string
			slabs   []kmem.Slab
			tracked bool
		}{{"PARTIAL", n.Partial, true}, {"FULL", n.Full, n.FullTracked}}
		for _, l := range lists {
			fmt.Fprintf(w, "NODE %d %s:\n", n.Node, l.name)
			switch {
			case !l.tracked:
				fmt.Fprintln(w, "  (not tracked)")
			case len(l.slabs) == 0:
				fmt.Fprintln(w, "  (empty)")
			default:
				fmt.Fprintln(w, "  SLAB              MEMORY            NODE  TOTAL  ALLOCATED  FREE")
				for i := range l.slabs {
					writeSlabLine(w, &l.slabs[i])
				}
			}
		}
	}
	fmt.Fprintln(w)
	if cs.Err != "" {
		fmt.Fprintf(errw, "kmem: %s: %s\n", cs.Cache.Name, cs.Err)
	}
}

// writeMemoryLayout prints the nodes, zones, sections and memory blocks
// as crash's kmem -n does.
func writeMemoryLayout(w io.Writer, mem *kmem.Memory, pageSize uint64) error {
	nodes, err := mem.Nodes()
	if err != nil {
		return err
	}
	for i, n := range nodes {
		if i > 0 {
			fmt.Fprintf(w, "\n%s", strings.Repeat("-", 67))
		}
		pre := ""
		if i > 0 {
			pre = "\n\n"
		}
		fmt.Fprintf(w, "%sNODE  %s  %s  %s  %s\n", pre, centerIn("SIZE", 8, false), centerIn("PGLIST_DATA", 16, false),
			centerIn("BOOTMEM_DATA", 16, false), centerIn("NODE_ZONES", 16, false))
		var zones []string
		for _, z := range n.Zones {
			zones = append(zones, fmt.Sprintf("%x", uint64(z.Addr)))
		}
		first := ""
		if len(zones) > 0 {
			first = zones[0]
		}
		fmt.Fprintf(w, " %2d   %s  %-16x  %s  %-16s\n", n.ID, centerIn(fmt.Sprint(n.SpannedPages), 8, false), uint64(n.Pgdat),
			centerIn("----", 16, false), first)
		for _, z := range zones[min(1, len(zones)):] {
			fmt.Fprintf(w, "%s%s\n", strings.Repeat(" ", 52), z)
		}
		fmt.Fprintf(w, "%s     START_PADDR    START_MAPNR\n", centerIn("MEM_MAP", 16, false))
		fmt.Fprintf(w, "%s  %s  %s\n", centerIn(fmt.Sprintf("%x", uint64(n.MemMap)), 16, false),
			centerIn(fmt.Sprintf("%x", n.StartPFN*pageSize), 16, true), centerIn(fmt.Sprint(n.StartPFN), 11, true))
		fmt.Fprintf(w, "\nZONE  NAME         SIZE       MEM_MAP      START_PADDR  START_MAPNR\n")
		for i, z := range n.Zones {
			mapnr := uint64(0)
			if z.SpannedPages > 0 {
				mapnr = z.StartPFN
			}
			fmt.Fprintf(w, " %2d   %-9s %7d  %16x  %11x  %11d\n", i, z.Name, z.SpannedPages, uint64(z.MemMap), z.StartPFN*pageSize, mapnr)
		}
	}
	secs, err := mem.Sections()
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\n%s\n\nNR  %s  %s  %s  %s PFN\n", strings.Repeat("-", 67), centerIn("SECTION", 16, false),
		centerIn("CODED_MEM_MAP", 16, false), centerIn("MEM_MAP", 16, false), "STATE")
	for _, sec := range secs {
		state := ""
		for i, l := range "PMOE" {
			if sec.State&(1<<i) != 0 {
				state += string(l)
			}
		}
		fmt.Fprintf(w, "%2d  %16x  %16x  %16x  %s %-16d\n", sec.Nr, uint64(sec.Addr), uint64(sec.CodedMemMap), uint64(sec.MemMap),
			centerIn(state, 5, false), sec.FirstPFN)
	}
	blocks, err := mem.MemoryBlocks()
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\n   MEM_BLOCK        NAME        PHYSICAL RANGE     NODE  STATE   START_SECTION_NO\n")
	for _, b := range blocks {
		rng := fmt.Sprintf("%8x - %8x", uint64(b.Start), uint64(b.End))
		fmt.Fprintf(w, " %-16x %s %s %s  %-7s %-12d\n", uint64(b.Addr), centerIn(b.Name, 12, false), rng,
			centerIn(fmt.Sprint(b.Node), 4, false), b.StateName, b.StartSection)
	}
	return nil
}

// writeFreeZone prints a zone's header and line as kmem -f does.
func writeFreeZone(w io.Writer, z *kmem.ZoneFree, pageSize uint64) {
	fmt.Fprintf(w, "ZONE  NAME        SIZE    FREE  %s  START_PADDR  START_MAPNR\n", centerIn("MEM_MAP", 16, false))
	fmt.Fprintf(w, "%3d   %-9s %6d  %6d  %s  %s  %s\n", z.Index, z.Name, z.SpannedPages, z.FreePages,
		centerIn(fmt.Sprintf("%x", uint64(z.MemMap)), 16, false),
		centerIn(fmt.Sprintf("%x", z.StartPFN*pageSize), 11, true),
		centerIn(fmt.Sprintf("%d", z.StartMapNr), 11, true))
}

// freeAreaLine is the start of a free list's line in kmem -f: order,
// block size, list head.
func freeAreaLine(l kmem.FreeList, pageSize uint64) string {
	return fmt.Sprintf("%3d  %7s  %s  ", l.Order, fmt.Sprintf("%dk", (pageSize<<l.Order)/1024),
		centerIn(fmt.Sprintf("%x", uint64(l.Addr)), 16, false))
}

// writeFreeBlock prints the free block holding an address as crash's kmem
// ADDRESS does: its zone, its free list, its first page and the address's
// place in it.
func writeFreeBlock(w io.Writer, fb *kmem.FreeBlock, addr uint64, phys bool, pageSize uint64) {
	writeFreeZone(w, &fb.Zone, pageSize)
	fmt.Fprintf(w, "AREA    SIZE  FREE_AREA_STRUCT\n%s\n%x  ", freeAreaLine(fb.List, pageSize), uint64(fb.Page))
	if fb.List.Order > 0 {
		in := ""
		if phys && addr%pageSize != 0 {
			in = "in "
		}
		fmt.Fprintf(w, "(%x is %s%s of %d pages)", addr, in, ordinal(fb.Index+1), uint64(1)<<fb.List.Order)
	}
	fmt.Fprintln(w)
}

// ordinal is crash's: 1st, 2nd, 3rd, 4th, 11th, 12th, 13th, 21st...
func ordinal(n uint64) string {
	suffix := "th"
	if n%100 < 11 || n%100 > 13 {
		switch n % 10 {
		case 1:
			suffix = "st"
		case 2:
			suffix = "nd"
		case 3:
			suffix = "rd"
		}
	}
	return fmt.Sprintf("%d%s", n, suffix)
}

// kmemPhys is the physical address a kmem argument names: a kernel
// address translated, any other number itself.
func kmemPhys(ks arch.KernelSpace, addr uint64) (uint64, bool) {
	if !ks.KernelAddr(addr) {
		return addr, true
	}
	if p, _, err := ks.Translate(addr); err == nil {
		return p, true
	}
	// crash's kvtop takes a direct-map address by arithmetic, page
	// tables or not (one beyond the memory, say).
	if base, ok := ks.PhysToDirect(0); ok && addr >= base {
		if d, ok := ks.PhysToDirect(addr - base); ok && d == addr {
			return addr - base, true
		}
	}
	return 0, false
}

// kmemSearchPhys is the physical address crash's free-page search looks
// for: the page a struct page address names, else kmemPhys.
func kmemSearchPhys(mem *kmem.Memory, addr uint64) (uint64, bool) {
	if mem.Space().KernelAddr(addr) {
		if p, err := mem.PageOf(addr, false); err == nil && uint64(p.Addr) == addr {
			return uint64(p.Phys), true
		}
	}
	return kmemPhys(mem.Space(), addr)
}

// kmemSlabAddress prints the slab object holding an address as crash's
// kmem -s ADDRESS does (-S: every object of its slab). A number that is
// no kernel address is a physical one.
func kmemSlabAddress(c *Context, mem *kmem.Memory, addr uint64, all bool) error {
	ks := mem.Space()
	vaddr := addr
	if !ks.KernelAddr(addr) {
		var ok bool
		if vaddr, ok = ks.PhysToDirect(addr); !ok {
			return fmt.Errorf("address is not allocated in slab subsystem: %x", addr)
		}
	}
	o, ok, err := mem.SlabObject(vaddr)
	if err != nil {
		return err
	}
	if !ok {
		if ks.KernelAddr(addr) {
			_, mapped, pageless := kmemFrame(mem, vaddr)
			kmemPagelessWarning(c.Err, vaddr, mapped, pageless)
		}
		return fmt.Errorf("address is not allocated in slab subsystem: %x", vaddr)
	}
	if !all {
		writeSlabObject(c.Out, c.Err, o)
		return nil
	}
	fmt.Fprintln(c.Out, "CACHE             OBJSIZE  ALLOCATED     TOTAL  SLABS  SSIZE  NAME")
	writeCache(c.Out, c.Err, &o.Cache)
	writeSlab(c.Out, &o.Slab)
	fmt.Fprintln(c.Out, "  FREE / [ALLOCATED]")
	for _, sl := range o.Slab.Slots {
		writeSlot(c.Out, sl, o.Slab.CPU)
	}
	return nil
}
