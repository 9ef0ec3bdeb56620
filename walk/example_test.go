package walk_test

import (
	"fmt"

	"github.com/vmcoretools/vmcore/value"
	"github.com/vmcoretools/vmcore/walk"
)

// exampleKernel stands for a kernel opened from a dump: in a program,
// vmcore.OpenKernel(dump, vmlinux, vmcore.KernelOptions{}) and its Values.
// This one is synthetic: the kernel's structures, laid out by hand in
// memory, holding struct item { long id; struct list_head link; ...
// struct rb_node rb; } objects.
func exampleKernel() *value.Context {
	k := newKernel()
	// A list: LIST_HEAD(items) with items 1, 2, 3.
	head := k.variable("items", "struct list_head")
	k.list(head, "link", k.item(1), k.item(2), k.item(3))
	// A broken list: 1 -> 2 -> 3 -> 2 ...
	bad := k.variable("broken", "struct list_head")
	a, b, c := k.item(1), k.item(2), k.item(3)
	k.list(bad, "link", a, b, c)
	k.put64(c+8, b+8)
	// A red-black tree of items 10, 20, 30 (struct rb_root_cached tree).
	tree := k.variable("tree", "struct rb_root_cached")
	top := k.rbItem(20, k.rbItem(10, 0, 0), k.rbItem(30, 0, 0))
	k.put64(tree, top+k.offsetOf("struct item", "rb"))
	// An xarray with items at 3 and 70, and a value entry at 5.
	xa := k.variable("xa", "struct xarray")
	root, leaf0, leaf1 := k.xaNode(6), k.xaNode(0), k.xaNode(0)
	k.put64(slot(root, 0), leaf0|2)
	k.put64(slot(root, 1), leaf1|2)
	k.put64(slot(leaf0, 3), k.item(3))
	k.put64(slot(leaf0, 5), 42<<1|1)
	k.put64(slot(leaf1, 6), k.item(70))
	k.put64(xa+8, root|2)
	// A maple tree mapping 0x1000-0x1fff and 0x5000-0x5fff to items.
	mt := k.variable("mt", "struct maple_tree")
	leaf, enc := k.mapleNode(mapleLeaf64)
	k.setRange64(leaf, []uint64{0xfff, 0x1fff, 0x4fff, 0x5fff}, []uint64{0, k.item(1), 0, k.item(5), 0})
	k.put64(mt+8, enc|2)
	// Four possible CPUs, 0 and 2 online; a per-CPU unsigned long hits.
	k.cpus([]int{0, 1, 2, 3}, []int{0, 2})
	k.perCPUVar("hits", "long unsigned int", 0x10)
	for cpu := range 4 {
		k.put64(k.perCPU("hits", cpu), uint64(1000*(cpu+1)))
	}
	// struct stats __percpu *stats, pointing to per-CPU struct stats
	// { unsigned long hits, misses; }.
	k.perCPUVar("stats_area", "struct stats", 0x100)
	for cpu := range 4 {
		k.put64(k.perCPU("stats_area", cpu)+8, uint64(cpu*cpu))
	}
	k.put64(k.variable("stats", "struct stats *"), 0x1100)
	return k.c
}

func id(v value.Value) int64 {
	m, err := v.Member("id")
	if err != nil {
		return -1
	}
	n, err := m.Int()
	if err != nil {
		return -1
	}
	return n
}

// Walk a list_head: list_for_each_entry(it, &items, link).
func ExampleList() {
	c := exampleKernel()
	head, err := c.Var("items")
	if err != nil {
		panic(err)
	}
	for it, err := range walk.List(head, "struct item", "link") {
		if err != nil {
			fmt.Println(err)
			break
		}
		fmt.Println("item", id(it))
	}
	// Output:
	// item 1
	// item 2
	// item 3
}

// Follow raw links as crash's list command does, without types: from the
// head's first link, the word at each link is the next one, until the head
// comes back. Here the items' list_heads; their container is 8 bytes
// before each.
func ExampleChain() {
	c := exampleKernel()
	head, _ := c.Var("items")
	first, _ := head.Member("next")
	start, _ := first.Uint()
	for link, err := range walk.Chain(c, start, 0, 8, []uint64{head.Addr}) {
		if err != nil {
			fmt.Println(err)
			break
		}
		it, _ := c.At("struct item", link-8)
		fmt.Println("item", id(it))
	}
	// Output:
	// item 1
	// item 2
	// item 3
}

// A list that loops without its head ends with an error naming where;
// what came before it is kept.
func ExampleList_broken() {
	c := exampleKernel()
	head, _ := c.Var("broken")
	items, err := walk.Collect(walk.List(head, "struct item", "link"))
	fmt.Println(len(items), "items")
	fmt.Println(err)
	// Output:
	// 3 items
	// walk: list_head at 0xffff8880000001c0: entry 3 (from 0xffff888000000308) at 0xffff888000000288: cycle
}

// Walk a red-black tree in order, as rb_first and rb_next do.
func ExampleRBTree() {
	c := exampleKernel()
	tree, _ := c.Var("tree")
	for it, err := range walk.RBTree(tree, "struct item", "rb") {
		if err != nil {
			fmt.Println(err)
			break
		}
		fmt.Println("item", id(it))
	}
	// Output:
	// item 10
	// item 20
	// item 30
}

// Walk an xarray: xa_for_each. Value entries hold integers, the others
// point to objects.
func ExampleXArray() {
	c := exampleKernel()
	xa, _ := c.Var("xa")
	for e, err := range walk.XArray(xa) {
		if err != nil {
			fmt.Println(err)
			break
		}
		if e.IsValue() {
			fmt.Printf("%d: value %d\n", e.Index, e.Int())
			continue
		}
		it, err := e.As("struct item")
		if err != nil {
			fmt.Println(err)
			break
		}
		fmt.Printf("%d: item %d\n", e.Index, id(it))
	}
	// Output:
	// 3: item 3
	// 5: value 42
	// 70: item 70
}

// Walk a maple tree: each entry covers a range of indices, as a process's
// mm_mt maps each vm_area_struct from vm_start to vm_end-1.
func ExampleMapleTree() {
	c := exampleKernel()
	mt, _ := c.Var("mt")
	for e, err := range walk.MapleTree(mt) {
		if err != nil {
			fmt.Println(err)
			break
		}
		it, _ := e.As("struct item")
		fmt.Printf("%#x-%#x: item %d\n", e.Index, e.Last, id(it))
	}
	// Output:
	// 0x1000-0x1fff: item 1
	// 0x5000-0x5fff: item 5
}

// Iterate the CPUs of a cpumask: for_each_online_cpu, for_each_possible_cpu.
func ExampleCPUs() {
	c := exampleKernel()
	online, err := walk.Collect(walk.OnlineCPUs(c))
	fmt.Println("online:", online, err)
	possible, err := walk.Collect(walk.PossibleCPUs(c))
	fmt.Println("possible:", possible, err)
	mask, _ := c.Var("__cpu_online_mask")
	for cpu, err := range walk.CPUs(mask) {
		fmt.Println("CPU", cpu, err)
	}
	// Output:
	// online: [0 2] <nil>
	// possible: [0 1 2 3] <nil>
	// CPU 0 <nil>
	// CPU 2 <nil>
}

// Read a per-CPU variable on every possible CPU: per_cpu(hits, cpu).
func ExamplePerCPU() {
	c := exampleKernel()
	for pc, err := range walk.PerCPU(c, "hits", walk.PossibleCPUs(c)) {
		if err != nil {
			fmt.Println(err)
			break
		}
		n, _ := pc.Value.Uint()
		fmt.Printf("CPU %d: %d\n", pc.CPU, n)
	}
	// Output:
	// CPU 0: 1000
	// CPU 1: 2000
	// CPU 2: 3000
	// CPU 3: 4000
}

// Find the entry that maps an index, as find_vma finds the VMA of an
// address in an mm's maple tree; only the nodes on the way are read.
func ExampleMapleLoad() {
	c := exampleKernel()
	mt, _ := c.Var("mt")
	for _, addr := range []uint64{0x1234, 0x3000} {
		e, ok, err := walk.MapleLoad(mt, addr)
		switch {
		case err != nil:
			fmt.Println(err)
		case !ok:
			fmt.Printf("%#x: not mapped\n", addr)
		default:
			it, _ := e.As("struct item")
			fmt.Printf("%#x: item %d (%#x-%#x)\n", addr, id(it), e.Index, e.Last)
		}
	}
	// Output:
	// 0x1234: item 1 (0x1000-0x1fff)
	// 0x3000: not mapped
}

// Search a red-black tree by key, as rb_find does: the comparison says
// whether the key sorts before (<0) or after (>0) an entry.
func ExampleRBFind() {
	c := exampleKernel()
	tree, _ := c.Var("tree")
	key := int64(30)
	it, ok, err := walk.RBFind(tree, "struct item", "rb", func(v value.Value) (int, error) {
		return int(key - id(v)), nil
	})
	fmt.Println(id(it), ok, err)
	// Output:
	// 30 true <nil>
}

// Follow a per-CPU pointer (a "T __percpu *") to each online CPU's
// instance: per_cpu_ptr(stats, cpu).
func ExamplePerCPUPtrs() {
	c := exampleKernel()
	stats, _ := c.Var("stats")
	for pc, err := range walk.PerCPUPtrs(stats, walk.OnlineCPUs(c)) {
		if err != nil {
			fmt.Println(err)
			break
		}
		m, _ := pc.Value.Member("misses")
		n, _ := m.Uint()
		fmt.Printf("CPU %d: %d misses\n", pc.CPU, n)
	}
	// Output:
	// CPU 0: 0 misses
	// CPU 2: 4 misses
}
