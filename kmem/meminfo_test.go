package kmem

import (
	"debug/dwarf"
	"reflect"
	"strings"
	"testing"

	fk "github.com/vmcoretools/vmcore/internal/fakekernel"
)

// memSpace is space whose struct pages are read from the fake kernel's
// memory.
type memSpace struct {
	space
	k *fk.Kernel
}

func (s memSpace) ReadVirt(p []byte, addr uint64) (int, error) { return s.k.Mem.ReadAt(p, int64(addr)) }

func enum(name string, vals ...string) *dwarf.EnumType {
	e := &dwarf.EnumType{EnumName: name, CommonType: dwarf.CommonType{ByteSize: 4}}
	for i, v := range vals {
		e.Val = append(e.Val, &dwarf.EnumValue{Name: v, Val: int64(i)})
	}
	return e
}

// infoKernel is a kernel with what kmem -i reads: 1000 pages of RAM in one
// node of two zones, the vmstat counters, four struct pages of which two
// are shared and one reserved, a block device inode with 3 cached pages, a
// 2 MiB huge page pool, a swap area in use and the overcommit settings.
func infoKernel(t *testing.T) *fk.Kernel {
	k, _ := kernel(t)
	atomicLong := fk.Struct("struct", "atomic_long_t", fk.M("counter", fk.I64))
	zone := fk.Struct("struct", "zone", fk.M("name", fk.Ptr(fk.Char)), fk.M("vm_stat", fk.Array(atomicLong, 2)))
	pg := fk.Struct("struct", "pglist_data", fk.M("node_zones", fk.Array(zone, 2)))
	listHead := fk.Struct("struct", "list_head", fk.M("next", fk.U64), fk.M("prev", fk.U64))
	as := fk.Struct("struct", "address_space", fk.M("host", fk.U64), fk.M("nrpages", fk.U64))
	inode := fk.Struct("struct", "inode", fk.M("i_mapping", fk.Ptr(as)), fk.M("i_sb_list", listHead))
	sb := fk.Struct("struct", "super_block", fk.M("s_inodes", listHead))
	hstate := fk.Struct("struct", "hstate", fk.M("order", fk.U32), fk.M("nr_huge_pages", fk.U64), fk.M("free_huge_pages", fk.U64))
	swap := fk.Struct("struct", "swap_info_struct", fk.M("flags", fk.U64), fk.M("pages", fk.U32), fk.M("inuse_pages", fk.U32))
	pc := fk.Struct("struct", "percpu_counter", fk.M("count", fk.I64))
	k.Add(atomicLong, zone, pg, listHead, as, inode, sb, hstate, swap, pc,
		enum("zone_stat_item", "NR_FREE_PAGES", "NR_ZONE_LRU_BASE"),
		enum("node_stat_item", "NR_FILE_PAGES", "NR_SWAPCACHE", "NR_SLAB_RECLAIMABLE_B", "NR_SLAB_UNRECLAIMABLE_B"))
	k.Types["struct pglist_data *[2]"] = fk.Array(fk.Ptr(pg), 2)
	k.Types["atomic_long_t[4]"] = fk.Array(atomicLong, 4)
	k.Types["atomic_long_t[2]"] = fk.Array(atomicLong, 2)
	k.Types["struct hstate[2]"] = fk.Array(hstate, 2)
	k.Types["struct swap_info_struct *[2]"] = fk.Array(fk.Ptr(swap), 2)

	k.Set(k.Var("_totalram_pages", "struct atomic_long_t"), "struct atomic_long_t", "counter", 1000)
	node := k.New("struct pglist_data")
	k.Put64(k.Var("node_data", "struct pglist_data *[2]"), node)
	zoneSize := k.Types["struct zone"].Size()
	k.Put64(node+8, 300)                  // zone 0's NR_FREE_PAGES
	k.Put64(node+uint64(zoneSize)+8, 100) // zone 1's
	ns := k.Var("vm_node_stat", "atomic_long_t[4]")
	for i, v := range []uint64{500, 20, 30, 12} { // files, swap cache, slab
		k.Put64(ns+uint64(8*i), v)
	}
	k.Var("vm_zone_stat", "atomic_long_t[2]")
	// max_pfn is 0x10000 (kernel()); only pages 0-3 have a struct page
	// the walk can read.
	k.Put64(k.Var("max_pfn", "long unsigned int"), 4)
	for pfn, pc := range []struct{ flags, count uint64 }{{0, 2}, {0, 1}, {1 << 10, 5}, {0, 3}} {
		p := uint64(pageBase) + uint64(pfn)*pageStruct
		for off := uint64(0); off < pageStruct; off += 8 {
			k.Put64(p+off, 0)
		}
		k.Set(p, "struct page", "flags", pc.flags)
		k.Set(p, "struct page", "_refcount.counter", pc.count)
	}
	k.Add(enum("pageflags", "PG_locked", "PG_referenced", "PG_uptodate", "PG_dirty", "PG_lru", "PG_active",
		"PG_workingset", "PG_waiters", "PG_error", "PG_slab", "PG_reserved"))
	// blockdev_superblock with one inode of 3 pages.
	sbAddr := k.New("struct super_block")
	k.Put64(k.Var("blockdev_superblock", "long unsigned int"), sbAddr)
	k.Types["struct super_block *"] = fk.Ptr(sb)
	k.Vars["blockdev_superblock"].Type = fk.Ptr(sb)
	in := k.New("struct inode")
	a := k.New("struct address_space")
	k.Set(a, "struct address_space", "nrpages", 3)
	k.Set(in, "struct inode", "i_mapping", a)
	k.Link(sbAddr, in+8)
	// One 2 MiB pool (order 9) of 4 pages, 1 free; an empty hstate.
	hs := k.Var("hstates", "struct hstate[2]")
	k.Set(hs, "struct hstate", "order", 9)
	k.Set(hs, "struct hstate", "nr_huge_pages", 4)
	k.Set(hs, "struct hstate", "free_huge_pages", 1)
	// A swap area in use: 256 pages, 16 used.
	k.Put64(k.Var("nr_swapfiles", "unsigned int"), 1)
	sw := k.New("struct swap_info_struct")
	k.Set(sw, "struct swap_info_struct", "flags", 1)
	k.Set(sw, "struct swap_info_struct", "pages", 256)
	k.Set(sw, "struct swap_info_struct", "inuse_pages", 16)
	k.Put64(k.Var("swap_info", "struct swap_info_struct *[2]"), sw)
	k.Var("sysctl_overcommit_memory", "int")
	k.Put64(k.Var("sysctl_overcommit_ratio", "int"), 50)
	k.Set(k.Var("vm_committed_as", "struct percpu_counter"), "struct percpu_counter", "count", 77)
	return k
}

func TestInfo(t *testing.T) {
	k := infoKernel(t)
	in, err := New(memSpace{k: k}, k.C).Info()
	if err != nil {
		t.Fatal(err)
	}
	if len(in.Warnings) != 0 {
		t.Errorf("warnings: %q", in.Warnings)
	}
	// Shared: pages 0 and 3 (page 2 is reserved, page 1 has one reference).
	want := Info{PageSize: 4096, TotalPages: 1000, FreePages: 400, SharedPages: 2, BufferPages: 3,
		CachedPages: 500 - 20 - 3, SlabPages: 42}
	got := *in
	got.Huge, got.Swap, got.Commit, got.Warnings = nil, nil, nil, nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Info = %+v\nwant %+v", got, want)
	}
	if h := in.Huge; h == nil || h.TotalPages != 4*512 || h.FreePages != 512 {
		t.Errorf("huge = %+v", in.Huge)
	}
	if s := in.Swap; s == nil || s.TotalPages != 256 || s.UsedPages != 16 {
		t.Errorf("swap = %+v", in.Swap)
	}
	// (1000 - 2048 huge pages) wraps in the kernel's unsigned arithmetic
	// too; here the limit is checked without the pool.
	k.Set(k.Vars["hstates"].Addr, "struct hstate", "nr_huge_pages", 1)
	in, _ = New(memSpace{k: k}, k.C).Info()
	if c := in.Commit; c == nil || c.LimitPages != (1000-512)*50/100+256 || c.CommittedPages != 77 {
		t.Errorf("commit = %+v", in.Commit)
	}

	// A page cache smaller than the buffers goes to 0, with a warning; a
	// kernel without the slab counters says so.
	k.Put64(k.Vars["vm_node_stat"].Addr, 1)
	k.Types["enum node_stat_item"] = enum("node_stat_item", "NR_FILE_PAGES", "NR_SWAPCACHE")
	in, err = New(memSpace{k: k}, k.C).Info()
	if err != nil || in.CachedPages != 0 || !strings.Contains(strings.Join(in.Warnings, "\n"), "went negative") ||
		!strings.Contains(strings.Join(in.Warnings, "\n"), "slab pages") {
		t.Errorf("Info = %+v, %v", in, err)
	}

	// Without the types: an error, not a panic.
	if _, err := New(memSpace{k: k}, nil).Info(); err != ErrNoTypes {
		t.Errorf("no types: %v", err)
	}
}
