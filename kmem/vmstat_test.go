package kmem

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	fk "github.com/vmcoretools/vmcore/internal/fakekernel"
)

// statKernel is a two-CPU kernel with the statistics kmem -V and -z read:
// two zones (the second unpopulated), zone and node counters, and per-CPU
// event counters.
func statKernel() *fk.Kernel {
	k := fk.New(2)
	atomicLong := fk.Struct("struct", "atomic_long_t", fk.M("counter", fk.I64))
	zone := fk.Struct("struct", "zone", fk.M("_watermark", fk.Array(fk.U64, 3)), fk.M("name", fk.Ptr(fk.Char)),
		fk.M("spanned_pages", fk.U64), fk.M("present_pages", fk.U64), fk.M("vm_stat", fk.Array(atomicLong, 2)))
	pg := fk.Struct("struct", "pglist_data", fk.M("node_zones", fk.Array(zone, 2)))
	events := fk.Struct("struct", "vm_event_state", fk.M("event", fk.Array(fk.U64, 3)))
	mask := fk.Struct("struct", "cpumask", fk.M("bits", fk.Array(fk.U64, 1)))
	k.Add(atomicLong, zone, pg, events, mask,
		enum("zone_stat_item", "NR_FREE_PAGES", "NR_ZONE_LRU_BASE", "NR_VM_ZONE_STAT_ITEMS"),
		enum("node_stat_item", "NR_INACTIVE_ANON", "NR_VM_NODE_STAT_ITEMS"),
		enum("vm_event_item", "PGPGIN", "PGPGOUT", "PGFAULT", "NR_VM_EVENT_ITEMS"),
		enum("zone_watermarks", "WMARK_MIN", "WMARK_LOW", "WMARK_HIGH"))
	k.Types["atomic_long_t[2]"] = fk.Array(atomicLong, 2)
	k.Types["atomic_long_t[1]"] = fk.Array(atomicLong, 1)
	zs := k.Var("vm_zone_stat", "atomic_long_t[2]")
	k.Put64(zs, 100)
	k.Put64(zs+8, uint64(0xffffffffffffffff)) // -1: per-CPU drift
	k.Put64(k.Var("vm_node_stat", "atomic_long_t[1]"), 7)
	k.Put64(k.Var("__cpu_possible_mask", "struct cpumask"), 0b11)
	k.Put64(k.Var("nr_cpu_ids", "unsigned int"), 2)
	for cpu, a := range k.PerCPUVar("vm_event_states", "struct vm_event_state") {
		for i := range 3 {
			k.Put64(a+uint64(8*i), uint64((cpu+1)*(i+1)))
		}
	}
	k.Types["struct pglist_data *[1]"] = fk.Array(fk.Ptr(pg), 1)
	node := k.New("struct pglist_data")
	k.Put64(k.Var("node_data", "struct pglist_data *[1]"), node)
	name := k.Alloc(8, 8)
	k.Mem.Write(name, []byte("DMA32\x00"))
	k.Set(node, "struct pglist_data", "node_zones[0].name", name)
	k.Set(node, "struct pglist_data", "node_zones[0].spanned_pages", 4096)
	k.Set(node, "struct pglist_data", "node_zones[0].present_pages", 4000)
	for i, v := range []uint64{10, 20, 30} {
		k.Set(node, "struct pglist_data", "node_zones[0]._watermark["+string(rune('0'+i))+"]", v)
	}
	k.Set(node, "struct pglist_data", "node_zones[0].vm_stat[0].counter", 99)
	return k
}

func TestVMStatsAndZones(t *testing.T) {
	k := statKernel()
	m := New(space{}, k.C)
	st, err := m.VMStats()
	if err != nil {
		t.Fatal(err)
	}
	want := &VMStats{
		Zone:   []Counter{{"NR_FREE_PAGES", 100}, {"NR_ZONE_LRU_BASE", -1}},
		Node:   []Counter{{"NR_INACTIVE_ANON", 7}},
		Events: []Counter{{"PGPGIN", 1 + 2}, {"PGPGOUT", 2 + 4}, {"PGFAULT", 3 + 6}},
	}
	if d := cmp.Diff(want, st); d != "" {
		t.Errorf("VMStats (-want +got):\n%s", d)
	}
	zones, err := m.Zones()
	if err != nil {
		t.Fatal(err)
	}
	if len(zones) != 2 {
		t.Fatalf("zones: %+v", zones)
	}
	z := zones[0]
	if z.Name != "DMA32" || z.SpannedPages != 4096 || z.PresentPages != 4000 || z.Min != 10 || z.Low != 20 || z.High != 30 ||
		len(z.Stats) != 2 || z.Stats[0] != (Counter{"NR_FREE_PAGES", 99}) {
		t.Errorf("zone 0: %+v", z)
	}
	if zones[1].SpannedPages != 0 || zones[1].Index != 1 {
		t.Errorf("zone 1: %+v", zones[1])
	}
	if _, err := New(space{}, nil).VMStats(); err != ErrNoTypes {
		t.Errorf("no types: %v", err)
	}
}
