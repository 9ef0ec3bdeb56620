package kmem

import (
	"encoding/binary"
	"fmt"
	"slices"
	"testing"

	"github.com/vmcoretools/vmcore/arch"
	"github.com/vmcoretools/vmcore/physmem"
)

// pagedSpace is a KernelSpace of 4 KiB pages, for the physical searches.
type pagedSpace struct{ arch.KernelSpace }

func (pagedSpace) PageSize() uint64 { return 4096 }

// sparseMem is physical memory with holes: pages in absent are not in
// the dump, those in excluded were filtered out.
type sparseMem struct {
	data             []byte
	absent, excluded map[uint64]bool
}

func (m sparseMem) ReadAt(p []byte, off int64) (int, error) {
	pfn := uint64(off) / 4096
	switch {
	case m.absent[pfn]:
		return 0, &physmem.Error{Addr: uint64(off), Kind: physmem.NotInDump}
	case m.excluded[pfn]:
		return 0, &physmem.Error{Addr: uint64(off), Kind: physmem.Excluded}
	case off < 0 || int(off)+len(p) > len(m.data):
		return 0, &physmem.Error{Addr: uint64(off), Kind: physmem.BeyondEnd}
	}
	return copy(p, m.data[off:]), nil
}

func searchAll(t *testing.T, m *Memory, phys physmem.Reader, q Query) ([]string, SearchStats) {
	t.Helper()
	var st SearchStats
	var out []string
	for mt, err := range m.Search(phys, q, &st) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%x:%d:%x:%s", uint64(mt.Addr), mt.Index, mt.Value, mt.Text))
	}
	return out, st
}

// TestSearchPhysical: values of each width with a mask, strings inside a
// page and across a page boundary (also at the boundary of the chunks
// searched side by side), skipped pages counted; the chunked search
// yields what the page-by-page one does, in the same order.
func TestSearchPhysical(t *testing.T) {
	const pages = 1200 // more than two chunks
	mem := sparseMem{data: make([]byte, pages*4096), absent: map[uint64]bool{5: true}, excluded: map[uint64]bool{7: true, 300: true}}
	put := func(addr, v uint64) { binary.LittleEndian.PutUint64(mem.data[addr:], v) }
	put(0x10, 0xdeadbeef)
	put(0x1008, 0x1234deadbeef)
	put(0x5000, 0xdeadbeef) // absent page
	put(0x7008, 0xdeadbeef) // excluded page
	put(0x200000-8, 0xdeadbeef)
	copy(mem.data[0x2ffc:], "Kernel panic - not syncing") // across pages 2 and 3
	copy(mem.data[0x100000-3:], "Kernel panic!")          // across the first chunk's end
	copy(mem.data[0x4000:], "Kernel panic, once more")    // in one page
	m := New(pagedSpace{}, nil)
	end := uint64(pages * 4096)

	got, st := searchAll(t, m, mem, Query{Space: Physical, End: end, Width: 8, Values: []uint64{0xdeadbeef}})
	if want := []string{"10:0:deadbeef:", "1ffff8:0:deadbeef:"}; !slices.Equal(got, want) {
		t.Errorf("64-bit = %v, want %v", got, want)
	}
	if st.Read != pages-3 || st.Excluded != 2 || st.Absent != 1 {
		t.Errorf("stats = %+v", st)
	}
	got, _ = searchAll(t, m, mem, Query{Space: Physical, End: end, Width: 8, Values: []uint64{0xdeadbeef}, Mask: 0xffff000000000000 | 0xffff00000000})
	if want := []string{"10:0:deadbeef:", "1008:0:1234deadbeef:", "1ffff8:0:deadbeef:"}; !slices.Equal(got, want) {
		t.Errorf("masked = %v, want %v", got, want)
	}
	got, _ = searchAll(t, m, mem, Query{Space: Physical, Start: 0x1000, End: 0x2000, Width: 2, Values: []uint64{0xbeef, 0x1234}})
	if want := []string{"1008:0:beef:", "100c:1:1234:"}; !slices.Equal(got, want) {
		t.Errorf("16-bit = %v, want %v", got, want)
	}
	got, _ = searchAll(t, m, mem, Query{Space: Physical, End: end, Strings: []string{"Kernel panic"}})
	want := []string{
		"2ffc:0:0:Kernel panic - not syncing" + string(make([]byte, 56-26)),
		"4000:0:0:Kernel panic, once more" + string(make([]byte, 56-23)),
		"ffffd:0:0:Kernel panic!" + string(make([]byte, 56-13)),
	}
	if !slices.Equal(got, want) {
		t.Errorf("strings = %q\nwant %q", got, want)
	}
	// A search that stops early stops.
	n := 0
	for range m.Search(mem, Query{Space: Physical, End: end, Width: 8, Values: []uint64{0}}, nil) {
		if n++; n == 3 {
			break
		}
	}
	if n != 3 {
		t.Errorf("stopped after %d matches", n)
	}
	for _, q := range []Query{{Space: Physical, End: end}, {Space: Physical, End: end, Width: 3, Values: []uint64{1}}, {Space: Physical, End: end, Strings: []string{""}}} {
		if _, err := collect(m.Search(mem, q, nil)); err == nil {
			t.Errorf("%+v: no error", q)
		}
	}
}

func collect(seq func(func(Match, error) bool)) ([]Match, error) {
	var out []Match
	for m, err := range seq {
		if err != nil {
			return out, err
		}
		out = append(out, m)
	}
	return out, nil
}
