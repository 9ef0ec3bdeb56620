package kmem

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"iter"
	"runtime"
	"sync/atomic"

	"github.com/vmcoretools/vmcore/arch"
	"github.com/vmcoretools/vmcore/physmem"
	"github.com/vmcoretools/vmcore/tasks"
)

// Space is an address space a search runs in.
type Space int

const (
	// Kernel is kernel virtual memory: the direct map, vmalloc space,
	// the struct page array and the kernel image, in that order.
	Kernel Space = iota
	// Physical is physical memory.
	Physical
	// User is one task's user address space: its mappings (VMAs).
	User
)

// Query is what Search looks for and where.
type Query struct {
	Space Space
	// Start and End bound the search: [Start, End). An End of 0 is the
	// end of the space: the kernel's last region, the last node's last
	// page, the top of user space.
	Start, End uint64
	// Width is the size of the integers compared: 8, 4 or 2 bytes. It is
	// ignored when Strings are sought.
	Width int
	// Values are the integers sought; Mask's bits are ignored in the
	// comparison (crash's -m: "don't care" bits).
	Values []uint64
	Mask   uint64
	// Strings are sought instead of Values when not empty.
	Strings []string
	// Task is the task whose user memory a User search reads.
	Task *tasks.Task
}

// Match is one place where a value or string was found.
type Match struct {
	Addr arch.Word `json:"address"`
	// Index is which of the query's Values or Strings matched.
	Index int `json:"index"`
	// Value is the integer found (with its masked bits as memory has
	// them), for an integer search.
	Value uint64 `json:"value"`
	// Text is, for a string search, the bytes from the match on: up to
	// 56 bytes, not past the end of the page (or, for a match that
	// crosses into the next page, the string and the next page's bytes
	// after it), as crash shows them.
	Text []byte `json:"text,omitempty"`
}

// SearchStats counts the pages a search met.
type SearchStats struct {
	// Read is the pages searched.
	Read uint64 `json:"pages_read"`
	// Excluded is the pages of memory the dump does not hold (filtered
	// out by the dump level, or never written): skipped, not errors, but
	// not searched.
	Excluded uint64 `json:"pages_excluded"`
	// Unmapped is the virtual pages skipped because nothing maps them.
	Unmapped uint64 `json:"pages_unmapped"`
	// Absent is the pages skipped because they are not memory the dump
	// describes (holes in the physical map, addresses beyond it).
	Absent uint64 `json:"pages_absent"`
}

// maxSearchValues bounds the values or strings of one query, as crash's
// MAXARGS does.
const maxSearchValues = 100

// charsContext is how many bytes a string match shows (crash's
// CHARS_CTX).
const charsContext = 56

// Search looks for the query's values or strings in memory, page by page,
// and yields each match in the order crash's search prints them; phys
// reads physical memory. Pages the dump lacks and virtual pages nothing
// maps are skipped and counted in st (if not nil). Every page is read
// once; a search ends at the end of its space.
func (m *Memory) Search(phys physmem.Reader, q Query, st *SearchStats) iter.Seq2[Match, error] {
	return func(yield func(Match, error) bool) {
		if st == nil {
			st = new(SearchStats)
		}
		s, err := m.newSearch(phys, q, st)
		if err != nil {
			yield(Match{}, err)
			return
		}
		regions, err := m.searchRegions(q)
		if err != nil {
			yield(Match{}, err)
			return
		}
		s.yield = yield
		for _, r := range regions {
			search := s.region
			if r.linear {
				search = s.splitRegion
			}
			if !search(r) {
				return
			}
		}
	}
}

// searchRegion is a stretch of one space searched page by page.
type searchRegion struct {
	start, end uint64
	// translate gives a virtual page's physical address; nil for
	// physical memory.
	translate func(vaddr uint64) (uint64, bool)
	// next is where to go on after the page at addr could not be
	// translated; ok false ends the region.
	next func(addr uint64) (uint64, bool)
	// linear: every page is visited (next is the next page), so the
	// region can be searched in chunks side by side.
	linear bool
	kind   arch.RegionKind // for kernel virtual memory
}

type search struct {
	q     Query
	phys  physmem.Reader
	ps    uint64
	st    *SearchStats
	page  []byte
	yield func(Match, error) bool
	// A string that may continue on the next page: the address where
	// that page must begin and, per string, the offsets from the end of
	// the page at which its head was seen.
	crossNext uint64
	cross     [][]int
}

func (m *Memory) newSearch(phys physmem.Reader, q Query, st *SearchStats) (*search, error) {
	switch {
	case phys == nil:
		return nil, errors.New("search: no physical memory to read")
	case len(q.Strings) == 0 && len(q.Values) == 0:
		return nil, errors.New("search: nothing to look for")
	case len(q.Strings)+len(q.Values) > maxSearchValues:
		return nil, fmt.Errorf("search: %d values: at most %d", len(q.Strings)+len(q.Values), maxSearchValues)
	case len(q.Strings) == 0 && q.Width != 8 && q.Width != 4 && q.Width != 2:
		return nil, fmt.Errorf("search: width %d: 8, 4 or 2", q.Width)
	}
	for _, s := range q.Strings {
		if s == "" {
			return nil, errors.New("search: an empty string")
		}
	}
	ps := m.ks.PageSize()
	for _, s := range q.Strings {
		if uint64(len(s)) >= ps {
			return nil, fmt.Errorf("search: a string of %d bytes: shorter than a page", len(s))
		}
	}
	s := (&search{q: q, phys: phys, ps: ps}).clone()
	s.st = st
	return s, nil
}

// region searches one region; false when the caller stopped.
func (s *search) region(r searchRegion) bool {
	ps := s.ps
	next := r.start &^ 7
	for pp := next &^ (ps - 1); next < r.end; next = pp {
		paddr, ok := r.translateOK(pp)
		if !ok {
			s.st.Unmapped++
			var more bool
			if pp, more = r.next(pp); !more {
				return true
			}
			continue
		}
		if _, err := s.phys.ReadAt(s.page, int64(paddr)); err != nil {
			// A page the dump lacks is skipped, as crash skips it; one
			// filtered out by the dump level (or lost) is counted as
			// memory not searched.
			if errors.Is(err, physmem.ErrExcluded) || errors.Is(err, physmem.ErrLost) {
				s.st.Excluded++
			} else {
				s.st.Absent++
			}
			if pp+ps < pp {
				return true
			}
			pp += ps
			continue
		}
		s.st.Read++
		if !s.scan(s.page[next-pp:r.pageEnd(pp, ps)], next) {
			return false
		}
		if pp+ps < pp {
			return true
		}
		pp += ps
	}
	return true
}

// scan searches b, read at addr.
func (s *search) scan(b []byte, addr uint64) bool {
	if len(s.q.Strings) > 0 {
		return s.scanStrings(b, addr)
	}
	w := s.q.Width
	mask := s.q.Mask
	for i := 0; i+w <= len(b); i += w {
		var x uint64
		switch w {
		case 8:
			x = binary.LittleEndian.Uint64(b[i:])
		case 4:
			x = uint64(binary.LittleEndian.Uint32(b[i:]))
		default:
			x = uint64(binary.LittleEndian.Uint16(b[i:]))
		}
		for j, v := range s.q.Values {
			if x|mask == v|mask {
				if !s.yield(Match{Addr: arch.Word(addr + uint64(i)), Index: j, Value: x}, nil) {
					return false
				}
			}
		}
	}
	return true
}

// scanStrings searches b for the strings as crash does: first the ends
// of strings whose heads ended the previous page (when b follows it),
// then each byte of b in turn; a head at the end of b is kept for the
// next page.
func (s *search) scanStrings(b []byte, addr uint64) bool {
	if !s.crossCheck(b, addr) {
		return false
	}
	s.crossNext = addr + uint64(len(b))
	for j := range s.cross {
		s.cross[j] = s.cross[j][:0]
	}
	for i := range b {
		for j, str := range s.q.Strings {
			if i+len(str) > len(b) {
				if bytes.HasPrefix([]byte(str), b[i:]) {
					s.cross[j] = append(s.cross[j], len(b)-i)
				}
				continue
			}
			if b[i] == str[0] && bytes.HasPrefix(b[i:], []byte(str)) {
				text := b[i:min(len(b), i+charsContext)]
				if !s.yield(Match{Addr: arch.Word(addr + uint64(i)), Index: j, Text: bytes.Clone(text)}, nil) {
					return false
				}
			}
		}
	}
	return true
}

// searchRegions lays out the query's space as crash's search walks it.
func (m *Memory) searchRegions(q Query) ([]searchRegion, error) {
	ps := m.ks.PageSize()
	nextPage := func(a uint64) (uint64, bool) { return a + ps, a+ps > a }
	clip := func(rs []searchRegion) []searchRegion {
		var out []searchRegion
		for _, r := range rs {
			r.start = max(r.start, q.Start)
			if q.End != 0 {
				r.end = min(r.end, q.End)
			}
			if r.start < r.end {
				out = append(out, r)
			}
		}
		return out
	}
	switch q.Space {
	case Physical:
		end := q.End
		if end == 0 {
			_, last, err := m.physBounds()
			if err != nil {
				return nil, err
			}
			end = last
		}
		if end <= q.Start {
			return nil, fmt.Errorf("search: ending address %#x is not above starting address %#x", end, q.Start)
		}
		return []searchRegion{{start: q.Start, end: end, next: nextPage, linear: true}}, nil
	case User:
		return m.userRegions(q, clip)
	case Kernel:
		return m.kernelRegions(q, clip, nextPage)
	}
	return nil, fmt.Errorf("search: unknown space %d", q.Space)
}

// physBounds is physical memory as the nodes span it: the first node's
// first page to the last node's end (crash's node table).
func (m *Memory) physBounds() (first, end uint64, err error) {
	if m.vals == nil {
		return 0, 0, ErrNoTypes
	}
	nodes, err := m.nodes()
	if err != nil || len(nodes) == 0 {
		return 0, 0, fmt.Errorf("search: the memory nodes: %v", err)
	}
	ps := m.ks.PageSize()
	start, err1 := uintOf(nodes[0], "node_start_pfn")
	lastStart, err2 := uintOf(nodes[len(nodes)-1], "node_start_pfn")
	spanned, err3 := uintOf(nodes[len(nodes)-1], "node_spanned_pages")
	if err := errors.Join(err1, err2, err3); err != nil {
		return 0, 0, fmt.Errorf("search: the memory nodes: %w", err)
	}
	return start * ps, (lastStart + spanned) * ps, nil
}

// PhysicalStart is where a physical search begins by default: the first
// memory node's first page.
func (m *Memory) PhysicalStart() (uint64, error) {
	first, _, err := m.physBounds()
	return first, err
}

// kernelRegions: crash's x86_64_get_kvaddr_ranges in the machine's terms:
// the direct map up to high_memory, vmalloc space up to the end of its
// last area (stepping from area to area), the struct page array up to
// the last node's last page, the image up to _end.
func (m *Memory) kernelRegions(q Query, clip func([]searchRegion) []searchRegion, nextPage func(uint64) (uint64, bool)) ([]searchRegion, error) {
	if m.vals == nil {
		return nil, ErrNoTypes
	}
	vtop := m.ks
	// The layout's variables, read once rather than for every page.
	vars := map[string]struct {
		v  uint64
		ok bool
	}{}
	variable := func(name string) (uint64, bool) {
		x, seen := vars[name]
		if !seen {
			x.v, x.ok = m.variable(name)
			vars[name] = x
		}
		return x.v, x.ok
	}
	translate := func(v uint64) (uint64, bool) {
		tr := vtop.VtopKernel(v, variable)
		return tr.Phys, tr.Mapped
	}
	areas, err := m.VmapAreas()
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	var out []searchRegion
	for _, kr := range vtop.KernelRegions(variable) {
		r := searchRegion{start: kr.Start, translate: translate, next: nextPage, kind: kr.Kind}
		switch kr.Kind {
		case arch.RegionDirect:
			end, ok := m.variable("high_memory")
			if !ok {
				return nil, errors.New("search: high_memory cannot be read")
			}
			r.end, r.linear = end, true
		case arch.RegionVmalloc:
			if len(areas) == 0 {
				continue
			}
			r.end = uint64(areas[len(areas)-1].End)
			r.next = func(a uint64) (uint64, bool) {
				// crash's next_vmlist_vaddr: the next page in an area,
				// or the next area's start.
				a += m.ks.PageSize()
				for _, va := range areas {
					if a < uint64(va.Start) {
						return uint64(va.Start), true
					}
					if a < uint64(va.End) {
						return a, true
					}
				}
				return 0, false
			}
		case arch.RegionPageArray:
			// Up to the last node's last page; crash leaves the array
			// out when it lies in a vmalloc area.
			_, end, err := m.physBounds()
			if err != nil || m.pageStructSize == 0 || inAreas(areas, kr.Start) {
				continue
			}
			r.end = kr.Start + end/m.ks.PageSize()*m.pageStructSize
		case arch.RegionImage:
			sym, ok := m.vals.Types.Lookup("_end")
			if !ok {
				return nil, errors.New("search: the kernel image's end (_end) is not a known symbol")
			}
			r.end = sym.Addr
		}
		out = append(out, r)
	}
	// crash's vmalloc range spans the struct page array and the image,
	// and searches a start given in them twice: here the vmalloc region
	// leaves what lies in another region to that one.
	for i := range out {
		if out[i].kind != arch.RegionVmalloc {
			continue
		}
		inner := out[i].translate
		out[i].translate = func(v uint64) (uint64, bool) {
			for _, o := range out {
				if o.kind != arch.RegionVmalloc && v >= o.start && v < o.end && !inAreas(areas, v) {
					return 0, false
				}
			}
			return inner(v)
		}
	}
	return clip(out), nil
}

// inAreas reports whether a lies in one of the areas.
func inAreas(areas []VmapArea, a uint64) bool {
	for _, va := range areas {
		if a >= uint64(va.Start) && a < uint64(va.End) {
			return true
		}
	}
	return false
}

// userRegions: the task's mappings, each searched page by page; a page
// not present is skipped.
func (m *Memory) userRegions(q Query, clip func([]searchRegion) []searchRegion) ([]searchRegion, error) {
	t := q.Task
	switch {
	case m.vals == nil:
		return nil, ErrNoTypes
	case t == nil:
		return nil, errors.New("search: a user search needs a task")
	case t.MM == 0:
		return nil, fmt.Errorf("search: pid %d (%s) has no user address space", t.PID, t.Comm)
	}
	vmas, err := tasks.VMAs(m.vals, t.MM)
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	mm, err := m.vals.At("struct mm_struct", t.MM)
	if err != nil {
		return nil, err
	}
	pgd, err := uintOf(mm, "pgd")
	if err != nil {
		return nil, err
	}
	translate := func(v uint64) (uint64, bool) {
		p, _, err := m.ks.UserWalk(pgd, v)
		return p, err == nil
	}
	ps := m.ks.PageSize()
	var out []searchRegion
	for _, v := range vmas {
		end := v.End
		out = append(out, searchRegion{start: v.Start, end: end, translate: translate,
			next: func(a uint64) (uint64, bool) { return a + ps, a+ps < end }})
	}
	return clip(out), nil
}

// crossCheck reports the strings whose heads ended the previous page and
// whose rest begins b, read at addr (when b follows that page).
func (s *search) crossCheck(b []byte, addr uint64) bool {
	if s.crossNext != addr {
		return true
	}
	for j, str := range s.q.Strings {
		for _, back := range s.cross[j] {
			// The head's last back bytes ended the page; the rest must
			// begin this one.
			rest := str[back:]
			if bytes.HasPrefix(b, []byte(rest)) {
				text := append([]byte(str), b[len(rest):min(len(b), len(rest)+charsContext-len(str))]...)
				if !s.yield(Match{Addr: arch.Word(addr - uint64(back)), Index: j, Text: text}, nil) {
					return false
				}
			}
		}
	}
	return true
}

// searchChunk is the stretch of a linear region one worker searches.
const searchChunk = 1 << 20

// clone is a search of the same query with its own buffers, counts and
// string state, for a worker.
func (s *search) clone() *search {
	return &search{q: s.q, phys: s.phys, ps: s.ps, st: new(SearchStats), page: make([]byte, s.ps),
		crossNext: ^uint64(0), cross: make([][]int, len(s.q.Strings))}
}

// splitRegion searches a linear region in chunks on every CPU and yields
// the matches in address order, as region would: page reads (a
// compressed dump's decompression above all) are what a search costs.
// At most GOMAXPROCS chunks are in flight, so memory stays bounded.
func (s *search) splitRegion(r searchRegion) bool {
	workers := runtime.GOMAXPROCS(0)
	if workers < 2 || r.end-r.start <= 2*searchChunk {
		return s.region(r)
	}
	type result struct {
		matches []Match
		err     error
		st      SearchStats
	}
	var stop atomic.Bool
	futures := make(chan chan result, workers)
	go func() {
		defer close(futures)
		for c := r.start; c < r.end && !stop.Load(); {
			end := min(r.end, (c&^(searchChunk-1))+searchChunk)
			if end <= c { // the top of the address space
				end = r.end
			}
			sub := r
			sub.start, sub.end = c, end
			f := make(chan result, 1)
			futures <- f
			go func() {
				w := s.clone()
				var res result
				w.yield = func(m Match, err error) bool {
					if err != nil {
						res.err = err
						return false
					}
					res.matches = append(res.matches, m)
					return !stop.Load()
				}
				if w.region(sub) && sub.end < r.end && len(s.q.Strings) > 0 {
					w.finishCross(sub.end, r)
				}
				res.st = *w.st
				f <- res
			}()
			c = end
		}
	}()
	ok := true
	for f := range futures {
		res := <-f
		s.st.Read += res.st.Read
		s.st.Excluded += res.st.Excluded
		s.st.Unmapped += res.st.Unmapped
		s.st.Absent += res.st.Absent
		if !ok {
			continue // drain the workers
		}
		for _, m := range res.matches {
			if !s.yield(m, nil) {
				ok = false
				break
			}
		}
		if ok && res.err != nil {
			s.yield(Match{}, res.err)
			ok = false
		}
		if !ok {
			stop.Store(true)
		}
	}
	return ok
}

// finishCross reads the page at addr, the first after a worker's chunk,
// for the strings whose heads ended the chunk.
func (s *search) finishCross(addr uint64, r searchRegion) {
	if s.crossNext != addr {
		return
	}
	pending := false
	for _, c := range s.cross {
		pending = pending || len(c) > 0
	}
	if !pending {
		return
	}
	if p, ok := r.translateOK(addr); ok {
		if _, err := s.phys.ReadAt(s.page, int64(p)); err == nil {
			s.crossCheck(s.page[:r.pageEnd(addr, s.ps)], addr)
		}
	}
}

// translateOK is the physical address of the page at pp: pp itself in
// physical memory.
func (r *searchRegion) translateOK(pp uint64) (uint64, bool) {
	if r.translate == nil {
		return pp, true
	}
	return r.translate(pp)
}

// pageEnd is how much of the page at pp lies in the region, in whole
// words.
func (r *searchRegion) pageEnd(pp, ps uint64) uint64 {
	if r.end-pp < ps {
		return (r.end - pp) &^ 7
	}
	return ps
}
