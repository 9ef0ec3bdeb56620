package kmem

import (
	"debug/dwarf"
	"fmt"

	"github.com/vmcoretools/vmcore/arch"
	"github.com/vmcoretools/vmcore/ktype"
	"github.com/vmcoretools/vmcore/walk"
)

// ZoneFree is one zone's free memory as the buddy allocator holds it:
// what crash's kmem -f shows.
type ZoneFree struct {
	Node  int    `json:"node"`
	Index int    `json:"index"`
	Name  string `json:"name"`
	// SpannedPages is the zone's size; FreePages its NR_FREE_PAGES
	// counter.
	SpannedPages uint64 `json:"spanned_pages"`
	FreePages    uint64 `json:"free_pages"`
	// MemMap is the struct page of the zone's first page (0 for an empty
	// zone); StartPFN its page frame number; StartMapNr its index in the
	// node's struct page array.
	MemMap     arch.Word `json:"mem_map"`
	StartPFN   uint64    `json:"start_pfn"`
	StartMapNr uint64    `json:"start_mapnr"`
	// Lists are the free lists, by order and then migrate type.
	Lists []FreeList `json:"lists"`
	// Err names a free list that could not be walked (its count is then
	// what was met before); the others are counted.
	Err string `json:"error,omitempty"`
}

// FreeList is one list of free blocks: free_area[Order].free_list[Type].
type FreeList struct {
	Order int       `json:"order"`
	Type  int       `json:"migrate_type"`
	Addr  arch.Word `json:"addr"` // the list_head
	// Blocks is the blocks on the list; each is 2^Order pages.
	Blocks uint64 `json:"blocks"`
}

// Pages is the list's pages: Blocks << Order.
func (l FreeList) Pages() uint64 { return l.Blocks << l.Order }

// ListedPages is the pages on every free list of the zone.
func (z *ZoneFree) ListedPages() uint64 {
	var n uint64
	for _, l := range z.Lists {
		n += l.Pages()
	}
	return n
}

// FreeAreas walks every zone's free lists. A list that cannot be walked
// (an unreadable or looping link) is named in its zone's Err and the walk
// of the others goes on; each list is bounded by walk's default maximum.
func (m *Memory) FreeAreas() ([]ZoneFree, error) {
	return m.freeAreas(nil)
}

// freeAreas is FreeAreas; visit, when not nil, sees each free block's
// list link as the walk meets it, and ends the walk by returning false.
func (m *Memory) freeAreas(visit func(z *ZoneFree, l FreeList, link uint64) bool) ([]ZoneFree, error) {
	if m.vals == nil {
		return nil, ErrNoTypes
	}
	nrFree, _ := m.enumValue("enum zone_stat_item", "NR_FREE_PAGES")
	nodes, err := m.nodes()
	if err != nil {
		return nil, err
	}
	var out []ZoneFree
	for n, node := range nodes {
		nodeStart, _ := uintOf(node, "node_start_pfn")
		nodeMap := m.pageOfPFN(nodeStart)
		zones, err := nodeZones(node)
		if err != nil {
			return nil, err
		}
		for i, z := range zones {
			zf := ZoneFree{Node: n, Index: i, Name: zoneName(z)}
			zf.SpannedPages, _ = uintOf(z, "spanned_pages")
			zf.FreePages, _ = uintOf(z, fmt.Sprintf("vm_stat[%d]", nrFree))
			zf.StartPFN, _ = uintOf(z, "zone_start_pfn")
			if a := m.pageOfPFN(zf.StartPFN); zf.SpannedPages > 0 && a != 0 {
				zf.MemMap = arch.Word(a)
				if nodeMap != 0 && m.pageStructSize != 0 && a >= nodeMap {
					zf.StartMapNr = (a - nodeMap) / m.pageStructSize
				}
			}
			stopped, err := m.freeLists(z.Addr, &zf, visit)
			if err != nil {
				zf.Err = err.Error()
			}
			out = append(out, zf)
			if stopped {
				return out, nil
			}
		}
	}
	return out, nil
}

// freeLists walks the zone at addr's free_area[].free_list[], counting
// the blocks and showing each to visit (if not nil); stopped says visit
// ended the walk.
func (m *Memory) freeLists(zone uint64, zf *ZoneFree, visit func(z *ZoneFree, l FreeList, link uint64) bool) (stopped bool, err error) {
	z, err := m.vals.At("struct zone", zone)
	if err != nil {
		return false, err
	}
	fa, err := z.Member("free_area")
	if err != nil {
		return false, err
	}
	areas, err := fa.Elements()
	if err != nil {
		return false, err
	}
	var first error
	for order, area := range areas {
		fl, err := area.Member("free_list")
		if err != nil {
			return false, err
		}
		lists, err := fl.Elements()
		if err != nil {
			return false, err
		}
		for t, head := range lists {
			l := FreeList{Order: order, Type: t, Addr: arch.Word(head.Addr)}
			next, err := uintOf(head, "next")
			if err == nil && next != head.Addr {
				for link, err := range walk.Chain(m.vals, next, 0, 8, []uint64{head.Addr}) {
					if err != nil {
						if first == nil {
							first = fmt.Errorf("free_area[%d].free_list[%d] at %#x: %w", order, t, head.Addr, err)
						}
						break
					}
					l.Blocks++
					if visit != nil && !visit(zf, l, link) {
						return true, first
					}
				}
			} else if err != nil && first == nil {
				first = fmt.Errorf("free_area[%d].free_list[%d] at %#x: %w", order, t, head.Addr, err)
			}
			zf.Lists = append(zf.Lists, l)
		}
	}
	return false, first
}

// PageFlag is one enumerator of the kernel's enum pageflags: a struct
// page flag's name and bit (aliases, PG_checked = PG_owner_priv_1, share
// a bit). The enum's last enumerators (__NR_PAGEFLAGS) are not flags.
type PageFlag struct {
	Name string `json:"name"`
	Bit  int64  `json:"bit"`
}

// PageFlags lists enum pageflags in the kernel's order.
func (m *Memory) PageFlags() ([]PageFlag, error) {
	if m.vals == nil {
		return nil, ErrNoTypes
	}
	t, err := m.vals.Types.Type("enum pageflags")
	if err != nil {
		return nil, fmt.Errorf("enum pageflags does not exist in this kernel: %w", err)
	}
	et, ok := t.(*dwarf.EnumType)
	if !ok {
		return nil, fmt.Errorf("enum pageflags is a %T", t)
	}
	out := make([]PageFlag, 0, len(et.Val))
	for _, v := range et.Val {
		out = append(out, PageFlag{Name: v.Name, Bit: v.Val})
	}
	return out, nil
}

// FreeBlock is the block of free pages that holds a physical address,
// as crash's kmem ADDRESS and kmem -f ADDRESS show it.
type FreeBlock struct {
	Zone ZoneFree `json:"zone"`
	List FreeList `json:"list"`
	// Page is the block's first struct page; Index the page of the
	// address within the block (0 for the first).
	Page  arch.Word `json:"page"`
	Index uint64    `json:"index"`
}

// FreeBlockOf finds the free block holding the physical address phys by
// walking every zone's free lists; ok is false when the page is not free.
func (m *Memory) FreeBlockOf(phys uint64) (fb *FreeBlock, ok bool, err error) {
	if m.vals == nil {
		return nil, false, ErrNoTypes
	}
	lru, err := ktype.Offset(m.vals.Types, "struct page", "lru")
	if err != nil {
		return nil, false, err
	}
	ps := m.ks.PageSize()
	_, err = m.freeAreas(func(z *ZoneFree, l FreeList, link uint64) bool {
		page := link - uint64(lru)
		start, ok := m.ks.PageStructPhys(page, m.pageStructSize, m.variable)
		if ok && phys >= start && phys < start+ps<<l.Order {
			fb = &FreeBlock{Zone: *z, List: l, Page: arch.Word(page), Index: (phys - start) / ps}
			return false
		}
		return true
	})
	return fb, fb != nil, err
}
