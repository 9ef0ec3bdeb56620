package walk_test

import (
	"slices"
	"testing"

	"github.com/vmcoretools/vmcore/walk"
)

func TestCPUs(t *testing.T) {
	k := newKernel()
	k.cpus([]int{0, 1, 2, 65}, []int{1, 65})
	for name, tc := range map[string]struct {
		got  func() ([]int, error)
		want []int
	}{
		"possible": {func() ([]int, error) { return walk.Collect(walk.PossibleCPUs(k.c)) }, []int{0, 1, 2, 65}},
		"present":  {func() ([]int, error) { return walk.Collect(walk.PresentCPUs(k.c)) }, []int{0, 1, 2, 65}},
		"online":   {func() ([]int, error) { return walk.Collect(walk.OnlineCPUs(k.c)) }, []int{1, 65}},
		"mask":     {func() ([]int, error) { return walk.Collect(walk.CPUs(mustVar(t, k.c, "__cpu_online_mask"))) }, []int{1, 65}},
	} {
		got, err := tc.got()
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, %v; want %v", name, got, err, tc.want)
		}
	}
	// Bits past nr_cpu_ids are not CPUs.
	k.put32(k.src.Vars["nr_cpu_ids"].Addr, 3)
	if got, err := walk.Collect(walk.OnlineCPUs(k.c)); err != nil || !slices.Equal(got, []int{1}) {
		t.Errorf("nr_cpu_ids 3: %v, %v", got, err)
	}
	if n, err := walk.NrCPUIDs(k.c); err != nil || n != 3 {
		t.Errorf("NrCPUIDs = %d, %v", n, err)
	}
	// A kernel without the mask is a layout error; an unreadable one a
	// read error naming it.
	_, err := walk.Collect(walk.ActiveCPUs(k.c))
	wantErr(t, err, walk.ErrLayout, 0)
	m := k.src.Vars["__cpu_online_mask"]
	m.Addr = 0xdead000000000000
	_, err = walk.Collect(walk.OnlineCPUs(k.c))
	wantErr(t, err, errUnmapped, 0xdead000000000000)
}

func TestPerCPU(t *testing.T) {
	k := newKernel()
	k.cpus([]int{0, 1, 3}, []int{0, 1, 3})
	k.perCPUVar("hits", "long unsigned int", 0x10)
	for i, cpu := range []int{0, 1, 3} {
		k.put64(k.perCPU("hits", cpu), uint64(100+i))
	}
	var got []uint64
	var cpus []int
	for pc, err := range walk.PerCPU(k.c, "hits", walk.PossibleCPUs(k.c)) {
		if err != nil {
			t.Fatal(err)
		}
		n, err := pc.Value.Uint()
		if err != nil {
			t.Fatal(err)
		}
		got, cpus = append(got, n), append(cpus, pc.CPU)
	}
	if !slices.Equal(got, []uint64{100, 101, 102}) || !slices.Equal(cpus, []int{0, 1, 3}) {
		t.Errorf("per-CPU hits: %v on %v", got, cpus)
	}
	// A per-CPU pointer: struct s { struct stats __percpu *stats; }.
	k.perCPUVar("stats_area", "struct stats", 0x100)
	for _, cpu := range []int{0, 1, 3} {
		k.put64(k.perCPU("stats_area", cpu)+8, uint64(cpu*7))
	}
	p := k.variable("stats_ptr", "struct stats *")
	k.put64(p, 0x1100)
	pv := mustVar(t, k.c, "stats_ptr")
	for pc, err := range walk.PerCPUPtrs(pv, walk.PossibleCPUs(k.c)) {
		if err != nil {
			t.Fatal(err)
		}
		m, err := pc.Value.Member("misses")
		if err != nil {
			t.Fatal(err)
		}
		if n, err := m.Uint(); err != nil || n != uint64(pc.CPU*7) {
			t.Errorf("per_cpu_ptr(stats, %d)->misses = %d, %v", pc.CPU, n, err)
		}
	}
	if _, err := walk.PerCPUPtr(mustVar(t, k.c, "nr_cpu_ids"), 0); err == nil {
		t.Error("PerCPUPtr of an int: no error")
	}
	// A CPU without an area.
	_, err := walk.Collect(walk.PerCPU(k.c, "hits", walk.CPUList(200)))
	wantErr(t, err, nil, 0)
	_, err = walk.Collect(walk.PerCPU(k.c, "nosuch", walk.PossibleCPUs(k.c)))
	wantErr(t, err, nil, 0)
}
