package kmem

import (
	"fmt"

	"github.com/vmcoretools/vmcore/arch"
	"github.com/vmcoretools/vmcore/walk"
)

// SlabObject is the slab object holding an address: its cache, its slab
// and whether it is allocated, as crash's kmem ADDRESS shows it.
type SlabObject struct {
	Cache Cache `json:"cache"`
	// Slab is the slab's struct slab (its first struct page); Memory its
	// memory in the direct map; Node its memory's node.
	Slab   arch.Word `json:"slab"`
	Memory arch.Word `json:"memory"`
	Node   int       `json:"node"`
	// Objects and InUse count the slab's objects; a CPU's slab counts
	// its CPU freelist's objects as free.
	Objects uint64 `json:"objects"`
	InUse   uint64 `json:"inuse"`
	// Object is the start of the object holding the address.
	Object arch.Word `json:"object"`
	// Free: the object is on the slab's or its CPU's freelist.
	Free bool `json:"free"`
	// CPU is the CPU whose current slab this is, -1 for none.
	CPU int `json:"cpu"`
}

// slabRedZone is SLAB_RED_ZONE: objects begin after red_left_pad.
const slabRedZone = 0x400

// SlabObject finds the SLUB object that holds the kernel virtual address
// addr. ok is false when the address is not in a slab's memory (its page
// belongs to no known cache).
func (m *Memory) SlabObject(addr uint64) (obj *SlabObject, ok bool, err error) {
	if m.vals == nil {
		return nil, false, ErrNoTypes
	}
	tr := m.ks.(arch.Vtop).VtopKernel(addr, m.variable)
	if !tr.Mapped {
		return nil, false, nil
	}
	ps := m.ks.PageSize()
	page, found := m.ks.PageStruct(tr.Phys, m.pageStructSize, m.variable)
	if !found || tr.Phys/ps >= m.maxPFN {
		return nil, false, nil
	}
	lay, err := m.slubLayout()
	if err != nil {
		return nil, false, err
	}
	// A tail page names its head (compound_head, low bit set).
	pv, err := m.vals.At("struct page", page)
	if err != nil {
		return nil, false, err
	}
	if ch, err := uintOf(pv, "compound_head"); err == nil && ch&1 != 0 {
		page = ch - 1
	}
	sv, err := m.vals.At(lay.slabType, page)
	if err != nil {
		return nil, false, err
	}
	cacheAddr, err := uintOf(sv, "slab_cache")
	if err != nil || cacheAddr == 0 {
		return nil, false, nil
	}
	caches, err := m.Caches()
	if err != nil {
		return nil, false, err
	}
	var c *Cache
	for i := range caches {
		if uint64(caches[i].Addr) == cacheAddr {
			c = &caches[i]
		}
	}
	if c == nil {
		return nil, false, nil // not a slab: the word is something else
	}
	kc, err := m.vals.At("struct kmem_cache", cacheAddr)
	if err != nil {
		return nil, false, err
	}
	u := func(path string) uint64 { x, _ := uintOf(kc, path); return x }
	offset, random, size := u("offset"), u("random"), u("size")
	redPad := uint64(0)
	if u("flags")&slabRedZone != 0 {
		redPad = u("red_left_pad")
	}
	inuse, objects, err := m.slabInfo(lay, page)
	if err != nil {
		return nil, false, err
	}
	headPhys, ok2 := m.ks.PageStructPhys(page, m.pageStructSize, m.variable)
	mem, ok3 := m.ks.PhysToDirect(headPhys)
	if !ok2 || !ok3 || size == 0 {
		return nil, false, fmt.Errorf("slab %#x: its memory cannot be found", page)
	}
	o := &SlabObject{Cache: *c, Slab: arch.Word(page), Memory: arch.Word(mem), Node: max(m.slabNode(lay, page), 0),
		Objects: objects, InUse: inuse, CPU: -1}
	free := map[uint64]bool{}
	mark := func(p uint64) { free[p] = true }
	slabFree, _ := uintOf(sv, "freelist")
	// The CPU whose current slab this is: its freelist's objects are free
	// too, and the slab's inuse counts them as used.
	cpuSlabPtr, err := kc.Member("cpu_slab")
	if err != nil {
		return nil, false, err
	}
	for cpu, err := range walk.PossibleCPUs(m.vals) {
		if err != nil {
			return nil, false, err
		}
		pcp, err := walk.PerCPUPtr(cpuSlabPtr, cpu)
		if err != nil {
			return nil, false, err
		}
		kcc, err := m.vals.At("struct kmem_cache_cpu", pcp.Addr)
		if err != nil {
			return nil, false, err
		}
		if s, _ := uintOf(kcc, lay.cpuSlab); s != page {
			continue
		}
		o.CPU = cpu
		cf, _ := uintOf(kcc, "freelist")
		n, err := m.walkFreelist(cf, offset, random, lay.random, mark)
		if err != nil {
			return nil, false, fmt.Errorf("CPU %d's freelist: %w", cpu, err)
		}
		if slabFree != 0 {
			n += objects - inuse
		}
		o.InUse = objects - min(n, objects)
		break
	}
	if _, err := m.walkFreelist(slabFree, offset, random, lay.random, mark); err != nil {
		return nil, false, fmt.Errorf("slab %#x's freelist: %w", page, err)
	}
	if addr < mem || addr >= mem+objects*size {
		// In the slab's memory but past its objects: crash names no
		// object either.
		return o, true, nil
	}
	start := mem + (addr-mem)/size*size
	o.Object = arch.Word(start + redPad)
	o.Free = free[start+redPad]
	return o, true, nil
}
