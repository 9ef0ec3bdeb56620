package kmem

import (
	"errors"
	"fmt"
	"iter"

	"github.com/vmcoretools/vmcore/arch"
	"github.com/vmcoretools/vmcore/ktype"
	"github.com/vmcoretools/vmcore/value"
	"github.com/vmcoretools/vmcore/vmcoreinfo"
)

// The state bits of a section's section_mem_map (include/linux/mmzone.h).
const (
	sectionPresent   = 1 << 0
	sectionHasMemMap = 1 << 1
	sectionOnline    = 1 << 2
	sectionEarly     = 1 << 3
	// The struct page array's address is aligned well above the state
	// bits, whichever of them a kernel has (5 or 6).
	sectionMapMask = ^uint64(1<<6 - 1)
)

// Section is one memory section of a SPARSEMEM kernel (struct
// mem_section) that is present and has its struct pages: what crash's
// kmem -n lists and kmem -p walks.
type Section struct {
	Nr   uint64    `json:"nr"`
	Addr arch.Word `json:"mem_section"`
	// CodedMemMap is section_mem_map without its state bits: the struct
	// page array less the section's first page frame number; MemMap is
	// the struct page of the section's first page.
	CodedMemMap arch.Word `json:"coded_mem_map"`
	MemMap      arch.Word `json:"mem_map"`
	// State is section_mem_map's state bits: present, has a mem_map,
	// online, early (P, M, O, E in crash).
	State    uint64 `json:"state"`
	FirstPFN uint64 `json:"first_pfn"`
}

// UseVMCOREINFO gives the memory the dump's VMCOREINFO, which holds the
// constants of the kernel's build that its types lack (SECTION_SIZE_BITS).
func (m *Memory) UseVMCOREINFO(info *vmcoreinfo.Info) *Memory {
	m.info = info
	return m
}

// PagesPerSection is a memory section's size in pages (2^(SECTION_SIZE_BITS
// - PAGE_SHIFT)), from VMCOREINFO.
func (m *Memory) PagesPerSection() (uint64, error) {
	if m.info == nil {
		return 0, errors.New("memory sections: no VMCOREINFO given (UseVMCOREINFO)")
	}
	bits, ok := m.info.Number("SECTION_SIZE_BITS")
	ps := m.ks.PageSize()
	shift := 0
	for ps > 1 {
		ps >>= 1
		shift++
	}
	if !ok || bits <= int64(shift) || bits > 48 {
		return 0, errors.New("memory sections: VMCOREINFO lacks NUMBER(SECTION_SIZE_BITS)")
	}
	return 1 << (uint64(bits) - uint64(shift)), nil
}

// Sections lists the present memory sections with their struct pages, up
// to the one holding max_pfn, from mem_section (a table of roots, each a
// page of struct mem_section, on SPARSEMEM_EXTREME kernels; an array
// otherwise).
func (m *Memory) Sections() ([]Section, error) {
	if m.vals == nil {
		return nil, ErrNoTypes
	}
	pps, err := m.PagesPerSection()
	if err != nil {
		return nil, err
	}
	if m.maxPFN == 0 {
		return nil, errors.New("memory sections: max_pfn cannot be read")
	}
	ms, err := m.vals.Var("mem_section")
	if err != nil {
		return nil, fmt.Errorf("memory sections: %w (not a SPARSEMEM kernel?)", err)
	}
	st, err := m.vals.Types.Type("struct mem_section")
	if err != nil {
		return nil, err
	}
	size := uint64(st.Size())
	if size == 0 {
		return nil, errors.New("memory sections: struct mem_section has no size")
	}
	perRoot := m.ks.PageSize() / size
	extreme := false
	if p, err := ms.Deref(); err == nil && p.Type != nil {
		extreme = true // struct mem_section **: roots of a page each
	}
	n := (m.maxPFN + pps - 1) / pps
	var out []Section
	for nr := uint64(0); nr < n; nr++ {
		var addr uint64
		if extreme {
			root, err := ms.Index(int(nr / perRoot))
			if err != nil {
				return out, err
			}
			r, err := root.Uint()
			if err != nil {
				return out, fmt.Errorf("memory sections: root %d: %w", nr/perRoot, err)
			}
			if r == 0 {
				continue
			}
			addr = r + (nr%perRoot)*size
		} else {
			// struct mem_section mem_section[roots][per root]
			row, err := ms.Index(int(nr / perRoot))
			if err != nil {
				return out, err
			}
			e, err := row.Index(int(nr % perRoot))
			if err != nil {
				return out, err
			}
			addr = e.Addr
		}
		sec := m.vals.Typed(st, addr, "mem_section")
		word, err := uintOf(sec, "section_mem_map")
		if err != nil {
			return out, fmt.Errorf("memory sections: section %d at %#x: %w", nr, addr, err)
		}
		if word&sectionPresent == 0 || word&sectionHasMemMap == 0 {
			continue
		}
		coded := word & sectionMapMask
		first := nr * pps
		out = append(out, Section{Nr: nr, Addr: arch.Word(addr), CodedMemMap: arch.Word(coded),
			MemMap: arch.Word(coded + first*m.pageStructSize), State: word &^ sectionMapMask, FirstPFN: first})
	}
	return out, nil
}

// PageInfo is one struct page as crash's kmem -p lists it.
type PageInfo struct {
	Addr    arch.Word `json:"page"`
	Phys    arch.Word `json:"phys"`
	Mapping arch.Word `json:"mapping"`
	Index   arch.Word `json:"index"`
	Count   int32     `json:"count"`
	Flags   arch.Word `json:"flags"`
	// FlagNames are the flags set, named as the kernel's pageflag_names
	// names them.
	FlagNames []string `json:"flag_names,omitempty"`
}

// Pages yields the struct page of every page of every present section, in
// page frame order, reading the struct page array a section at a time.
// A section whose array cannot be read ends the walk with an error naming
// it.
func (m *Memory) Pages() iter.Seq2[PageInfo, error] {
	return func(yield func(PageInfo, error) bool) {
		secs, err := m.Sections()
		if err != nil {
			yield(PageInfo{}, err)
			return
		}
		pps, _ := m.PagesPerSection()
		lay, err := m.pageLayout()
		if err != nil {
			yield(PageInfo{}, err)
			return
		}
		sz := m.pageStructSize
		buf := make([]byte, pps*sz)
		for _, s := range secs {
			if err := m.vals.Read(buf, uint64(s.MemMap), "section mem_map"); err != nil {
				yield(PageInfo{}, fmt.Errorf("memory section %d: struct pages at %#x: %w", s.Nr, uint64(s.MemMap), err))
				return
			}
			for i := uint64(0); i < pps; i++ {
				b := buf[i*sz : (i+1)*sz]
				if !yield(m.pageInfo(lay, uint64(s.MemMap)+i*sz, (s.FirstPFN+i)*m.ks.PageSize(), b), nil) {
					return
				}
			}
		}
	}
}

// PageAt reads the struct page at page (an address in the struct page
// array) as kmem -p shows it.
func (m *Memory) PageAt(page, phys uint64) (PageInfo, error) {
	lay, err := m.pageLayout()
	if err != nil {
		return PageInfo{}, err
	}
	b := make([]byte, m.pageStructSize)
	if err := m.vals.Read(b, page, "struct page"); err != nil {
		return PageInfo{}, err
	}
	return m.pageInfo(lay, page, phys, b), nil
}

// pageLayout is where struct page keeps what kmem -p shows.
type pageLayout struct{ flags, mapping, index, count int64 }

func (m *Memory) pageLayout() (*pageLayout, error) {
	if m.vals == nil {
		return nil, ErrNoTypes
	}
	if m.pageStructSize == 0 {
		return nil, errors.New("struct page has no size")
	}
	t, err := m.vals.Types.Type("struct page")
	if err != nil {
		return nil, err
	}
	var lay pageLayout
	for _, f := range []struct {
		off  *int64
		path string
	}{{&lay.flags, "flags"}, {&lay.mapping, "mapping"}, {&lay.index, "index"}, {&lay.count, "_refcount"}} {
		mb, err := ktype.FindMember(t, f.path)
		if err != nil && f.path == "index" {
			// 7.x calls it __folio_index (the folio's, shared).
			mb, err = ktype.FindMember(t, "__folio_index")
		}
		if err != nil {
			return nil, fmt.Errorf("struct page.%s: %w", f.path, err)
		}
		*f.off = mb.Offset
	}
	return &lay, nil
}

func (m *Memory) pageInfo(lay *pageLayout, page, phys uint64, b []byte) PageInfo {
	order := m.vals.ByteOrder
	flags := value.UintAt(b, lay.flags, 8, order)
	p := PageInfo{Addr: arch.Word(page), Phys: arch.Word(phys), Flags: arch.Word(flags),
		Mapping: arch.Word(value.UintAt(b, lay.mapping, 8, order)), Index: arch.Word(value.UintAt(b, lay.index, 8, order)),
		Count: int32(value.UintAt(b, lay.count, 4, order))}
	for _, f := range m.flagNames {
		if flags&f.mask != 0 {
			p.FlagNames = append(p.FlagNames, f.name)
		}
	}
	return p
}

// PageOf finds the struct page an address names: addr itself when it is
// a struct page in the array (aligned, below max_pfn), else the page of
// the kernel virtual address addr, or with phys the page of the physical
// address addr.
func (m *Memory) PageOf(addr uint64, phys bool) (PageInfo, error) {
	if m.vals == nil {
		return PageInfo{}, ErrNoTypes
	}
	ps := m.ks.PageSize()
	if !phys {
		if p, ok := m.ks.PageStructPhys(addr, m.pageStructSize, m.variable); ok && m.pageStructSize != 0 && p/ps < m.maxPFN {
			if back, ok := m.ks.PageStruct(p, m.pageStructSize, m.variable); ok && back == addr {
				return m.PageAt(addr, p)
			}
		}
		tr := m.ks.VtopKernel(addr, m.variable)
		if !tr.Mapped {
			return PageInfo{}, fmt.Errorf("%#x is not mapped", addr)
		}
		addr = tr.Phys
	}
	if addr/ps >= m.maxPFN {
		return PageInfo{}, fmt.Errorf("physical address %#x is beyond max_pfn", addr)
	}
	page, ok := m.ks.PageStruct(addr, m.pageStructSize, m.variable)
	if !ok {
		return PageInfo{}, fmt.Errorf("no struct page for physical address %#x", addr)
	}
	return m.PageAt(page, addr&^(ps-1))
}
