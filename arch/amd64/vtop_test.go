package amd64

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vmcoretools/vmcore/arch"
)

// fakeTables is physical memory holding page-table entries.
type fakeTables map[uint64]uint64

func (f fakeTables) read(paddr uint64) (uint64, error) {
	if v, ok := f[paddr]; ok {
		return v, nil
	}
	if paddr>>40 != 0 {
		return 0, errors.New("beyond the dump")
	}
	return 0, nil
}

// idx is the byte offset of vaddr's entry in the table of a level whose
// entries each map 1<<shift bytes.
func idx(vaddr uint64, shift uint) uint64 { return 8 * ((vaddr >> shift) & 511) }

func TestWalkUserTables(t *testing.T) {
	const (
		pgd = 0x10000
		pud = 0x11000
		pmd = 0x12000
		pte = 0x13000
		sme = 1 << 47
	)
	v4k := uint64(0x7ffd229ff140)
	v2m := uint64(0x7f0000200000 + 0x1234)
	v1g := uint64(0x7e0040000000 + 0x5678)
	mem := fakeTables{
		pgd + idx(v4k, 39): pud | 0x67 | sme,
		pud + idx(v4k, 30): pmd | 0x67,
		pmd + idx(v4k, 21): pte | 0x67,
		pte + idx(v4k, 12): 0x80000000069ff865 | sme,

		pgd + idx(v2m, 39):     0x21000 | 0x67,
		0x21000 + idx(v2m, 30): 0x22000 | 0x67,
		0x22000 + idx(v2m, 21): 0x40000000 | 0xe7 | sme, // PSE

		pgd + idx(v1g, 39):     0x31000 | 0x67,
		0x31000 + idx(v1g, 30): 0x80000000 | 0xe7, // PSE at the PUD
	}
	r, err := walkUserTables(mem.read, pgd|0x800 /* ignored offset bits */, 4, sme, v4k)
	if err != nil {
		t.Fatal(err)
	}
	want := []arch.Step{
		{Level: "PGD", EntryAddr: pgd + idx(v4k, 39), Entry: pud | 0x67},
		{Level: "PUD", EntryAddr: pud + idx(v4k, 30), Entry: pmd | 0x67},
		{Level: "PMD", EntryAddr: pmd + idx(v4k, 21), Entry: pte | 0x67},
		{Level: "PTE", EntryAddr: pte + idx(v4k, 12), Entry: 0x80000000069ff865},
	}
	if d := cmp.Diff(want, r.Steps); d != "" {
		t.Errorf("4K walk steps (-want +got):\n%s", d)
	}
	if !r.Mapped || r.Phys != 0x69ff140 || r.Size != PageSize4K {
		t.Errorf("4K walk: mapped %v paddr %#x size %#x; want 0x69ff140, 4K", r.Mapped, r.Phys, r.Size)
	}

	r, err = walkUserTables(mem.read, pgd, 4, sme, v2m)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Mapped || r.Size != PageSize2M || r.Phys != 0x40001234 || len(r.Steps) != 3 || r.Steps[2].Entry != 0x400000e7 {
		t.Errorf("2M walk: %+v", r)
	}

	r, err = walkUserTables(mem.read, pgd, 4, sme, v1g)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Mapped || r.Size != PageSize1G || r.Phys != 0x80005678 || len(r.Steps) != 2 {
		t.Errorf("1G walk: %+v", r)
	}

	// Nothing at the PGD: one step, not mapped, no PTE.
	r, err = walkUserTables(mem.read, pgd, 4, sme, 0x1000)
	if err != nil {
		t.Fatal(err)
	}
	if r.Mapped || len(r.Steps) != 1 || r.NotPresent != 0 {
		t.Errorf("unmapped walk: %+v", r)
	}

	// A PTE not present: a swap entry is kept for the caller; one marked
	// PROTNONE counts as present, as crash has it.
	mem[pte+idx(v4k-0x1000, 12)] = 0x3e8000
	r, _ = walkUserTables(mem.read, pgd, 4, sme, v4k-0x1000)
	if r.Mapped || r.NotPresent != 0x3e8000 || len(r.Steps) != 4 {
		t.Errorf("swap entry walk: %+v", r)
	}
	mem[pte+idx(v4k-0x2000, 12)] = 0x5000000 | pteProtNone | 4
	r, _ = walkUserTables(mem.read, pgd, 4, sme, v4k-0x2000)
	if !r.Mapped || r.Phys != 0x5000000|(v4k-0x2000)&0xfff {
		t.Errorf("PROTNONE walk: %+v", r)
	}

	// Five levels: the P4D is named, and a table beyond the dump is a
	// read error naming the address.
	mem5 := fakeTables{
		pgd + idx(v4k, 48):     0x41000 | 0x67,
		0x41000 + idx(v4k, 39): 0xff0000000000 | 0x67,
	}
	_, err = walkUserTables(mem5.read, pgd, 5, 0, v4k)
	if err == nil {
		t.Fatal("walk through a table beyond the dump: no error")
	}
	r, _ = walkUserTables(mem5.read, pgd, 5, 0, 1<<48)
	if len(r.Steps) != 1 || r.Steps[0].Level != "PGD" {
		t.Errorf("5-level unmapped: %+v", r.Steps)
	}
	mem5[0x41000+idx(v4k, 39)] = 0
	r, _ = walkUserTables(mem5.read, pgd, 5, 0, v4k)
	if got := []string{r.Steps[0].Level, r.Steps[1].Level}; !cmp.Equal(got, []string{"PGD", "P4D"}) {
		t.Errorf("5-level names %v", got)
	}
}

func TestEntryFlags(t *testing.T) {
	for pte, want := range map[uint64]string{
		0x8000000003de0025: "PRESENT|USER|ACCESSED|NX",
		0x80000000060001e1: "PRESENT|ACCESSED|DIRTY|PSE|GLOBAL|NX",
		// Not present with the GLOBAL bit: PROTNONE, and PSE is not shown.
		0x80000000050001a4: "USER|ACCESSED|PROTNONE|GLOBAL|NX",
	} {
		if got := strings.Join(Space{}.EntryFlags(pte), "|"); got != want {
			t.Errorf("EntryFlags(%#x) = %s, want %s", pte, got, want)
		}
	}
	if p := (Space{}).EntryPhys(0x8000000003de0025); p != 0x3de0000 {
		t.Errorf("EntryPhys = %#x", p)
	}
}
