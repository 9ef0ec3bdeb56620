package amd64

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vmcoretools/vmcore/physmem"
	"github.com/vmcoretools/vmcore/vmcoreinfo"
)

// fakeMem is physical memory made of 4 KiB pages; pages never written read
// as not in the dump, excluded pages as excluded, and addresses at or past
// end as beyond the end.
type fakeMem struct {
	pages    map[uint64][]byte
	excluded map[uint64]bool
	end      uint64
}

func newFakeMem(end uint64) *fakeMem {
	return &fakeMem{pages: map[uint64][]byte{}, excluded: map[uint64]bool{}, end: end}
}

func (m *fakeMem) page(pfn uint64) []byte {
	p, ok := m.pages[pfn]
	if !ok {
		p = make([]byte, PageSize4K)
		m.pages[pfn] = p
	}
	return p
}

func (m *fakeMem) write(paddr uint64, b []byte) {
	for len(b) > 0 {
		off := paddr & (PageSize4K - 1)
		n := copy(m.page(paddr >> 12)[off:], b)
		b, paddr = b[n:], paddr+uint64(n)
	}
}

func (m *fakeMem) put64(paddr, v uint64) {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], v)
	m.write(paddr, b[:])
}

func (m *fakeMem) ReadAt(p []byte, off int64) (int, error) {
	addr := uint64(off)
	n := 0
	for n < len(p) {
		a := addr + uint64(n)
		if a >= m.end {
			return n, &physmem.Error{Addr: a, Kind: physmem.BeyondEnd}
		}
		if m.excluded[a>>12] {
			return n, &physmem.Error{Addr: a, Kind: physmem.Excluded}
		}
		pg, ok := m.pages[a>>12]
		if !ok {
			return n, &physmem.Error{Addr: a, Kind: physmem.NotInDump}
		}
		n += copy(p[n:], pg[a&(PageSize4K-1):])
	}
	return n, nil
}

// pageTables builds x86_64 page tables in a fakeMem, allocating table pages
// from a bump pointer.
type pageTables struct {
	mem    *fakeMem
	levels int
	sme    uint64
	pgd    uint64
	next   uint64
}

func (pt *pageTables) alloc() uint64 {
	a := pt.next
	pt.next += PageSize4K
	pt.mem.page(a >> 12) // zeroed table
	return a
}

// mapPage maps vaddr to paddr with a leaf of the given size, creating the
// intermediate tables.
func (pt *pageTables) mapPage(vaddr, paddr, size uint64) {
	leafLvl := map[uint64]int{PageSize4K: 4, PageSize2M: 3, PageSize1G: 2}[size]
	table := pt.pgd
	for lvl := 5 - pt.levels; ; lvl++ {
		shift := uint(12 + 9*(4-lvl))
		slot := table + ((vaddr>>shift)&511)*8
		if lvl == leafLvl {
			ent := paddr | ptePresent | 0x2 | pt.sme | 1<<63 // RW, NX
			if size != PageSize4K {
				ent |= ptePSE
			}
			pt.mem.put64(slot, ent)
			return
		}
		var b [8]byte
		pt.mem.ReadAt(b[:], int64(slot))
		ent := binary.LittleEndian.Uint64(b[:])
		if ent&ptePresent == 0 {
			ent = pt.alloc() | ptePresent | 0x2 | pt.sme
			pt.mem.put64(slot, ent)
		}
		table = ent &^ pt.sme & pteAddrMask
	}
}

type fixture struct {
	mem        *fakeMem
	pt         *pageTables
	info       *vmcoreinfo.Info
	pageOffset uint64
	physBase   uint64
	pgdVaddr   uint64
}

// newFixture lays out a KASLR kernel: image at physBase mapped with 2 MiB
// pages, the direct map at a random-looking 1 GiB-aligned base, mapped with
// 4 KiB pages for the first 2 MiB, 2 MiB pages up to 1 GiB and a 1 GiB page
// after that, and one vmalloc page.
func newFixture(t *testing.T, levels int, sme uint64, extra string) *fixture {
	t.Helper()
	return newFixtureAt(t, levels, sme, extra, 0x2c00000, 0x1e000000, 0x1a0a000)
}

// newFixtureAt places the image with the given phys_base (which KASLR can
// make negative: __pa_symbol only needs vaddr - __START_KERNEL_map +
// phys_base to be right modulo 2^64), KASLR offset and PGD offset.
func newFixtureAt(t *testing.T, levels int, sme uint64, extra string, physBase, kaslr, pgdOff uint64) *fixture {
	t.Helper()
	pageOffset := uint64(0xffff9b5c40000000)
	if levels == 5 {
		pageOffset = 0xff4a3b0000000000 | 0x40000000*5
	}
	mem := newFakeMem(1 << 31) // 2 GiB of "RAM"
	pgdVaddr := StartKernelMap + kaslr + pgdOff
	pgdPhys := pgdVaddr - StartKernelMap + physBase
	pt := &pageTables{mem: mem, levels: levels, sme: sme, pgd: pgdPhys, next: 0x10000000}
	mem.page(pgdPhys >> 12)
	// Kernel image: 32 MiB of 2 MiB pages.
	for off := uint64(0); off < 32<<20; off += PageSize2M {
		pt.mapPage(StartKernelMap+kaslr+off, physBase+kaslr+off, PageSize2M)
	}
	// Direct map.
	for off := uint64(0); off < PageSize2M; off += PageSize4K {
		pt.mapPage(pageOffset+off, off, PageSize4K)
	}
	for off := uint64(PageSize2M); off < PageSize1G; off += PageSize2M {
		pt.mapPage(pageOffset+off, off, PageSize2M)
	}
	pt.mapPage(pageOffset+PageSize1G, PageSize1G, PageSize1G)
	// A vmalloc page, mapped to a physical page far from its neighbour.
	pt.mapPage(0xffffc90000001000, 0x5000000, PageSize4K)
	pt.mapPage(0xffffc90000002000, 0x3000000, PageSize4K)

	note := fmt.Sprintf("OSRELEASE=6.1.0\nPAGESIZE=4096\nSYMBOL(init_top_pgt)=%x\nSYMBOL(swapper_pg_dir)=%x\n"+
		"NUMBER(phys_base)=%d\nNUMBER(pgtable_l5_enabled)=%d\nNUMBER(sme_mask)=%d\nKERNELOFFSET=%x\nNUMBER(KERNEL_IMAGE_SIZE)=1073741824\n%s",
		pgdVaddr, pgdVaddr, int64(physBase), map[bool]int{true: 1}[levels == 5], sme, kaslr, extra)
	info, err := vmcoreinfo.Parse([]byte(note))
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{mem: mem, pt: pt, info: info, pageOffset: pageOffset, physBase: physBase, pgdVaddr: pgdVaddr}
}

func TestTranslate(t *testing.T) {
	for _, tc := range []struct {
		levels int
		sme    uint64
	}{{4, 0}, {5, 0}, {4, 1 << 47}, {5, 1 << 51}} {
		t.Run(fmt.Sprintf("L%d-sme%x", tc.levels, tc.sme), func(t *testing.T) {
			f := newFixture(t, tc.levels, tc.sme, "")
			tr, err := NewTranslator(f.mem, f.info)
			if err != nil {
				t.Fatal(err)
			}
			if got, ok := tr.PageOffset(); !ok || got != f.pageOffset {
				t.Errorf("PageOffset = %#x, %v; want %#x", got, ok, f.pageOffset)
			}
			if tr.Levels() != tc.levels || tr.PhysBase() != f.physBase || tr.SMEMask() != tc.sme {
				t.Errorf("levels %d physBase %#x sme %#x", tr.Levels(), tr.PhysBase(), tr.SMEMask())
			}
			type res struct{ P, S uint64 }
			cases := map[uint64]res{
				f.pageOffset + 0x1234:                  {0x1234, PageSize4K},
				f.pageOffset + 0x1fffff:                {0x1fffff, PageSize4K},
				f.pageOffset + 0x12345678:              {0x12345678, PageSize2M},
				f.pageOffset + PageSize1G + 0x777:      {PageSize1G + 0x777, PageSize1G},
				StartKernelMap + 0x1e000000 + 0x345678: {f.physBase + 0x1e000000 + 0x345678, PageSize2M},
				0xffffc90000001008:                     {0x5000008, PageSize4K},
			}
			for va, want := range cases {
				for range 2 { // second round hits the TLB
					p, s, err := tr.Translate(va)
					if err != nil {
						t.Fatalf("Translate(%#x): %v", va, err)
					}
					if diff := cmp.Diff(want, res{p, s}); diff != "" {
						t.Errorf("Translate(%#x) -want +got:\n%s", va, diff)
					}
				}
			}
		})
	}
}

// The lab's Debian 6.1 dump: NUMBER(phys_base)=-364904448,
// KERNELOFFSET=2ac00000, SYMBOL(init_top_pgt)=ffffffffad610000.
func TestNegativePhysBase(t *testing.T) {
	physBase := uint64(0xffffffffea400000) // -364904448
	f := newFixtureAt(t, 4, 0, "", physBase, 0x2ac00000, 0x2d610000-0x2ac00000)
	if !strings.Contains(string(f.info.Raw()), "NUMBER(phys_base)=-364904448") {
		t.Fatalf("fixture note: %s", f.info.Raw())
	}
	tr, err := NewTranslator(f.mem, f.info)
	if err != nil {
		t.Fatal(err)
	}
	if tr.PGD() != 0x17a10000 {
		t.Errorf("PGD at %#x, want 0x17a10000", tr.PGD())
	}
	p, _, err := tr.Translate(StartKernelMap + 0x2ac00000 + 0x123456)
	if err != nil || p != 0x15000000+0x123456 {
		t.Errorf("text address -> %#x, %v", p, err)
	}
}

func TestTranslateErrors(t *testing.T) {
	f := newFixture(t, 4, 0, "")
	tr, err := NewTranslator(f.mem, f.info)
	if err != nil {
		t.Fatal(err)
	}
	// Not present at the PGD level (nothing mapped in this 512 GiB slot).
	_, _, err = tr.Translate(0xffffe00000000000)
	var te *TranslateError
	if !errors.As(err, &te) || te.Level != "PGD" || !errors.Is(err, ErrNotMapped) {
		t.Errorf("unmapped PGD slot: %v", err)
	}
	// Not present at the PTE level: next to the vmalloc page.
	_, _, err = tr.Translate(0xffffc90000003000)
	if !errors.As(err, &te) || te.Level != "PTE" || !errors.Is(err, ErrNotMapped) {
		t.Errorf("unmapped PTE: %v", err)
	}
	// Non-canonical.
	if _, _, err = tr.Translate(0x0000900000000000); !errors.Is(err, ErrNonCanonical) {
		t.Errorf("non-canonical: %v", err)
	}
	// A page table excluded from the dump: the PTE table of the vmalloc page.
	ptePage := uint64(0)
	{
		tr2, _ := NewTranslator(f.mem, f.info)
		tab, _ := tr2.table(tr2.pgd)
		pud, _ := tr2.table(tr2.entryAddr(tab[(0xffffc90000001000>>39)&511]))
		pmd, _ := tr2.table(tr2.entryAddr(pud[(0xffffc90000001000>>30)&511]))
		ptePage = tr2.entryAddr(pmd[(0xffffc90000001000>>21)&511])
	}
	f.mem.excluded[ptePage>>12] = true
	tr3, err := NewTranslator(f.mem, f.info)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = tr3.Translate(0xffffc90000001000)
	if !errors.As(err, &te) || te.Level != "PTE" || !errors.Is(err, physmem.ErrExcluded) {
		t.Errorf("excluded PTE table: %v", err)
	}
	delete(f.mem.excluded, ptePage>>12)

	// The direct map's and the image's tables lost: both are linear, so
	// Translate still answers by formula; Walk reports the loss.
	tab, _ := tr.table(tr.pgd)
	f.mem.excluded[tr.entryAddr(tab[(f.pageOffset>>39)&511])>>12] = true
	f.mem.excluded[tr.entryAddr(tab[511])>>12] = true
	tr4, err := NewTranslator(f.mem, f.info)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := tr4.Walk(f.pageOffset + 0x12345678); !errors.Is(err, physmem.ErrExcluded) {
		t.Errorf("Walk with an excluded PUD table: %v", err)
	}
	// The direct map base was not found this time, so only the image is
	// linear; give the translator the base found before.
	tr4.pageOffset, tr4.pageOffOK = f.pageOffset, true
	if p, _, err := tr4.Translate(f.pageOffset + 0x12345678); err != nil || p != 0x12345678 {
		t.Errorf("direct map by formula: %#x %v", p, err)
	}
	if p, _, err := tr4.Translate(StartKernelMap + 0x1e000000 + 0x10); err != nil || p != f.physBase+0x1e000000+0x10 {
		t.Errorf("image by formula: %#x %v", p, err)
	}
	// vmalloc is not linear: without its PTE table there is no answer.
	f.mem.excluded[ptePage>>12] = true
	tr5, err := NewTranslator(f.mem, f.info) // tr4 has the table cached
	if err != nil {
		t.Fatal(err)
	}
	tr5.pageOffset, tr5.pageOffOK = f.pageOffset, true
	if _, _, err := tr5.Translate(0xffffc90000001000); !errors.Is(err, physmem.ErrExcluded) {
		t.Errorf("vmalloc address without its tables: %v", err)
	}
}

func TestReadVirt(t *testing.T) {
	f := newFixture(t, 4, 1<<47, "")
	f.mem.write(0x5000ffc, []byte("abcd"))
	f.mem.write(0x3000000, []byte("efgh"))
	tr, err := NewTranslator(f.mem, f.info)
	if err != nil {
		t.Fatal(err)
	}
	// Crosses from the first vmalloc page into the second, whose physical
	// page lies elsewhere.
	buf := make([]byte, 8)
	n, err := tr.ReadVirt(buf, 0xffffc90000001ffc)
	if err != nil || n != 8 || string(buf) != "abcdefgh" {
		t.Errorf("ReadVirt = %d %q %v", n, buf, err)
	}
	// Through the io.ReaderAt, past the end of the mapping.
	va := uint64(0xffffc90000002000)
	n, err = tr.ReaderAt().ReadAt(make([]byte, 0x2000), int64(va))
	var te *TranslateError
	if n != 0x1000 || !errors.As(err, &te) || te.Vaddr != 0xffffc90000003000 {
		t.Errorf("ReadAt past the mapping: n=%#x err=%v", n, err)
	}
	// Mapped but excluded from the dump.
	f.mem.excluded[0x5000] = true
	n, err = tr.ReadVirt(buf, 0xffffc90000001ff0)
	var re *ReadError
	if n != 0 || !errors.As(err, &re) || !errors.Is(err, physmem.ErrExcluded) || re.Vaddr != 0xffffc90000001ff0 {
		t.Errorf("excluded page: n=%d err=%v", n, err)
	}
	// Beyond the end of memory (the 1 GiB page maps 1..2 GiB, RAM ends at 2 GiB
	// in the fake, so read the byte at the boundary through a shrunken end).
	f.mem.end = PageSize1G + 0x1000
	_, err = tr.ReadVirt(buf, f.pageOffset+PageSize1G+0x1000)
	if !errors.Is(err, physmem.ErrBeyondEnd) {
		t.Errorf("beyond end: %v", err)
	}
}

func TestNewTranslatorErrors(t *testing.T) {
	f := newFixture(t, 4, 0, "")
	if _, err := NewTranslator(f.mem, nil); err == nil {
		t.Error("nil info accepted")
	}
	noPgd, _ := vmcoreinfo.Parse([]byte("OSRELEASE=6.1\nNUMBER(phys_base)=0\n"))
	if _, err := NewTranslator(f.mem, noPgd); err == nil || !strings.Contains(err.Error(), "init_top_pgt") {
		t.Errorf("missing init_top_pgt: %v", err)
	}
	noBase, _ := vmcoreinfo.Parse([]byte(fmt.Sprintf("SYMBOL(init_top_pgt)=%x\n", f.pgdVaddr)))
	if _, err := NewTranslator(f.mem, noBase); err == nil || !strings.Contains(err.Error(), "phys_base") {
		t.Errorf("missing phys_base: %v", err)
	}
	f.mem.excluded[(f.pgdVaddr-StartKernelMap+f.physBase)>>12] = true
	if _, err := NewTranslator(f.mem, f.info); !errors.Is(err, physmem.ErrExcluded) {
		t.Errorf("excluded PGD: %v", err)
	}
}

// Old kernels export SYMBOL(phys_base) instead of NUMBER(phys_base).
func TestPhysBaseSearch(t *testing.T) {
	f := newFixture(t, 4, 0, "")
	physBaseSym := uint64(StartKernelMap + 0x1e000000 + 0x1c00010)
	f.mem.put64(physBaseSym-StartKernelMap+f.physBase, f.physBase)
	note := fmt.Sprintf("SYMBOL(init_top_pgt)=%x\nSYMBOL(phys_base)=%x\n", f.pgdVaddr, physBaseSym)
	info, _ := vmcoreinfo.Parse([]byte(note))
	tr, err := NewTranslator(f.mem, info)
	if err != nil {
		t.Fatal(err)
	}
	if tr.PhysBase() != f.physBase {
		t.Errorf("PhysBase = %#x, want %#x", tr.PhysBase(), f.physBase)
	}
}

// Translator promises safety for concurrent use (run with -race).
func TestConcurrentTranslate(t *testing.T) {
	f := newFixture(t, 4, 0, "")
	tr, err := NewTranslator(f.mem, f.info)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	for g := range 4 {
		go func() {
			for i := range 2000 {
				off := uint64((g*2000+i)%4096) * PageSize4K
				p, _, err := tr.Translate(f.pageOffset + off)
				if err == nil && p != off {
					err = fmt.Errorf("%#x -> %#x", f.pageOffset+off, p)
				}
				if err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	for range 4 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

// Trace reports every entry of the walk, each at the physical address the
// MMU reads it from, and stops at a leaf or at an entry not present.
func TestTrace(t *testing.T) {
	for _, levels := range []int{4, 5} {
		t.Run(fmt.Sprintf("L%d", levels), func(t *testing.T) {
			const sme = 1 << 47
			f := newFixture(t, levels, sme, "")
			tr, err := NewTranslator(f.mem, f.info)
			if err != nil {
				t.Fatal(err)
			}
			read := func(pa uint64) uint64 {
				var b [8]byte
				if _, err := f.mem.ReadAt(b[:], int64(pa)); err != nil {
					t.Fatal(err)
				}
				return binary.LittleEndian.Uint64(b[:]) &^ sme
			}
			for _, tc := range []struct {
				va         uint64
				size       uint64
				lastLevel  string
				wantPaddr  uint64
				notPresent bool
			}{
				{f.pageOffset + 0x1234, PageSize4K, "PTE", 0x1234, false},
				{f.pageOffset + 0x12345678, PageSize2M, "PMD", 0x12345678, false},
				{f.pageOffset + PageSize1G + 0x777, PageSize1G, "PUD", PageSize1G + 0x777, false},
				{0xffffc90000003000, 0, "PTE", 0, true},
			} {
				steps, p, size, err := tr.Trace(tc.va)
				wantSteps := map[string]int{"PUD": 2, "PMD": 3, "PTE": 4}[tc.lastLevel] + levels - 4
				if len(steps) != wantSteps {
					t.Fatalf("Trace(%#x): %d steps %+v, want %d", tc.va, len(steps), steps, wantSteps)
				}
				if steps[0].Level != "PGD" || steps[0].EntryAddr&^0xfff != tr.PGD() {
					t.Errorf("Trace(%#x): first step %+v, want the PGD at %#x", tc.va, steps[0], tr.PGD())
				}
				if levels == 5 && steps[1].Level != "P4D" {
					t.Errorf("Trace(%#x): second step %+v, want P4D", tc.va, steps[1])
				}
				if last := steps[len(steps)-1]; last.Level != tc.lastLevel {
					t.Errorf("Trace(%#x): last level %s, want %s", tc.va, last.Level, tc.lastLevel)
				}
				for i, s := range steps {
					if got := read(s.EntryAddr); got != s.Entry {
						t.Errorf("Trace(%#x) step %d: entry %#x, memory holds %#x", tc.va, i, s.Entry, got)
					}
					if i > 0 && s.EntryAddr&^0xfff != steps[i-1].Entry&pteAddrMask {
						t.Errorf("Trace(%#x) step %d at %#x is not in the table the step before points to (%#x)", tc.va, i, s.EntryAddr, steps[i-1].Entry)
					}
				}
				if tc.notPresent {
					if !errors.Is(err, ErrNotMapped) {
						t.Errorf("Trace(%#x): err %v, want ErrNotMapped", tc.va, err)
					}
					continue
				}
				if err != nil || p != tc.wantPaddr || size != tc.size {
					t.Errorf("Trace(%#x) = %#x, %#x, %v; want %#x, %#x", tc.va, p, size, err, tc.wantPaddr, tc.size)
				}
			}
		})
	}
}
