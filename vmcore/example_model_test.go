package vmcore_test

import (
	"fmt"
	"log"
	"strings"

	"github.com/vmcoretools/vmcore/kmem"
	"github.com/vmcoretools/vmcore/vmcore"
	"github.com/vmcoretools/vmcore/walk"
)

// Open a dump with its vmlinux and list its tasks as crash's ps does
// (pid, parent, CPU, task_struct, state, command).
func ExampleLoad() {
	k, err := vmcore.Load(exampleVmlinux, exampleDump)
	if err != nil {
		log.Fatal(err)
	}
	defer k.Close()
	tb, err := k.Tasks()
	if err != nil {
		log.Fatal(err)
	}
	for _, t := range tb.Tasks {
		fmt.Printf("%d %d %d %x %s %s\n", t.PID, t.PPID, t.CPU, t.Addr, t.StateString(), t.Comm)
	}
}

// Each CPU's run queue: the running task and the tasks queued behind it.
func ExampleKernel_RunQueues() {
	k, err := vmcore.Load(exampleVmlinux, exampleDump)
	if err != nil {
		log.Fatal(err)
	}
	defer k.Close()
	rqs, err := k.RunQueues()
	if err != nil {
		log.Fatal(err)
	}
	for _, rq := range rqs {
		fmt.Printf("CPU %d runs %d %s\n", rq.CPU, rq.Current.PID, rq.Current.Comm)
		for _, t := range rq.CFS.Tasks() {
			fmt.Printf("  queued %d %s\n", t.PID, t.Comm)
		}
	}
}

// Walk a kernel list yourself: init_task.tasks links every process's
// task_struct (list_for_each_entry), and runqueues is a per-CPU variable.
func ExampleKernel_walk() {
	k, err := vmcore.Load(exampleVmlinux, exampleDump)
	if err != nil {
		log.Fatal(err)
	}
	defer k.Close()
	initTask, err := k.Var("init_task")
	if err != nil {
		log.Fatal(err)
	}
	head, err := initTask.Member("tasks")
	if err != nil {
		log.Fatal(err)
	}
	n := 0
	for _, err := range walk.List(head, "struct task_struct", "tasks") {
		if err != nil {
			log.Fatal(err)
		}
		n++
	}
	fmt.Println("processes besides init_task:", n)
	// Every possible CPU has a run queue; after a panic the other CPUs
	// may have been stopped and marked offline.
	for rq, err := range walk.PerCPU(k.Values, "runqueues", walk.PossibleCPUs(k.Values)) {
		if err != nil {
			log.Fatal(err)
		}
		running, err := rq.Value.Member("nr_running")
		if err != nil {
			log.Fatal(err)
		}
		nr, _ := running.Uint()
		fmt.Printf("CPU %d: %d running\n", rq.CPU, nr)
	}
}

// Translate a kernel address as crash's vtop does: the page-table entries
// read, the physical address, and the struct page with its flags.
func ExampleKernel_Vtop() {
	k, err := vmcore.Load(exampleVmlinux, exampleDump)
	if err != nil {
		log.Fatal(err)
	}
	defer k.Close()
	banner, err := k.Var("linux_banner")
	if err != nil {
		log.Fatal(err)
	}
	tr, err := k.Vtop(banner.Addr, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%x -> %x\n", tr.Address, tr.Walk.Phys)
	for _, s := range tr.Walk.Steps {
		fmt.Printf("%s: %x => %x\n", s.Level, s.EntryAddr, s.Entry)
	}
	if tr.Page != nil {
		fmt.Printf("page %x: %s\n", tr.Page.Addr, strings.Join(tr.Page.FlagNames, ","))
	}
}

// The memory summary crash's kmem -i prints, as a value: pages of RAM,
// free, crash's shared tally, cache and slab.
func ExampleKernel_Memory() {
	k, err := vmcore.Load(exampleVmlinux, exampleDump)
	if err != nil {
		log.Fatal(err)
	}
	defer k.Close()
	in, err := k.Memory().Info()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("TOTAL MEM %d\nFREE %d\nSHARED %d\nCACHED %d\nSLAB %d\n",
		in.TotalPages, in.FreePages, in.SharedPages, in.CachedPages, in.SlabPages)
	for _, w := range in.Warnings {
		fmt.Println("warning:", w)
	}
}

// Search physical memory for a value, as crash's search -p does, and say
// how many pages a filtered dump could not offer.
func ExampleKernel_Memory_search() {
	d, err := vmcore.Open(exampleDump)
	if err != nil {
		log.Fatal(err)
	}
	defer d.Close()
	k, err := vmcore.OpenKernel(d, exampleVmlinux, vmcore.KernelOptions{})
	if err != nil {
		log.Fatal(err)
	}
	defer k.Close()
	initTask, err := k.Var("init_task")
	if err != nil {
		log.Fatal(err)
	}
	mem := k.Memory()
	start, err := mem.PhysicalStart()
	if err != nil {
		log.Fatal(err)
	}
	var st kmem.SearchStats
	q := kmem.Query{Space: kmem.Physical, Start: start, Width: 8, Values: []uint64{initTask.Addr}}
	for m, err := range mem.Search(d.Phys(), q, &st) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%x: %x\n", m.Addr, m.Value)
	}
	fmt.Printf("%d pages searched, %d excluded from the dump\n", st.Read, st.Excluded)
}

// The busy vmalloc areas crash's kmem -v lists, and the red-black tree
// of vmap_area_root walked raw, in crash's tree order, with each node's
// place.
func ExampleKernel_Memory_vmalloc() {
	k, err := vmcore.Load(exampleVmlinux, exampleDump)
	if err != nil {
		log.Fatal(err)
	}
	defer k.Close()
	areas, err := k.Memory().VmapAreas()
	if err != nil {
		log.Fatal(err)
	}
	for _, a := range areas {
		fmt.Printf("%x-%x %d bytes (vm_struct %x)\n", a.Start, a.End, a.Size(), a.VMStruct)
	}
	root, err := k.Var("vmap_area_root") // before Linux 6.9
	if err != nil {
		return
	}
	top, err := root.Member("rb_node")
	if err != nil {
		log.Fatal(err)
	}
	addr, err := top.Uint()
	if err != nil {
		log.Fatal(err)
	}
	for n, err := range walk.RBNodes(k.Values, addr, walk.PreOrder) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("rb_node %x at root/%s\n", n.Addr, n.Path)
	}
}

// What an address is in the slab allocator, as crash's kmem ADDRESS says
// it: here the task_struct that init_task.tasks.next points into, then
// every object of its cache's CPU slabs, free or allocated (kmem -S).
func ExampleKernel_Memory_slab() {
	k, err := vmcore.Load(exampleVmlinux, exampleDump)
	if err != nil {
		log.Fatal(err)
	}
	defer k.Close()
	next, err := k.Var("init_task")
	if err != nil {
		log.Fatal(err)
	}
	link, err := next.Member("tasks.next")
	if err != nil {
		log.Fatal(err)
	}
	addr, err := link.Uint()
	if err != nil {
		log.Fatal(err)
	}
	mem := k.Memory()
	obj, ok, err := mem.SlabObject(addr)
	if err != nil || !ok {
		log.Fatal("not a slab object: ", err)
	}
	fmt.Printf("%x is in %s object %x (free: %v) of slab %x\n", addr, obj.Cache.Name, obj.Object, obj.Free, obj.Slab.Addr)
	cs, err := mem.CacheSlabs(obj.Cache.Name)
	if err != nil {
		log.Fatal(err)
	}
	for _, c := range cs.CPUs {
		if c.Slab == nil {
			continue
		}
		for _, s := range c.Slab.Slots {
			fmt.Printf("CPU %d slab %x: object %x free %v\n", c.CPU, c.Slab.Addr, s.Addr, s.Free)
		}
	}
}

// What an address is, as crash's kmem ADDRESS says it: here init_task,
// a kernel symbol that is also a task_struct on a page of the kernel
// image. Kernel.Identify looks for every kind at once (symbol, vmalloc
// area and the task whose stack it is, slab object, free page block,
// task_struct, struct page).
func ExampleKernel_Identify() {
	k, err := vmcore.Load(exampleVmlinux, exampleDump)
	if err != nil {
		log.Fatal(err)
	}
	defer k.Close()
	initTask, err := k.Var("init_task")
	if err != nil {
		log.Fatal(err)
	}
	info, err := k.Identify(initTask.Addr)
	if err != nil {
		log.Fatal(err)
	}
	if s := info.Symbol; s != nil {
		fmt.Printf("symbol %s+%d\n", s.Name, s.Offset)
	}
	if t := info.Task; t != nil {
		fmt.Printf("task_struct of pid %d (%s)\n", t.PID, t.Comm)
	}
	if p := info.Page; p != nil {
		fmt.Printf("page %x phys %x flags %v\n", p.Addr, p.Phys, p.FlagNames)
	}
	for _, e := range info.Errors {
		fmt.Println("not examined:", e)
	}
}

// The nodes and their zones (crash's kmem -n), then each zone's buddy
// free lists (kmem -f): how many free blocks of each order.
func ExampleKernel_Memory_freeAreas() {
	k, err := vmcore.Load(exampleVmlinux, exampleDump)
	if err != nil {
		log.Fatal(err)
	}
	defer k.Close()
	mem := k.Memory()
	nodes, err := mem.Nodes()
	if err != nil {
		log.Fatal(err)
	}
	for _, n := range nodes {
		fmt.Printf("node %d: %d pages from pfn %d\n", n.ID, n.SpannedPages, n.StartPFN)
	}
	zones, err := mem.FreeAreas()
	if err != nil {
		log.Fatal(err)
	}
	for _, z := range zones {
		blocks := map[int]uint64{}
		for _, l := range z.Lists {
			blocks[l.Order] += l.Blocks
		}
		fmt.Printf("zone %s: %d free pages;", z.Name, z.FreePages)
		for order := 0; order < len(blocks); order++ {
			fmt.Printf(" %d", blocks[order])
		}
		fmt.Println()
	}
}

// The struct page of a physical address (crash's kmem -p ADDRESS), and
// the huge page pools (kmem -h).
func ExampleKernel_Memory_pages() {
	k, err := vmcore.Load(exampleVmlinux, exampleDump)
	if err != nil {
		log.Fatal(err)
	}
	defer k.Close()
	mem := k.Memory()
	p, err := mem.PageOf(0x1000000, true)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("page %x phys %x mapping %x count %d flags %x %v\n", p.Addr, p.Phys, p.Mapping, p.Count, p.Flags, p.FlagNames)
	pools, ok, err := mem.HugePools()
	if err != nil {
		log.Fatal(err)
	}
	if !ok {
		fmt.Println("no hugetlbfs")
	}
	for _, h := range pools {
		fmt.Printf("%s at %x: %d of %d free\n", h.Name, h.Addr, h.FreePages, h.TotalPages)
	}
}

// Without the debuginfo vmlinux: the kernel's own BTF and kallsyms in the
// dump give the same model (kernels from 6.0 built with BTF). The panic
// task's backtrace is unwound with the ORC tables in the kernel's memory,
// and a module's type comes from the module's own BTF.
func ExampleKernelFromDump() {
	d, err := vmcore.Open(exampleDump)
	if err != nil {
		log.Fatal(err)
	}
	defer d.Close()
	k, err := vmcore.KernelFromDump(d)
	if err != nil {
		log.Fatal(err) // no VMCOREINFO kallsyms (before 6.0), or no BTF
	}
	defer k.Close()
	t, err := k.PanicTask()
	if err != nil || t == nil {
		log.Fatal("no panic task: ", err)
	}
	bt, err := k.Backtrace(t)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("PID %d %s\n", t.PID, t.Comm)
	for _, f := range bt.Frames {
		fmt.Println(f.Function)
	}
	if vb, err := k.Source.Type("struct virtio_blk"); err == nil {
		fmt.Println("sizeof(struct virtio_blk) =", vb.Size())
	}
}
