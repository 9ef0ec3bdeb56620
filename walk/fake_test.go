package walk_test

import (
	"debug/dwarf"
	"encoding/binary"

	"github.com/vmcoretools/vmcore/internal/fakekernel"
	"github.com/vmcoretools/vmcore/ktype"
	"github.com/vmcoretools/vmcore/value"
)

// This file builds a synthetic kernel for the tests and examples: a type
// source serving hand-made dwarf.Types with the kernel's layouts (as a BTF
// or DWARF source would), sparse memory, and helpers that lay out lists,
// trees and arrays in it.

var (
	u8   = &dwarf.UintType{BasicType: dwarf.BasicType{CommonType: dwarf.CommonType{ByteSize: 1, Name: "unsigned char"}}}
	u32  = &dwarf.UintType{BasicType: dwarf.BasicType{CommonType: dwarf.CommonType{ByteSize: 4, Name: "unsigned int"}}}
	u64  = &dwarf.UintType{BasicType: dwarf.BasicType{CommonType: dwarf.CommonType{ByteSize: 8, Name: "long unsigned int"}}}
	i64  = &dwarf.IntType{BasicType: dwarf.BasicType{CommonType: dwarf.CommonType{ByteSize: 8, Name: "long int"}}}
	void = &dwarf.VoidType{}
)

func ptr(t dwarf.Type) *dwarf.PtrType {
	return &dwarf.PtrType{CommonType: dwarf.CommonType{ByteSize: 8}, Type: t}
}

func array(t dwarf.Type, n int64) *dwarf.ArrayType {
	return &dwarf.ArrayType{CommonType: dwarf.CommonType{ByteSize: n * t.Size()}, Type: t, Count: n}
}

type field struct {
	name string
	off  int64
	t    dwarf.Type
}

func strct(kind, name string, size int64, fields ...field) *dwarf.StructType {
	st := &dwarf.StructType{Kind: kind, StructName: name, CommonType: dwarf.CommonType{ByteSize: size}}
	for _, f := range fields {
		st.Field = append(st.Field, &dwarf.StructField{Name: f.name, Type: f.t, ByteOffset: f.off})
	}
	return st
}

// kernelTypes returns the kernel structures the walkers read, with 6.12's
// layouts, and the test's own struct item.
func kernelTypes() map[string]dwarf.Type {
	ts := map[string]dwarf.Type{}
	listHead := strct("struct", "list_head", 16)
	listHead.Field = []*dwarf.StructField{{Name: "next", Type: ptr(listHead)}, {Name: "prev", Type: ptr(listHead), ByteOffset: 8}}
	hnode := strct("struct", "hlist_node", 16)
	hnode.Field = []*dwarf.StructField{{Name: "next", Type: ptr(hnode)}, {Name: "pprev", Type: ptr(ptr(hnode)), ByteOffset: 8}}
	hhead := strct("struct", "hlist_head", 8, field{"first", 0, ptr(hnode)})
	nnode := strct("struct", "hlist_nulls_node", 16)
	nnode.Field = []*dwarf.StructField{{Name: "next", Type: ptr(nnode)}, {Name: "pprev", Type: ptr(ptr(nnode)), ByteOffset: 8}}
	nhead := strct("struct", "hlist_nulls_head", 8, field{"first", 0, ptr(nnode)})
	blnode := strct("struct", "hlist_bl_node", 16)
	blnode.Field = []*dwarf.StructField{{Name: "next", Type: ptr(blnode)}, {Name: "pprev", Type: ptr(ptr(blnode)), ByteOffset: 8}}
	blhead := strct("struct", "hlist_bl_head", 8, field{"first", 0, ptr(blnode)})
	lnode := strct("struct", "llist_node", 8)
	lnode.Field = []*dwarf.StructField{{Name: "next", Type: ptr(lnode)}}
	lhead := strct("struct", "llist_head", 8, field{"first", 0, ptr(lnode)})
	rb := strct("struct", "rb_node", 24)
	rb.Field = []*dwarf.StructField{{Name: "__rb_parent_color", Type: u64}, {Name: "rb_right", Type: ptr(rb), ByteOffset: 8}, {Name: "rb_left", Type: ptr(rb), ByteOffset: 16}}
	rbRoot := strct("struct", "rb_root", 8, field{"rb_node", 0, ptr(rb)})
	rbCached := strct("struct", "rb_root_cached", 16, field{"rb_root", 0, rbRoot}, field{"rb_leftmost", 8, ptr(rb)})
	// struct item is what the tests put on lists and trees.
	item := strct("struct", "item", 80,
		field{"id", 0, i64}, field{"link", 8, listHead}, field{"hnode", 24, hnode},
		field{"rb", 40, rb}, field{"nnode", 64, nnode}, field{"lnode", 24, lnode}, field{"blnode", 24, blnode})
	xarray := strct("struct", "xarray", 16, field{"xa_lock", 0, u32}, field{"xa_flags", 4, u32}, field{"xa_head", 8, ptr(void)})
	xaNode := strct("struct", "xa_node", 576)
	xaNode.Field = []*dwarf.StructField{
		{Name: "shift", Type: u8}, {Name: "offset", Type: u8, ByteOffset: 1}, {Name: "count", Type: u8, ByteOffset: 2},
		{Name: "nr_values", Type: u8, ByteOffset: 3}, {Name: "parent", Type: ptr(xaNode), ByteOffset: 8},
		{Name: "array", Type: ptr(xarray), ByteOffset: 16}, {Name: "private_list", Type: listHead, ByteOffset: 24},
		{Name: "slots", Type: array(ptr(void), 64), ByteOffset: 40}, {Name: "marks", Type: array(array(u64, 1), 3), ByteOffset: 552},
	}
	// The radix tree of 4.7-4.19 (4.18's layout).
	rtNode := strct("struct", "radix_tree_node", 576)
	rtRoot := strct("struct", "radix_tree_root", 16, field{"xa_lock", 0, u32}, field{"gfp_mask", 4, u32}, field{"rnode", 8, ptr(rtNode)})
	rtNode.Field = []*dwarf.StructField{
		{Name: "shift", Type: u8}, {Name: "offset", Type: u8, ByteOffset: 1}, {Name: "count", Type: u8, ByteOffset: 2},
		{Name: "exceptional", Type: u8, ByteOffset: 3}, {Name: "parent", Type: ptr(rtNode), ByteOffset: 8},
		{Name: "root", Type: ptr(rtRoot), ByteOffset: 16}, {Name: "private_list", Type: listHead, ByteOffset: 24},
		{Name: "slots", Type: array(ptr(void), 64), ByteOffset: 40}, {Name: "tags", Type: array(array(u64, 1), 3), ByteOffset: 552},
	}
	ts["struct idr (4.18)"] = strct("struct", "idr", 24, field{"idr_rt", 0, rtRoot}, field{"idr_base", 16, u32}, field{"idr_next", 20, u32})
	idr := strct("struct", "idr", 24, field{"idr_rt", 0, xarray}, field{"idr_base", 16, u32}, field{"idr_next", 20, u32})
	mapleTree := strct("struct", "maple_tree", 16, field{"ma_lock", 0, u32}, field{"ma_flags", 4, u32}, field{"ma_root", 8, ptr(void)})
	meta := strct("struct", "maple_metadata", 2, field{"end", 0, u8}, field{"gap", 1, u8})
	pnode := strct("struct", "maple_pnode", 0)
	mr64 := strct("struct", "maple_range_64", 256, field{"parent", 0, ptr(pnode)}, field{"pivot", 8, array(u64, 15)},
		field{"", 128, strct("union", "", 128, field{"slot", 0, array(ptr(void), 16)},
			field{"", 0, strct("struct", "", 128, field{"pad", 0, array(ptr(void), 15)}, field{"meta", 120, meta})})})
	ma64 := strct("struct", "maple_arange_64", 248, field{"parent", 0, ptr(pnode)}, field{"pivot", 8, array(u64, 9)},
		field{"slot", 80, array(ptr(void), 10)}, field{"gap", 160, array(u64, 10)}, field{"meta", 240, meta})
	mapleNode := strct("struct", "maple_node", 256, field{"", 0, strct("union", "", 256,
		field{"", 0, strct("struct", "", 256, field{"parent", 0, ptr(pnode)}, field{"slot", 8, array(ptr(void), 31)})},
		field{"mr64", 0, mr64}, field{"ma64", 0, ma64})})
	mapleType := &dwarf.EnumType{EnumName: "maple_type", CommonType: dwarf.CommonType{ByteSize: 4}, Val: []*dwarf.EnumValue{
		{Name: "maple_dense", Val: 0}, {Name: "maple_leaf_64", Val: 1}, {Name: "maple_range_64", Val: 2}, {Name: "maple_arange_64", Val: 3}}}
	cpumask := strct("struct", "cpumask", 16, field{"bits", 0, array(u64, 2)})
	stats := strct("struct", "stats", 16, field{"hits", 0, u64}, field{"misses", 8, u64})
	for _, t := range []*dwarf.StructType{listHead, hnode, hhead, nnode, nhead, lnode, lhead, blnode, blhead, rtNode, rtRoot, rb, rbRoot, rbCached, item, xarray, xaNode, idr, mapleTree, meta, mr64, ma64, mapleNode, cpumask, stats} {
		ts[t.Kind+" "+t.StructName] = t
	}
	ts["enum maple_type"] = mapleType
	ts["unsigned int"] = u32
	ts["long unsigned int"] = u64
	return ts
}

// The synthetic kernel's types, variables and memory are package
// fakekernel's (its Kernel as the type source, its Memory); this file lays
// out the types by hand, at the offsets the tests write.

// errUnmapped is the error of a read of memory never written.
var errUnmapped = fakekernel.ErrUnmapped

// kernel is a synthetic kernel: types, variables and memory, with a bump
// allocator.
type kernel struct {
	src  *fakekernel.Kernel
	mem  fakekernel.Memory
	next uint64
	c    *value.Context
}

const kbase = 0xffff888000000000

func newKernel() *kernel {
	k := &kernel{src: newSource(kernelTypes(), map[string]*ktype.Variable{}), mem: fakekernel.Memory{}, next: kbase}
	k.c = value.New(k.src, k.mem)
	return k
}

// alloc returns zeroed, mapped memory of size bytes, aligned to align.
func (k *kernel) alloc(size, align uint64) uint64 {
	a := (k.next + align - 1) &^ (align - 1)
	k.mem.Write(a, make([]byte, size))
	k.next = a + size
	return a
}

func (k *kernel) put64(addr, v uint64) {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], v)
	k.mem.Write(addr, b[:])
}

func (k *kernel) put32(addr uint64, v uint32) {
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], v)
	k.mem.Write(addr, b[:])
}

func (k *kernel) get64(addr uint64) uint64 {
	var b [8]byte
	k.mem.ReadAt(b[:], int64(addr))
	return binary.LittleEndian.Uint64(b[:])
}

// variable defines a global variable of the named type, zeroed.
func (k *kernel) variable(name, typ string) uint64 {
	t, err := k.src.Type(typ)
	if err != nil {
		panic(err)
	}
	a := k.alloc(uint64(t.Size()), 64)
	k.src.Vars[name] = &ktype.Variable{Name: name, Addr: a, Type: t}
	return a
}

// offsetOf is offsetof(typ, path) in the synthetic types.
func (k *kernel) offsetOf(typ, path string) uint64 {
	off, err := ktype.Offset(k.src, typ, path)
	if err != nil {
		panic(err)
	}
	return uint64(off)
}

// item allocates a struct item with that id.
func (k *kernel) item(id int64) uint64 {
	a := k.alloc(80, 64)
	k.put64(a, uint64(id))
	return a
}

// list links the items' member list_heads into a ring after head.
func (k *kernel) list(head uint64, member string, items ...uint64) {
	off := k.offsetOf("struct item", member)
	nodes := []uint64{head}
	for _, it := range items {
		nodes = append(nodes, it+off)
	}
	for i, n := range nodes {
		k.put64(n, nodes[(i+1)%len(nodes)])
		k.put64(n+8, nodes[(i+len(nodes)-1)%len(nodes)])
	}
}

// ids reads the id of each struct item.
func ids(vs []value.Value) []int64 {
	out := []int64{}
	for _, v := range vs {
		m, err := v.Member("id")
		if err != nil {
			panic(err)
		}
		n, err := m.Int()
		if err != nil {
			out = append(out, -1)
			continue
		}
		out = append(out, n)
	}
	return out
}

// rbNode builds a struct item in a red-black tree: its rb node's children.
func (k *kernel) rbItem(id int64, left, right uint64) uint64 {
	it := k.item(id)
	rb := it + k.offsetOf("struct item", "rb")
	if left != 0 {
		k.put64(rb+16, left+k.offsetOf("struct item", "rb"))
	}
	if right != 0 {
		k.put64(rb+8, right+k.offsetOf("struct item", "rb"))
	}
	return it
}

// xaNode allocates an xa_node of that shift; slots are set with put64 at
// slot(node, i).
func (k *kernel) xaNode(shift uint8) uint64 {
	n := k.alloc(576, 64)
	k.mem.Write(n, []byte{shift})
	return n
}

func slot(node uint64, i int) uint64 { return node + 40 + 8*uint64(i) }

// mapleNode allocates a maple node (256-byte aligned) and returns it
// encoded with its type, as a child pointer is.
func (k *kernel) mapleNode(typ uint64) (addr, enc uint64) {
	a := k.alloc(256, 256)
	return a, a | typ<<3 | 4
}

const (
	mapleDense   = 0
	mapleLeaf64  = 1
	mapleRange64 = 2
	mapleArange  = 3
)

// setRange64 fills a range_64 or leaf_64 node's pivots and slots; meta.end
// is the last slot used.
func (k *kernel) setRange64(node uint64, pivots, slots []uint64) {
	for i, p := range pivots {
		k.put64(node+8+8*uint64(i), p)
	}
	for i, s := range slots {
		k.put64(node+128+8*uint64(i), s)
	}
	if len(slots) < 16 {
		k.mem.Write(node+248, []byte{byte(len(slots) - 1)})
	}
}

// setArange fills an arange_64 node.
func (k *kernel) setArange(node uint64, pivots, slots []uint64) {
	for i, p := range pivots {
		k.put64(node+8+8*uint64(i), p)
	}
	for i, s := range slots {
		k.put64(node+80+8*uint64(i), s)
	}
	k.mem.Write(node+240, []byte{byte(len(slots) - 1)})
}

// cpus sets up n possible CPUs, each with a per-CPU area, the cpumasks,
// nr_cpu_ids and __per_cpu_offset.
func (k *kernel) cpus(possible []int, online []int) {
	nr := 0
	for _, c := range possible {
		nr = max(nr, c+1)
	}
	a := k.variable("nr_cpu_ids", "unsigned int")
	k.put32(a, uint32(nr))
	for name, cpus := range map[string][]int{"__cpu_possible_mask": possible, "__cpu_present_mask": possible, "__cpu_online_mask": online} {
		m := k.variable(name, "struct cpumask")
		for _, c := range cpus {
			w := m + uint64(c/64)*8
			k.put64(w, k.get64(w)|1<<(c%64))
		}
	}
	offs := k.alloc(8*128, 64)
	k.src.Vars["__per_cpu_offset"] = &ktype.Variable{Name: "__per_cpu_offset", Addr: offs, Type: array(u64, 128)}
	for _, c := range possible {
		area := k.alloc(4096, 4096)
		k.put64(offs+8*uint64(c), area-0x1000) // per-CPU variables sit at 0x1000 in the section
	}
}

// perCPUVar declares a per-CPU variable of the named type at offset off
// of the per-CPU section (0x1000 and up).
func (k *kernel) perCPUVar(name, typ string, off uint64) {
	t, err := k.src.Type(typ)
	if err != nil {
		panic(err)
	}
	k.src.Vars[name] = &ktype.Variable{Name: name, Addr: 0x1000 + off, Type: t, PerCPU: true}
}

// perCPU returns the address of a per-CPU variable's instance on cpu.
func (k *kernel) perCPU(name string, cpu int) uint64 {
	v := k.src.Vars[name]
	offs := k.src.Vars["__per_cpu_offset"].Addr
	return k.get64(offs+8*uint64(cpu)) + v.Addr
}

// newSource serves types and variables as a kernel's type source.
func newSource(types map[string]dwarf.Type, vars map[string]*ktype.Variable) *fakekernel.Kernel {
	return &fakekernel.Kernel{Types: types, Vars: vars}
}
