package kmem

import (
	"errors"
	"fmt"
	"math/bits"

	"github.com/vmcoretools/vmcore/arch"
	"github.com/vmcoretools/vmcore/ktype"
	"github.com/vmcoretools/vmcore/value"
	"github.com/vmcoretools/vmcore/walk"
)

// Cache is one SLUB cache (struct kmem_cache) with its object counts, as
// crash's kmem -s tallies them.
type Cache struct {
	Addr arch.Word `json:"addr"`
	Name string    `json:"name"`
	// ObjectSize is the size asked for (object_size); Size the slot each
	// object takes with its metadata.
	ObjectSize uint64 `json:"object_size"`
	Size       uint64 `json:"size"`
	// ObjectsPerSlab and SlabBytes come from the cache's preferred slab
	// order (kmem_cache.oo).
	ObjectsPerSlab uint64 `json:"objects_per_slab"`
	SlabBytes      uint64 `json:"slab_bytes"`
	// Allocated, Total and Slabs are the objects in use, all objects and
	// the slabs, over every node and CPU: Total and Slabs from the
	// nodes' counters, the free objects by walking the CPU slabs, their
	// freelists (CONFIG_SLAB_FREELIST_HARDENED pointers decoded), the CPU
	// partial slabs and the nodes' partial lists.
	Allocated uint64 `json:"allocated"`
	Total     uint64 `json:"total"`
	Slabs     uint64 `json:"slabs"`
	// Err, when set, says why the counts could not be gathered (they are
	// then 0).
	Err string `json:"error,omitempty"`
}

// maxSlabWalk bounds each list a cache walk follows (freelists, partial
// lists): a corrupt link ends the count with an error, not a hang.
const maxSlabWalk = 1 << 20

// slubLayout is what the cache walk reads, found once.
type slubLayout struct {
	random    bool // kmem_cache.random: hardened freelist pointers
	slabType  string
	slabLink  string // the member chaining partial slabs: slab_list or lru
	cpuSlab   string // kmem_cache_cpu's current slab: slab or page
	hasTotals bool   // kmem_cache_node.total_objects
	// tailMask: a tail page's compound_info is a mask over its own
	// address (7.1+ with shared vmemmap tails), not its head + 1.
	tailMask bool
	nodes    []nodeRange
}

type nodeRange struct{ start, end uint64 } // pfns

// Caches lists the SLUB caches in slab_caches order with their counts. A
// cache whose slabs cannot be walked has Err set; the others are still
// counted.
func (m *Memory) Caches() ([]Cache, error) {
	var out []Cache
	err := m.eachCache(func(kc value.Value, name string) bool { return true }, func(c Cache) bool {
		out = append(out, c)
		return true
	})
	return out, err
}

// findCache is the cache of slab_caches that match picks (by its
// kmem_cache address and name), counted; nil when none is.
func (m *Memory) findCache(match func(addr uint64, name string) bool) (*Cache, error) {
	var found *Cache
	err := m.eachCache(func(kc value.Value, name string) bool { return match(kc.Addr, name) }, func(c Cache) bool {
		found = &c
		return false
	})
	return found, err
}

// eachCache walks slab_caches and counts the caches pick selects (only
// those: counting walks every freelist), handing each to yield until it
// returns false.
func (m *Memory) eachCache(pick func(kc value.Value, name string) bool, yield func(Cache) bool) error {
	if m.vals == nil {
		return ErrNoTypes
	}
	head, err := m.vals.Var("slab_caches")
	if err != nil {
		return err
	}
	lay, err := m.slubLayout()
	if err != nil {
		return err
	}
	for kc, err := range walk.List(head, "struct kmem_cache", "list") {
		if err != nil {
			return err
		}
		c := Cache{Addr: arch.Word(kc.Addr)}
		if n, e := kc.Member("name"); e == nil {
			c.Name, _ = n.CString(64)
		}
		if !pick(kc, c.Name) {
			continue
		}
		u := func(path string) uint64 { x, _ := uintOf(kc, path); return x }
		c.ObjectSize, c.Size = u("object_size"), u("size")
		oo := u("oo.x")
		c.ObjectsPerSlab = oo & (1<<16 - 1)
		c.SlabBytes = m.ks.PageSize() << (oo >> 16)
		if err := m.countCache(kc, &c, lay); err != nil {
			c.Allocated, c.Total, c.Slabs = 0, 0, 0
			c.Err = err.Error()
		}
		if !yield(c) {
			return nil
		}
	}
	return nil
}

func (m *Memory) slubLayout() (*slubLayout, error) {
	lay := &slubLayout{slabType: "struct slab", slabLink: "slab_list", cpuSlab: "slab"}
	if _, err := m.vals.Types.Type("struct slab"); err != nil {
		lay.slabType, lay.slabLink, lay.cpuSlab = "struct page", "slab_list", "page"
	}
	if _, err := ktype.Offset(m.vals.Types, "struct kmem_cache", "random"); err == nil {
		lay.random = true
	}
	if _, err := ktype.Offset(m.vals.Types, "struct kmem_cache_node", "total_objects"); err == nil {
		lay.hasTotals = true
	}
	if _, err := ktype.Offset(m.vals.Types, "struct zone", "vmemmap_tails"); err == nil {
		size := m.pageStructSize
		lay.tailMask = size > 0 && size&(size-1) == 0
	}
	if _, err := ktype.Offset(m.vals.Types, "struct kmem_cache_node", "nr_slabs"); err != nil {
		return nil, errors.New("kmem_cache_node has no nr_slabs (a kernel built without CONFIG_SLUB_DEBUG)")
	}
	nodes, err := m.nodes()
	if err != nil {
		return nil, err
	}
	for _, n := range nodes {
		var r nodeRange
		if v, e := n.Member("node_start_pfn"); e == nil {
			r.start, _ = v.Uint()
		}
		if v, e := n.Member("node_spanned_pages"); e == nil {
			s, _ := v.Uint()
			r.end = r.start + s
		}
		lay.nodes = append(lay.nodes, r)
	}
	return lay, nil
}

// slabInfo reads a slab's inuse and objects counts.
func (m *Memory) slabInfo(lay *slubLayout, addr uint64) (inuse, objects uint64, err error) {
	s, err := m.vals.At(lay.slabType, addr)
	if err != nil {
		return 0, 0, err
	}
	iv, err := s.Member("inuse")
	if err != nil {
		return 0, 0, err
	}
	if inuse, err = iv.Uint(); err != nil {
		return 0, 0, err
	}
	ov, err := s.Member("objects")
	if err != nil {
		return 0, 0, err
	}
	if objects, err = ov.Uint(); err != nil {
		return 0, 0, err
	}
	if objects == 0 || objects == 1<<15-1 || inuse > objects {
		return 0, 0, fmt.Errorf("slab %#x: impossible counts (inuse %d, objects %d)", addr, inuse, objects)
	}
	return inuse, objects, nil
}

// slabNode is the node of a slab's memory, by its page frame.
func (m *Memory) slabNode(lay *slubLayout, slab uint64) int {
	if len(lay.nodes) <= 1 {
		return 0
	}
	pa, ok := m.ks.PageStructPhys(slab, m.pageStructSize, m.variable)
	if !ok {
		return -1
	}
	pfn := pa / m.ks.PageSize()
	for i, r := range lay.nodes {
		if pfn >= r.start && pfn < r.end {
			return i
		}
	}
	return -1
}

// countCache fills c's counts as crash's get_kmem_cache_slub_data does.
func (m *Memory) countCache(kc value.Value, c *Cache, lay *slubLayout) error {
	var random uint64
	if lay.random {
		if v, err := kc.Member("random"); err == nil {
			random, _ = v.Uint()
		}
	}
	offset := uint64(0)
	if v, err := kc.Member("offset"); err == nil {
		offset, _ = v.Uint()
	}
	perNode := make([]uint64, len(lay.nodes))
	var free, cpuSlabs uint64
	cpuSlabPtr, perCPU, err := cpuSlabsOf(kc)
	if err != nil {
		return err
	}
	n, err := m.sheavesFree(kc, lay)
	if err != nil {
		return err
	}
	free += n
	for cpu, err := range walk.PossibleCPUs(m.vals) {
		if err != nil {
			return err
		}
		if !perCPU {
			break
		}
		pcp, err := walk.PerCPUPtr(cpuSlabPtr, cpu)
		if err != nil {
			return err
		}
		// By name: the pointer's own type can be a declaration (a
		// compilation unit that only declares struct kmem_cache_cpu).
		kcc, err := m.vals.At("struct kmem_cache_cpu", pcp.Addr)
		if err != nil {
			return err
		}
		sv, err := kcc.Member(lay.cpuSlab)
		if err != nil {
			return err
		}
		slab, err := sv.Uint()
		if err != nil {
			return err
		}
		if slab == 0 {
			continue
		}
		node := m.slabNode(lay, slab)
		if node < 0 || node >= len(perNode) {
			return fmt.Errorf("CPU %d's slab %#x is on no node", cpu, slab)
		}
		inuse, objects, err := m.slabInfo(lay, slab)
		if err != nil {
			return fmt.Errorf("CPU %d: %w", cpu, err)
		}
		free += objects - inuse
		if fl, err := kcc.Member("freelist"); err == nil {
			p, _ := fl.Uint()
			n, err := m.countFreelist(p, offset, random, lay.random)
			if err != nil {
				return fmt.Errorf("CPU %d's freelist: %w", cpu, err)
			}
			free += n
		}
		if pv, err := kcc.Member("partial"); err == nil {
			p, _ := pv.Uint()
			for n := 0; p != 0; n++ {
				if n >= maxSlabWalk {
					return fmt.Errorf("CPU %d's partial slabs: more than %d", cpu, maxSlabWalk)
				}
				inuse, objects, err := m.slabInfo(lay, p)
				if err != nil {
					return fmt.Errorf("CPU %d's partial slabs: %w", cpu, err)
				}
				free += objects - inuse
				s, err := m.vals.At(lay.slabType, p)
				if err != nil {
					return err
				}
				if p, err = uintOf(s, "next"); err != nil {
					return err
				}
			}
		}
		cpuSlabs++
		perNode[node]++
	}
	var total, slabs uint64
	for n := range lay.nodes {
		p, err := cacheNode(kc, n)
		if err != nil {
			return err
		}
		if p == 0 {
			continue
		}
		kn, err := m.vals.At("struct kmem_cache_node", p)
		if err != nil {
			return err
		}
		field := func(name string) (uint64, error) { return uintOf(kn, name) }
		nrPartial, err := field("nr_partial")
		if err != nil {
			return err
		}
		nrSlabs, err := field("nr_slabs")
		if err != nil {
			return err
		}
		partial, err := kn.Member("partial")
		if err != nil {
			return err
		}
		for s, err := range walk.List(partial, lay.slabType, lay.slabLink, walk.Max(maxSlabWalk)) {
			if err != nil {
				return fmt.Errorf("node %d's partial list: %w", n, err)
			}
			inuse, objects, err := m.slabInfo(lay, s.Addr)
			if err != nil {
				return fmt.Errorf("node %d's partial list: %w", n, err)
			}
			free += objects - inuse
		}
		if lay.hasTotals {
			t, err := field("total_objects")
			if err != nil {
				return err
			}
			total += t
		} else {
			total += (nrSlabs - perNode[n] - nrPartial) * c.ObjectsPerSlab
		}
		slabs += nrSlabs
	}
	if free > total {
		return fmt.Errorf("more free objects (%d) than objects (%d)", free, total)
	}
	c.Total, c.Allocated, c.Slabs = total, total-free, slabs
	return nil
}

// cpuSlabsOf is kmem_cache.cpu_slab, the per-CPU slabs; perCPU is false
// for a kernel without them (7.0+, which has per-CPU sheaves instead).
func cpuSlabsOf(kc value.Value) (v value.Value, perCPU bool, err error) {
	v, err = kc.Member("cpu_slab")
	if err == nil {
		return v, true, nil
	}
	if _, err2 := kc.Member("cpu_sheaves"); err2 == nil {
		return v, false, nil
	}
	return v, false, err
}

// cacheBarn is the address of node n's barn of full and empty sheaves
// (6.18+): kmem_cache.per_node[n].barn since 7.1, kmem_cache_node.barn
// before; 0 for none.
func (m *Memory) cacheBarn(kc value.Value, n int) (uint64, error) {
	if arr, err := kc.Member("per_node"); err == nil {
		pn, err := arr.Index(n)
		if err != nil {
			return 0, err
		}
		return uintOf(pn, "barn")
	}
	p, err := cacheNode(kc, n)
	if err != nil || p == 0 {
		return 0, err
	}
	kn, err := m.vals.At("struct kmem_cache_node", p)
	if err != nil {
		return 0, err
	}
	barn, _ := uintOf(kn, "barn") // none before 6.18
	return barn, nil
}

// cacheNode is the address of a cache's struct kmem_cache_node for node
// n: kmem_cache.node[n], or since 7.1 kmem_cache.per_node[n].node.
func cacheNode(kc value.Value, n int) (uint64, error) {
	if arr, err := kc.Member("node"); err == nil {
		np, err := arr.Index(n)
		if err != nil {
			return 0, err
		}
		return np.Uint()
	}
	arr, err := kc.Member("per_node")
	if err != nil {
		return 0, errors.New("struct kmem_cache has neither node nor per_node")
	}
	pn, err := arr.Index(n)
	if err != nil {
		return 0, err
	}
	return uintOf(pn, "node")
}

// sheavesFree counts the free objects a cache holds in sheaves (6.18+):
// each CPU's main and spare sheaf, and the full sheaves in each node's
// barn (kmem_cache_node.barn until 7.0, kmem_cache.per_node[n].barn
// since 7.1). 0 for a kernel without sheaves.
func (m *Memory) sheavesFree(kc value.Value, lay *slubLayout) (uint64, error) {
	pcsPtr, err := kc.Member("cpu_sheaves")
	if err != nil {
		return 0, nil
	}
	if a, _ := pcsPtr.Uint(); a == 0 {
		return 0, nil
	}
	sheafSize := func(addr uint64) (uint64, error) {
		if addr == 0 {
			return 0, nil
		}
		sh, err := m.vals.At("struct slab_sheaf", addr)
		if err != nil {
			return 0, err
		}
		return uintOf(sh, "size")
	}
	var free uint64
	for cpu, err := range walk.PossibleCPUs(m.vals) {
		if err != nil {
			return 0, err
		}
		pcp, err := walk.PerCPUPtr(pcsPtr, cpu)
		if err != nil {
			return 0, err
		}
		pcs, err := m.vals.At("struct slub_percpu_sheaves", pcp.Addr)
		if err != nil {
			return 0, err
		}
		for _, which := range []string{"main", "spare"} {
			a, _ := uintOf(pcs, which)
			n, err := sheafSize(a)
			if err != nil {
				return 0, fmt.Errorf("CPU %d's %s sheaf: %w", cpu, which, err)
			}
			free += n
		}
	}
	for n := range lay.nodes {
		barn, err := m.cacheBarn(kc, n)
		if err != nil {
			return 0, err
		}
		if barn == 0 {
			continue
		}
		b, err := m.vals.At("struct node_barn", barn)
		if err != nil {
			return 0, err
		}
		full, err := b.Member("sheaves_full")
		if err != nil {
			return 0, err
		}
		for sh, err := range walk.List(full, "struct slab_sheaf", "barn_list", walk.Max(maxSlabWalk)) {
			if err != nil {
				return 0, fmt.Errorf("node %d's full sheaves: %w", n, err)
			}
			size, err := uintOf(sh, "size")
			if err != nil {
				return 0, err
			}
			free += size
		}
	}
	return free, nil
}

// countFreelist counts a freelist's objects: each free object holds the
// next at offset, encoded under CONFIG_SLAB_FREELIST_HARDENED as
// ptr ^ random ^ swab(address of ptr) (or, on kernels before 5.7, without
// the swab, which is tried when the first decoding leads nowhere, as crash
// does).
func (m *Memory) countFreelist(p, offset, random uint64, hardened bool) (uint64, error) {
	return m.walkFreelist(p, offset, random, hardened, nil)
}

// walkFreelist follows a freelist as countFreelist does, calling visit
// (if not nil) with each free object, and returns how many it met.
func (m *Memory) walkFreelist(p, offset, random uint64, hardened bool, visit func(obj uint64)) (uint64, error) {
	seen := map[uint64]bool{}
	var n uint64
	var b [8]byte
	for p != 0 && p&1 == 0 { // an odd pointer ends it, as in crash
		if seen[p] {
			return n, fmt.Errorf("object %#x twice", p)
		}
		if len(seen) >= maxSlabWalk {
			return n, fmt.Errorf("more than %d objects", maxSlabWalk)
		}
		seen[p] = true
		n++
		if visit != nil {
			visit(p)
		}
		at := p + offset
		if err := m.vals.Read(b[:], at, "freelist pointer"); err != nil {
			return n, err
		}
		next := leOrder.Uint64(b[:])
		if hardened {
			d := next ^ random ^ bits.ReverseBytes64(at)
			if d != 0 && !m.readable(d) {
				d = next ^ random ^ at
			}
			next = d
		}
		p = next
	}
	return n, nil
}

func (m *Memory) readable(addr uint64) bool {
	var b [1]byte
	_, err := m.ks.ReadVirt(b[:], addr)
	return err == nil
}
