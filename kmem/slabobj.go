package kmem

import (
	"fmt"

	"github.com/vmcoretools/vmcore/arch"
	"github.com/vmcoretools/vmcore/value"
	"github.com/vmcoretools/vmcore/walk"
)

// Slab is one SLUB slab (struct slab, or struct page before 5.17) as
// crash's kmem -S and kmem ADDRESS show it.
type Slab struct {
	// Addr is the struct slab (its first struct page); Memory the slab's
	// memory in the direct map; Node its memory's node.
	Addr   arch.Word `json:"slab"`
	Memory arch.Word `json:"memory"`
	Node   int       `json:"node"`
	// Objects and InUse count its objects; for a CPU's current slab the
	// objects on that CPU's freelist count as free.
	Objects uint64 `json:"objects"`
	InUse   uint64 `json:"inuse"`
	// CPU is the CPU whose current slab this is, -1 for none.
	CPU int `json:"cpu"`
	// Slots are its objects in address order (when asked for).
	Slots []Slot `json:"slots,omitempty"`
}

// Slot is one object of a slab: its address and whether it is free (on
// the slab's freelist or on its CPU's).
type Slot struct {
	Addr arch.Word `json:"addr"`
	Free bool      `json:"free"`
}

// SlabObject is the slab object holding an address: its cache, its slab
// (with all its slots) and whether it is allocated, as crash's kmem
// ADDRESS and kmem -s/-S ADDRESS show it.
type SlabObject struct {
	Cache Cache `json:"cache"`
	Slab  Slab  `json:"slab"`
	// Object is the start of the object holding the address (0 for an
	// address past the slab's last object); Free says it is free.
	Object arch.Word `json:"object"`
	Free   bool      `json:"free"`
}

// slabRedZone is SLAB_RED_ZONE: objects begin after red_left_pad.
const slabRedZone = 0x400

// cacheParams is what reading one cache's slabs needs.
type cacheParams struct {
	lay                          *slubLayout
	kc                           value.Value
	offset, random, size, redPad uint64
	cpuSlab                      value.Value // kmem_cache.cpu_slab
	perCPU                       bool        // cpuSlab exists (not on 7.0+)
	// current maps each CPU's current slab to the first CPU that has it
	// and that CPU's freelist, read once for all the cache's slabs.
	current map[uint64]cpuCurrent
}

type cpuCurrent struct {
	cpu      int
	freelist uint64
}

func (m *Memory) cacheParams(lay *slubLayout, cacheAddr uint64) (*cacheParams, error) {
	kc, err := m.vals.At("struct kmem_cache", cacheAddr)
	if err != nil {
		return nil, err
	}
	u := func(path string) uint64 { x, _ := uintOf(kc, path); return x }
	p := &cacheParams{lay: lay, kc: kc, offset: u("offset"), random: u("random"), size: u("size")}
	if u("flags")&slabRedZone != 0 {
		p.redPad = u("red_left_pad")
	}
	if p.size == 0 {
		return nil, fmt.Errorf("kmem_cache %#x: size 0", cacheAddr)
	}
	p.current = map[uint64]cpuCurrent{}
	if p.cpuSlab, p.perCPU, err = cpuSlabsOf(kc); err != nil {
		return nil, err
	}
	if !p.perCPU {
		return p, nil // 7.0+: no per-CPU slabs, so no current ones
	}
	for cpu, err := range walk.PossibleCPUs(m.vals) {
		if err != nil {
			return nil, err
		}
		kcc, err := m.cpuOf(p, cpu)
		if err != nil {
			return nil, err
		}
		cur, _ := uintOf(kcc, lay.cpuSlab)
		if _, seen := p.current[cur]; cur != 0 && !seen {
			fl, _ := uintOf(kcc, "freelist")
			p.current[cur] = cpuCurrent{cpu: cpu, freelist: fl}
		}
	}
	return p, nil
}

// cpuOf returns the kmem_cache_cpu of cpu.
func (m *Memory) cpuOf(p *cacheParams, cpu int) (value.Value, error) {
	pcp, err := walk.PerCPUPtr(p.cpuSlab, cpu)
	if err != nil {
		return value.Value{}, err
	}
	return m.vals.At("struct kmem_cache_cpu", pcp.Addr)
}

// slab reads the slab at addr; with slots, its objects too.
func (m *Memory) slab(p *cacheParams, addr uint64, slots bool) (Slab, error) {
	inuse, objects, err := m.slabInfo(p.lay, addr)
	if err != nil {
		return Slab{}, err
	}
	phys, ok1 := m.ks.PageStructPhys(addr, m.pageStructSize, m.variable)
	mem, ok2 := m.ks.PhysToDirect(phys)
	if !ok1 || !ok2 {
		return Slab{}, fmt.Errorf("slab %#x: its memory cannot be found", addr)
	}
	s := Slab{Addr: arch.Word(addr), Memory: arch.Word(mem), Node: max(m.slabNode(p.lay, addr), 0), Objects: objects, InUse: inuse, CPU: -1}
	sv, err := m.vals.At(p.lay.slabType, addr)
	if err != nil {
		return s, err
	}
	slabFree, _ := uintOf(sv, "freelist")
	free := map[uint64]bool{}
	mark := func(o uint64) { free[o] = true }
	if cur, ok := p.current[addr]; ok {
		s.CPU = cur.cpu
		n, err := m.walkFreelist(cur.freelist, p.offset, p.random, p.lay.random, mark)
		if err != nil {
			return s, fmt.Errorf("CPU %d's freelist: %w", cur.cpu, err)
		}
		if slabFree != 0 {
			n += objects - inuse
		}
		s.InUse = objects - min(n, objects)
	}
	if !slots {
		return s, nil
	}
	if _, err := m.walkFreelist(slabFree, p.offset, p.random, p.lay.random, mark); err != nil {
		return s, fmt.Errorf("slab %#x's freelist: %w", addr, err)
	}
	for i := uint64(0); i < objects; i++ {
		o := mem + i*p.size + p.redPad
		s.Slots = append(s.Slots, Slot{Addr: arch.Word(o), Free: free[o]})
	}
	return s, nil
}

// SlabObject finds the SLUB object that holds the kernel virtual address
// addr. ok is false when the address is not in a slab's memory (its page
// belongs to no known cache).
func (m *Memory) SlabObject(addr uint64) (obj *SlabObject, ok bool, err error) {
	if m.vals == nil {
		return nil, false, ErrNoTypes
	}
	tr := m.ks.VtopKernel(addr, m.variable)
	if !tr.Mapped {
		return nil, false, nil
	}
	page, found := m.ks.PageStruct(tr.Phys, m.pageStructSize, m.variable)
	if !found || tr.Phys/m.ks.PageSize() >= m.maxPFN {
		return nil, false, nil
	}
	lay, err := m.slubLayout()
	if err != nil {
		return nil, false, err
	}
	// A tail page names its head.
	pv, err := m.vals.At("struct page", page)
	if err != nil {
		return nil, false, err
	}
	page = compoundHead(page, pv, lay.tailMask)
	sv, err := m.vals.At(lay.slabType, page)
	if err != nil {
		return nil, false, err
	}
	cacheAddr, err := uintOf(sv, "slab_cache")
	if err != nil || cacheAddr == 0 {
		return nil, false, nil
	}
	c, err := m.findCache(func(a uint64, _ string) bool { return a == cacheAddr })
	if err != nil {
		return nil, false, err
	}
	if c == nil {
		return nil, false, nil // not a slab: the word is something else
	}
	p, err := m.cacheParams(lay, cacheAddr)
	if err != nil {
		return nil, false, err
	}
	s, err := m.slab(p, page, true)
	if err != nil {
		return nil, false, err
	}
	o := &SlabObject{Cache: *c, Slab: s}
	mem := uint64(s.Memory)
	if addr >= mem && addr < mem+s.Objects*p.size {
		slot := s.Slots[(addr-mem)/p.size]
		o.Object, o.Free = slot.Addr, slot.Free
	}
	return o, true, nil
}

// CacheSlabs is every slab of one cache, as crash's kmem -S lists them:
// each CPU's current and partial slabs with their objects, then each
// node's partial slabs and, when the kernel tracks them, its full ones.
type CacheSlabs struct {
	Cache Cache       `json:"cache"`
	CPUs  []CPUSlabs  `json:"cpus"`
	Nodes []NodeSlabs `json:"nodes"`
	Err   string      `json:"error,omitempty"`
}

// CPUSlabs is one CPU's slabs of a cache.
type CPUSlabs struct {
	CPU          int       `json:"cpu"`
	KmemCacheCPU arch.Word `json:"kmem_cache_cpu"`
	Slab         *Slab     `json:"slab,omitempty"`
	Partial      []Slab    `json:"partial,omitempty"`
}

// NodeSlabs is one node's slabs of a cache: its counters and lists.
type NodeSlabs struct {
	Node          int       `json:"node"`
	KmemCacheNode arch.Word `json:"kmem_cache_node"`
	Slabs         uint64    `json:"nr_slabs"`
	PartialCount  uint64    `json:"nr_partial"`
	PerCPU        uint64    `json:"cpu_slabs"`
	Partial       []Slab    `json:"partial,omitempty"`
	// FullTracked: the kernel keeps the full slabs on a list (a cache
	// with SLAB_STORE_USER); Full is that list.
	FullTracked bool   `json:"full_tracked"`
	Full        []Slab `json:"full,omitempty"`
}

// slabStoreUser is SLAB_STORE_USER: the full slabs are listed.
const slabStoreUser = 0x10000

// CacheSlabs walks the slabs of the cache named name. The walk stops at
// the first list it cannot follow, keeping what it read, with Err saying
// where.
func (m *Memory) CacheSlabs(name string) (*CacheSlabs, error) {
	c, err := m.findCache(func(_ uint64, n string) bool { return n == name })
	if err != nil {
		return nil, err
	}
	if c == nil {
		return nil, fmt.Errorf("invalid slab cache name: %s", name)
	}
	return m.SlabsOf(c)
}

// SlabsOf walks the slabs of a cache that Caches listed, as CacheSlabs
// does.
func (m *Memory) SlabsOf(c *Cache) (*CacheSlabs, error) {
	lay, err := m.slubLayout()
	if err != nil {
		return nil, err
	}
	p, err := m.cacheParams(lay, uint64(c.Addr))
	if err != nil {
		return nil, err
	}
	out := &CacheSlabs{Cache: *c}
	if err := m.cacheSlabs(p, out); err != nil {
		out.Err = err.Error()
	}
	return out, nil
}

func (m *Memory) cacheSlabs(p *cacheParams, out *CacheSlabs) error {
	perNode := make([]uint64, len(p.lay.nodes))
	for cpu, err := range walk.PossibleCPUs(m.vals) {
		if err != nil {
			return err
		}
		if !p.perCPU {
			break // 7.0+: no per-CPU slabs
		}
		kcc, err := m.cpuOf(p, cpu)
		if err != nil {
			return err
		}
		cs := CPUSlabs{CPU: cpu, KmemCacheCPU: arch.Word(kcc.Addr)}
		out.CPUs = append(out.CPUs, cs)
		last := &out.CPUs[len(out.CPUs)-1]
		if cur, _ := uintOf(kcc, p.lay.cpuSlab); cur != 0 {
			if n := m.slabNode(p.lay, cur); n >= 0 && n < len(perNode) {
				perNode[n]++
			}
			s, err := m.slab(p, cur, true)
			if err != nil {
				return fmt.Errorf("CPU %d's slab: %w", cpu, err)
			}
			last.Slab = &s
		}
		part, _ := uintOf(kcc, "partial")
		for n := 0; part != 0; n++ {
			if n >= maxSlabWalk {
				return fmt.Errorf("CPU %d's partial slabs: more than %d", cpu, maxSlabWalk)
			}
			s, err := m.slab(p, part, true)
			if err != nil {
				return fmt.Errorf("CPU %d's partial slabs: %w", cpu, err)
			}
			last.Partial = append(last.Partial, s)
			sv, err := m.vals.At(p.lay.slabType, part)
			if err != nil {
				return err
			}
			if part, err = uintOf(sv, "next"); err != nil {
				return err
			}
		}
	}
	storeUser := false
	if f, err := uintOf(p.kc, "flags"); err == nil {
		storeUser = f&slabStoreUser != 0
	}
	for n := range p.lay.nodes {
		addr, err := cacheNode(p.kc, n)
		if err != nil {
			return err
		}
		ns := NodeSlabs{Node: n, KmemCacheNode: arch.Word(addr), PerCPU: perNode[n]}
		if addr == 0 {
			out.Nodes = append(out.Nodes, ns)
			continue
		}
		kn, err := m.vals.At("struct kmem_cache_node", addr)
		if err != nil {
			return err
		}
		ns.Slabs, _ = uintOf(kn, "nr_slabs")
		ns.PartialCount, _ = uintOf(kn, "nr_partial")
		lists := []struct {
			name string
			dst  *[]Slab
		}{{"partial", &ns.Partial}}
		if _, err := kn.Member("full"); err == nil && storeUser {
			ns.FullTracked = true
			lists = append(lists, struct {
				name string
				dst  *[]Slab
			}{"full", &ns.Full})
		}
		for _, l := range lists {
			head, err := kn.Member(l.name)
			if err != nil {
				return err
			}
			for sv, err := range walk.List(head, p.lay.slabType, p.lay.slabLink, walk.Max(maxSlabWalk)) {
				if err != nil {
					out.Nodes = append(out.Nodes, ns)
					return fmt.Errorf("node %d's %s list: %w", n, l.name, err)
				}
				s, err := m.slab(p, sv.Addr, false)
				if err != nil {
					out.Nodes = append(out.Nodes, ns)
					return fmt.Errorf("node %d's %s list: %w", n, l.name, err)
				}
				*l.dst = append(*l.dst, s)
			}
		}
		out.Nodes = append(out.Nodes, ns)
	}
	return nil
}

// compoundHead is the head page of the compound page that page (read as
// pv) belongs to, page itself when it is no tail page. How a tail names
// its head is read from the kernel's own layout:
//   - struct page has compound_head (before 7.1): the head's address with
//     bit 0 set;
//   - it has compound_info instead (7.1 and later): the same, unless
//     tailMask (slubLayout: the vmemmap tails are shared and struct
//     page's size is a power of two), when a tail's compound_info is a
//     mask (bit 0 set) that the page's own address is ANDed with.
func compoundHead(page uint64, pv value.Value, tailMask bool) uint64 {
	if info, err := uintOf(pv, "compound_info"); err == nil {
		switch {
		case info&1 == 0:
			return page
		case tailMask:
			return page & info
		}
		return info - 1
	}
	if ch, err := uintOf(pv, "compound_head"); err == nil && ch&1 != 0 {
		return ch - 1
	}
	return page
}
