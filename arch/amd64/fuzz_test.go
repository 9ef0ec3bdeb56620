package amd64

import (
	"testing"

	"github.com/vmcoretools/vmcore/physmem"
	"github.com/vmcoretools/vmcore/vmcoreinfo"
)

// tiledMem is 1 MiB of physical memory repeating the fuzz input, so a short
// input fills every page table the walk visits.
type tiledMem []byte

func (m tiledMem) ReadAt(p []byte, off int64) (int, error) {
	for i := range p {
		a := uint64(off) + uint64(i)
		if a >= 1<<20 {
			return i, &physmem.Error{Addr: a, Kind: physmem.BeyondEnd}
		}
		p[i] = m[a%uint64(len(m))]
	}
	return len(p), nil
}

func FuzzWalk(f *testing.F) {
	f.Add([]byte{0x03, 0x10, 0, 0, 0, 0, 0, 0}, false, uint64(0xffff888000001000))
	f.Add([]byte{0x83, 0, 0, 0, 0, 0, 0, 0}, true, uint64(0xff11000000000000))
	f.Fuzz(func(t *testing.T, data []byte, l5 bool, vaddr uint64) {
		if len(data) == 0 {
			return
		}
		note := "SYMBOL(init_top_pgt)=ffffffff80000000\nNUMBER(phys_base)=0\nNUMBER(sme_mask)=140737488355328\n"
		if l5 {
			note += "NUMBER(pgtable_l5_enabled)=1\n"
		}
		info, err := vmcoreinfo.Parse([]byte(note))
		if err != nil {
			t.Fatal(err)
		}
		tr, err := NewTranslator(tiledMem(data), info)
		if err != nil {
			return
		}
		if p, size, err := tr.Translate(vaddr); err == nil {
			if size != PageSize4K && size != PageSize2M && size != PageSize1G {
				t.Fatalf("page size %#x", size)
			}
			if p&(size-1) != vaddr&(size-1) {
				t.Fatalf("offset within page lost: %#x -> %#x", vaddr, p)
			}
		}
		// Trace must agree with Walk and end where the walk ended.
		steps, tp, tsize, terr := tr.Trace(vaddr)
		wp, wsize, werr := tr.Walk(vaddr)
		if (terr == nil) != (werr == nil) || tp != wp || tsize != wsize {
			t.Fatalf("Trace(%#x) = %#x, %#x, %v; Walk = %#x, %#x, %v", vaddr, tp, tsize, terr, wp, wsize, werr)
		}
		if len(steps) > tr.Levels() {
			t.Fatalf("Trace(%#x): %d steps with %d levels", vaddr, len(steps), tr.Levels())
		}
		buf := make([]byte, 64)
		n, err := tr.ReadVirt(buf, vaddr)
		if n < len(buf) && err == nil {
			t.Fatalf("short read without error")
		}
	})
}
