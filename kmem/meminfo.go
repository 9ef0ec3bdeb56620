package kmem

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/vmcoretools/vmcore/arch"
	"github.com/vmcoretools/vmcore/ktype"
	"github.com/vmcoretools/vmcore/value"
	"github.com/vmcoretools/vmcore/walk"
)

// Info is the kernel's memory summary as crash's kmem -i tallies it, in
// pages of PageSize bytes. A part that could not be read is nil (or, for
// the counts every kernel has, named in Warnings with why).
type Info struct {
	PageSize uint64 `json:"page_size"`
	// TotalPages is the RAM the kernel manages (_totalram_pages).
	TotalPages uint64 `json:"total_pages"`
	// FreePages is the sum of every zone's NR_FREE_PAGES counter.
	FreePages uint64 `json:"free_pages"`
	// SharedPages is crash's tally, not the kernel's Shmem: the pages of
	// mem_map that are not reserved and have more than one reference.
	SharedPages uint64 `json:"shared_pages"`
	// BufferPages is the block devices' page cache (nr_blockdev_pages).
	BufferPages uint64 `json:"buffer_pages"`
	// CachedPages is NR_FILE_PAGES less the swap cache and the buffers.
	CachedPages uint64 `json:"cached_pages"`
	// SlabPages is NR_SLAB_RECLAIMABLE_B + NR_SLAB_UNRECLAIMABLE_B (or
	// their older names).
	SlabPages uint64 `json:"slab_pages"`
	// HighPages and FreeHighPages exist on kernels with high memory
	// (32-bit ones): totalhigh_pages and the highmem zones' free pages.
	HighPages     *uint64 `json:"high_pages,omitempty"`
	FreeHighPages *uint64 `json:"free_high_pages,omitempty"`
	// Huge is the huge page pools (hstates), in base pages.
	Huge *HugeInfo `json:"huge,omitempty"`
	// Swap is the swap areas in use.
	Swap *SwapInfo `json:"swap,omitempty"`
	// Commit is the overcommit accounting: the limit (CommitLimit of
	// /proc/meminfo) and what is committed (Committed_AS).
	Commit *CommitInfo `json:"commit,omitempty"`
	// Warnings name the parts that could not be read, and why.
	Warnings []string `json:"warnings,omitempty"`
}

// HugeInfo is the huge page pools, counted in base pages.
type HugeInfo struct {
	TotalPages uint64 `json:"total_pages"`
	FreePages  uint64 `json:"free_pages"`
}

// SwapInfo is the swap areas in use, in pages.
type SwapInfo struct {
	TotalPages uint64 `json:"total_pages"`
	UsedPages  uint64 `json:"used_pages"`
}

// CommitInfo is the overcommit accounting, in pages.
type CommitInfo struct {
	LimitPages     uint64 `json:"limit_pages"`
	CommittedPages int64  `json:"committed_pages"`
}

// ErrNoTypes is returned by the views that need the kernel's types when
// Memory was made without them.
var ErrNoTypes = errors.New("kmem: the kernel's types are needed (the debuginfo vmlinux)")

// maxMemMapPages bounds the mem_map walk (2^36 pages: 256 TiB of 4 KiB
// pages), whatever max_pfn a damaged dump claims.
const maxMemMapPages = 1 << 36

// Info tallies the memory summary. The shared pages need a walk of every
// struct page up to max_pfn (16 MB of mem_map per GiB of RAM); the rest
// are the kernel's own counters.
func (m *Memory) Info() (*Info, error) {
	if m.vals == nil {
		return nil, ErrNoTypes
	}
	in := &Info{PageSize: m.ks.PageSize()}
	warn := func(what string, err error) { in.Warnings = append(in.Warnings, fmt.Sprintf("%s: %v", what, err)) }

	if n, err := m.counter("_totalram_pages", "totalram_pages"); err == nil {
		in.TotalPages = n
	} else {
		return nil, fmt.Errorf("kmem: total RAM: %w", err)
	}
	if n, err := m.zoneFreePages(false); err == nil {
		in.FreePages = n
	} else {
		warn("free pages", err)
	}
	if n, err := m.sharedPages(); err == nil {
		in.SharedPages = n
	} else {
		warn("shared pages (the mem_map walk)", err)
	}
	if n, err := m.blockdevPages(); err == nil {
		in.BufferPages = n
	} else {
		warn("buffers (the block devices' page cache)", err)
	}
	if files, ok := m.vmStat("NR_FILE_PAGES"); ok {
		cached := int64(files) - int64(m.swapCachePages()) - int64(in.BufferPages)
		if cached < 0 {
			in.Warnings = append(in.Warnings, fmt.Sprintf("the page cache went negative (%d), taken as 0", cached))
			cached = 0
		}
		in.CachedPages = uint64(cached)
	} else {
		warn("cached pages", errors.New("no NR_FILE_PAGES counter"))
	}
	if n, ok := m.vmStat("NR_SLAB"); ok {
		in.SlabPages = n
	} else {
		found := false
		for _, pair := range [][2]string{{"NR_SLAB_RECLAIMABLE_B", "NR_SLAB_UNRECLAIMABLE_B"}, {"NR_SLAB_RECLAIMABLE", "NR_SLAB_UNRECLAIMABLE"}} {
			if r, ok := m.vmStat(pair[0]); ok {
				u, _ := m.vmStat(pair[1])
				in.SlabPages, found = r+u, true
				break
			}
		}
		if !found {
			warn("slab pages", errors.New("no NR_SLAB counter"))
		}
	}
	if high, err := m.counter("_totalhigh_pages", "totalhigh_pages"); err == nil {
		in.HighPages = &high
		if free, err := m.zoneFreePages(true); err == nil {
			in.FreeHighPages = &free
		}
	}
	if h, ok, err := m.hugePages(); err != nil {
		warn("huge pages", err)
	} else if ok {
		in.Huge = h
	}
	if s, err := m.swapPages(); err != nil {
		warn("swap", err)
	} else {
		in.Swap = s
	}
	if c, err := m.commit(in); err != nil {
		warn("commit limit", err)
	} else {
		in.Commit = c
	}
	return in, nil
}

// counter reads the first of names that exists: an integer or an atomic's
// counter.
func (m *Memory) counter(names ...string) (uint64, error) {
	var first error
	for _, name := range names {
		v, err := m.vals.Var(name)
		if err != nil {
			if first == nil {
				first = err
			}
			continue
		}
		if c, err := v.Member("counter"); err == nil {
			v = c
		}
		return v.Uint()
	}
	return 0, first
}

// enumValue is an enumerator's value in the named enum type.
func (m *Memory) enumValue(enum, name string) (int64, bool) {
	t, err := m.vals.Types.Type(enum)
	if err != nil {
		return 0, false
	}
	return ktype.EnumValue(t, name)
}

// vmStat reads a global vmstat counter by its enumerator's name, from
// vm_zone_stat or vm_node_stat (crash's dump_vm_stat). Negative counts
// (per-CPU drift not yet folded in) read as 0.
func (m *Memory) vmStat(name string) (uint64, bool) {
	for _, src := range [][2]string{{"enum zone_stat_item", "vm_zone_stat"}, {"enum node_stat_item", "vm_node_stat"}} {
		i, ok := m.enumValue(src[0], name)
		if !ok {
			continue
		}
		arr, err := m.vals.Var(src[1])
		if err != nil {
			continue
		}
		e, err := arr.Index(int(i))
		if err != nil {
			continue
		}
		if c, err := e.Member("counter"); err == nil {
			e = c
		}
		n, err := e.Int()
		if err != nil {
			continue
		}
		if n < 0 {
			n = 0
		}
		return uint64(n), true
	}
	return 0, false
}

// nodes lists the pglist_data of every node: node_data[] (NUMA kernels)
// or contig_page_data.
func (m *Memory) nodes() ([]value.Value, error) {
	if nd, err := m.vals.Var("node_data"); err == nil {
		elems, err := nd.Elements()
		if err != nil {
			return nil, err
		}
		var out []value.Value
		for _, e := range elems {
			p, err := e.Uint()
			if err != nil || p == 0 {
				continue
			}
			d, err := e.Deref()
			if err != nil {
				return nil, err
			}
			out = append(out, d)
		}
		if len(out) == 0 {
			return nil, errors.New("node_data[] holds no node")
		}
		return out, nil
	}
	d, err := m.vals.Var("contig_page_data")
	if err != nil {
		return nil, errors.New("neither node_data nor contig_page_data")
	}
	return []value.Value{d}, nil
}

// nodeZones returns a node's zones (pglist_data.node_zones).
func nodeZones(node value.Value) ([]value.Value, error) {
	zs, err := node.Member("node_zones")
	if err != nil {
		return nil, err
	}
	return zs.Elements()
}

// zoneName reads a zone's name ("" when it cannot be read).
func zoneName(z value.Value) string {
	np, err := z.Member("name")
	if err != nil {
		return ""
	}
	name, _ := np.CString(32)
	return name
}

// pageOfPFN is the struct page of a page frame, 0 when there is none.
func (m *Memory) pageOfPFN(pfn uint64) uint64 {
	a, ok := m.ks.PageStruct(pfn*m.ks.PageSize(), m.pageStructSize, m.variable)
	if !ok {
		return 0
	}
	return a
}

// zoneFreePages sums the zones' NR_FREE_PAGES counters (zone.vm_stat), as
// crash does; highOnly counts only the zones named HighMem.
func (m *Memory) zoneFreePages(highOnly bool) (uint64, error) {
	idx, ok := m.enumValue("enum zone_stat_item", "NR_FREE_PAGES")
	if !ok {
		return 0, errors.New("no NR_FREE_PAGES in enum zone_stat_item")
	}
	nodes, err := m.nodes()
	if err != nil {
		return 0, err
	}
	var sum uint64
	for _, n := range nodes {
		zones, err := n.Member("node_zones")
		if err != nil {
			return 0, err
		}
		zs, err := zones.Elements()
		if err != nil {
			return 0, err
		}
		for _, z := range zs {
			if highOnly {
				name, err := z.Member("name")
				if err != nil {
					return 0, err
				}
				if s, _ := name.CString(16); s != "HighMem" {
					continue
				}
			}
			c, err := z.Member(fmt.Sprintf("vm_stat[%d].counter", idx))
			if err != nil {
				return 0, err
			}
			n, err := c.Int()
			if err != nil {
				return 0, err
			}
			if n > 0 {
				sum += uint64(n)
			}
		}
	}
	return sum, nil
}

// sharedPages walks mem_map as crash's kmem -i does: every struct page up
// to max_pfn that is not PG_reserved and has a reference count above one.
// Pages whose struct page cannot be read (a section without memory) are
// skipped.
func (m *Memory) sharedPages() (uint64, error) {
	if m.maxPFN == 0 || m.pageStructSize == 0 {
		return 0, errors.New("max_pfn or sizeof(struct page) unknown")
	}
	if m.maxPFN > maxMemMapPages {
		return 0, fmt.Errorf("max_pfn %#x is more than any machine has", m.maxPFN)
	}
	var reserved uint64
	for _, f := range m.flagNames {
		if f.name == "reserved" {
			reserved = f.mask
		}
	}
	if reserved == 0 {
		bit, ok := m.enumValue("enum pageflags", "PG_reserved")
		if !ok {
			return 0, errors.New("PG_reserved unknown")
		}
		reserved = 1 << bit
	}
	flagsOff, err := ktype.Offset(m.vals.Types, "struct page", "flags")
	if err != nil {
		return 0, err
	}
	countOff, err := ktype.Offset(m.vals.Types, "struct page", "_refcount")
	if err != nil {
		if countOff, err = ktype.Offset(m.vals.Types, "struct page", "_count"); err != nil {
			return 0, err
		}
	}
	order := m.vals.ByteOrder
	if order == nil {
		order = leOrder
	}
	const chunk = 512 // struct pages read at once, within one section
	size := m.pageStructSize
	buf := make([]byte, chunk*size)
	page := m.ks.PageSize()
	var shared uint64
	for pfn := uint64(0); pfn < m.maxPFN; pfn += chunk {
		n := min(uint64(chunk), m.maxPFN-pfn)
		addr, ok := m.ks.PageStruct(pfn*page, size, m.variable)
		if !ok {
			continue
		}
		b := buf[:n*size]
		if _, err := m.ks.ReadVirt(b, addr); err != nil {
			continue // no mem_map there: a hole between sections
		}
		for i := uint64(0); i < n; i++ {
			p := b[i*size:]
			flags := value.UintAt(p, flagsOff, 8, order)
			count := int32(value.UintAt(p, countOff, 4, order))
			if flags&reserved == 0 && count > 1 {
				shared++
			}
		}
	}
	return shared, nil
}

// blockdevPages is nr_blockdev_pages(): the page cache of every block
// device, the inodes of blockdev_superblock (or, on old kernels, the
// block_devices of all_bdevs).
func (m *Memory) blockdevPages() (uint64, error) {
	nrpages := func(inode value.Value) (uint64, error) {
		mp, err := inode.Member("i_mapping")
		if err != nil {
			return 0, err
		}
		as, err := mp.Deref()
		if err != nil {
			return 0, err
		}
		n, err := as.Member("nrpages")
		if err != nil {
			return 0, err
		}
		return n.Uint()
	}
	var total uint64
	if head, err := m.vals.Var("all_bdevs"); err == nil {
		for bd, err := range walk.List(head, "struct block_device", "bd_list") {
			if err != nil {
				return total, err
			}
			ip, err := bd.Member("bd_inode")
			if err != nil {
				return total, err
			}
			inode, err := ip.Deref()
			if err != nil {
				return total, err
			}
			n, err := nrpages(inode)
			if err != nil {
				return total, err
			}
			total += n
		}
		return total, nil
	}
	sbp, err := m.vals.Var("blockdev_superblock")
	if err != nil {
		return 0, err
	}
	sb, err := sbp.Deref()
	if err != nil {
		return 0, err
	}
	head, err := sb.Member("s_inodes")
	if err != nil {
		return 0, err
	}
	for inode, err := range walk.List(head, "struct inode", "i_sb_list") {
		if err != nil {
			return total, err
		}
		n, err := nrpages(inode)
		if err != nil {
			return total, err
		}
		total += n
	}
	return total, nil
}

// swapCachePages is NR_SWAPCACHE, or on kernels without it the pages of
// the swapper address spaces.
func (m *Memory) swapCachePages() uint64 {
	if n, ok := m.vmStat("NR_SWAPCACHE"); ok {
		return n
	}
	counts, err1 := m.vals.Var("nr_swapper_spaces")
	spaces, err2 := m.vals.Var("swapper_spaces")
	if err1 != nil || err2 != nil {
		return 0
	}
	cs, err := counts.Elements()
	if err != nil {
		return 0
	}
	var total uint64
	for i, c := range cs {
		banks, err := c.Uint()
		if err != nil || banks == 0 {
			continue
		}
		sp, err := spaces.Index(i)
		if err != nil {
			continue
		}
		if p, err := sp.Uint(); err != nil || p == 0 {
			continue
		}
		first, err := sp.Deref()
		if err != nil {
			continue
		}
		for j := uint64(0); j < banks && j < 1<<16; j++ {
			as, err := m.vals.At("struct address_space", first.Addr+j*uint64(first.Size()))
			if err != nil {
				break
			}
			n, err := as.Member("nrpages")
			if err != nil {
				break
			}
			if v, err := n.Uint(); err == nil {
				total += v
			}
		}
	}
	return total
}

// HugePool is one huge page size's pool (struct hstate): what crash's
// kmem -h shows.
type HugePool struct {
	Addr  arch.Word `json:"hstate"`
	Order uint64    `json:"order"` // a huge page is 2^Order base pages
	// FreePages and TotalPages count huge pages.
	FreePages  uint64 `json:"free_huge_pages"`
	TotalPages uint64 `json:"nr_huge_pages"`
	Name       string `json:"name"`
}

// HugePools lists the huge page pools of hstates[] that are set up (an
// order above 0). ok is false on a kernel without hugetlbfs.
func (m *Memory) HugePools() (pools []HugePool, ok bool, err error) {
	if m.vals == nil {
		return nil, false, ErrNoTypes
	}
	hs, err := m.vals.Var("hstates")
	if err != nil {
		return nil, false, nil
	}
	elems, err := hs.Elements()
	if err != nil {
		return nil, false, err
	}
	for _, e := range elems {
		field := func(name string) (uint64, error) { return uintOf(e, name) }
		order, err := field("order")
		if err != nil {
			return nil, false, err
		}
		if order == 0 || order > 40 {
			continue
		}
		p := HugePool{Addr: arch.Word(e.Addr), Order: order}
		if p.TotalPages, err = field("nr_huge_pages"); err != nil {
			return nil, false, err
		}
		if p.FreePages, err = field("free_huge_pages"); err != nil {
			return nil, false, err
		}
		if n, err := e.Member("name"); err == nil {
			p.Name, _ = n.CString(32)
		}
		pools = append(pools, p)
	}
	return pools, true, nil
}

// hugePages sums the huge page pools (in base pages).
func (m *Memory) hugePages() (*HugeInfo, bool, error) {
	pools, ok, err := m.HugePools()
	if !ok || err != nil {
		return nil, ok, err
	}
	h := &HugeInfo{}
	for _, p := range pools {
		h.TotalPages += p.TotalPages << p.Order
		h.FreePages += p.FreePages << p.Order
	}
	return h, true, nil
}

// swpUsed is SWP_USED of enum swap_flags.
const swpUsed = 1

// swapPages sums the swap areas in use: swap_info[] up to nr_swapfiles.
func (m *Memory) swapPages() (*SwapInfo, error) {
	nr, err := m.counter("nr_swapfiles")
	if err != nil {
		return nil, err
	}
	si, err := m.vals.Var("swap_info")
	if err != nil {
		return nil, err
	}
	elems, err := si.Elements()
	if err != nil {
		return nil, err
	}
	s := &SwapInfo{}
	for i := 0; i < int(nr) && i < len(elems); i++ {
		if p, err := elems[i].Uint(); err != nil || p == 0 {
			continue
		}
		area, err := elems[i].Deref()
		if err != nil {
			return nil, err
		}
		field := func(name string) (uint64, error) { return uintOf(area, name) }
		flags, err := field("flags")
		if err != nil {
			return nil, err
		}
		if flags&swpUsed == 0 {
			continue
		}
		pages, err := field("pages")
		if err != nil {
			return nil, err
		}
		used, err := field("inuse_pages")
		if err != nil {
			return nil, err
		}
		s.TotalPages += pages
		s.UsedPages += used
	}
	return s, nil
}

// commit is the overcommit limit and what is committed, as the kernel's
// vm_commit_limit and crash compute them: sysctl_overcommit_kbytes, else
// (RAM less the huge pages) times sysctl_overcommit_ratio percent; plus
// the swap.
func (m *Memory) commit(in *Info) (*CommitInfo, error) {
	if _, err := m.vals.Var("sysctl_overcommit_memory"); err != nil {
		return nil, err
	}
	c := &CommitInfo{}
	kbytes, _ := m.counter("sysctl_overcommit_kbytes")
	if kbytes != 0 {
		c.LimitPages = kbytes * 1024 / in.PageSize
	} else {
		ratio, err := m.counter("sysctl_overcommit_ratio")
		if err != nil {
			return nil, err
		}
		var huge uint64
		if in.Huge != nil {
			huge = in.Huge.TotalPages
		}
		c.LimitPages = (in.TotalPages - huge) * ratio / 100
	}
	if in.Swap != nil {
		c.LimitPages += in.Swap.TotalPages
	}
	v, err := m.vals.Var("vm_committed_as")
	if err != nil {
		return nil, err
	}
	n, err := v.Member("count")
	if err != nil {
		return nil, err
	}
	committed, err := n.Int()
	if err != nil {
		return nil, err
	}
	c.CommittedPages = max(committed, 0)
	return c, nil
}

var leOrder = binary.LittleEndian

// uintOf reads the unsigned integer at path in v, through an atomic's
// counter.
func uintOf(v value.Value, path string) (uint64, error) {
	f, err := v.Member(path)
	if err != nil {
		return 0, err
	}
	if c, err := f.Member("counter"); err == nil {
		f = c
	}
	return f.Uint()
}
