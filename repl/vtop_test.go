package repl

import (
	"bytes"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vmcoretools/vmcore/arch/amd64"
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
	want := []amd64.Step{
		{Level: "PGD", EntryAddr: pgd + idx(v4k, 39), Entry: pud | 0x67},
		{Level: "PUD", EntryAddr: pud + idx(v4k, 30), Entry: pmd | 0x67},
		{Level: "PMD", EntryAddr: pmd + idx(v4k, 21), Entry: pte | 0x67},
		{Level: "PTE", EntryAddr: pte + idx(v4k, 12), Entry: 0x80000000069ff865},
	}
	if d := cmp.Diff(want, r.steps); d != "" {
		t.Errorf("4K walk steps (-want +got):\n%s", d)
	}
	if !r.mapped || r.paddr != 0x69ff140 || r.size != amd64.PageSize4K {
		t.Errorf("4K walk: mapped %v paddr %#x size %#x; want 0x69ff140, 4K", r.mapped, r.paddr, r.size)
	}

	r, err = walkUserTables(mem.read, pgd, 4, sme, v2m)
	if err != nil {
		t.Fatal(err)
	}
	if !r.mapped || r.size != amd64.PageSize2M || r.paddr != 0x40001234 || len(r.steps) != 3 || r.steps[2].Entry != 0x400000e7 {
		t.Errorf("2M walk: %+v", r)
	}

	r, err = walkUserTables(mem.read, pgd, 4, sme, v1g)
	if err != nil {
		t.Fatal(err)
	}
	if !r.mapped || r.size != amd64.PageSize1G || r.paddr != 0x80005678 || len(r.steps) != 2 {
		t.Errorf("1G walk: %+v", r)
	}

	// Nothing at the PGD: one step, not mapped, no PTE.
	r, err = walkUserTables(mem.read, pgd, 4, sme, 0x1000)
	if err != nil {
		t.Fatal(err)
	}
	if r.mapped || len(r.steps) != 1 || r.pte != 0 {
		t.Errorf("unmapped walk: %+v", r)
	}

	// A PTE not present: a swap entry is kept for the caller; one marked
	// PROTNONE counts as present, as crash has it.
	mem[pte+idx(v4k-0x1000, 12)] = 0x3e8000
	r, _ = walkUserTables(mem.read, pgd, 4, sme, v4k-0x1000)
	if r.mapped || r.pte != 0x3e8000 || len(r.steps) != 4 {
		t.Errorf("swap entry walk: %+v", r)
	}
	mem[pte+idx(v4k-0x2000, 12)] = 0x5000000 | pteProtNone | 4
	r, _ = walkUserTables(mem.read, pgd, 4, sme, v4k-0x2000)
	if !r.mapped || r.paddr != 0x5000000|(v4k-0x2000)&0xfff {
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
	if len(r.steps) != 1 || r.steps[0].Level != "PGD" {
		t.Errorf("5-level unmapped: %+v", r.steps)
	}
	mem5[0x41000+idx(v4k, 39)] = 0
	r, _ = walkUserTables(mem5.read, pgd, 5, 0, v4k)
	if got := []string{r.steps[0].Level, r.steps[1].Level}; !cmp.Equal(got, []string{"PGD", "P4D"}) {
		t.Errorf("5-level names %v", got)
	}
}

func TestWritePTE(t *testing.T) {
	for _, c := range []struct {
		pte  uint64
		want string
	}{
		{0x8000000003de0025, "      PTE         PHYSICAL  FLAGS\n8000000003de0025   3de0000  (PRESENT|USER|ACCESSED|NX)\n"},
		{0x3e60025, "  PTE    PHYSICAL  FLAGS\n3e60025   3e60000  (PRESENT|USER|ACCESSED)\n"},
		{0x80000000060001e1, "      PTE         PHYSICAL  FLAGS\n80000000060001e1   6000000  (PRESENT|ACCESSED|DIRTY|PSE|GLOBAL|NX)\n"},
		// Not present with the GLOBAL bit: PROTNONE, and PSE is not shown.
		{0x80000000050001a4, "      PTE         PHYSICAL  FLAGS\n80000000050001a4   5000000  (USER|ACCESSED|PROTNONE|GLOBAL|NX)\n"},
	} {
		var b bytes.Buffer
		writePTE(&b, c.pte)
		if d := cmp.Diff(c.want, b.String()); d != "" {
			t.Errorf("writePTE(%#x) (-want +got):\n%s", c.pte, d)
		}
	}
}

func TestNeedsTask(t *testing.T) {
	for cmd, want := range map[string]bool{
		"vtop -k 0xffffffff90f1ffe0":     false,
		"vtop 0xffffffff90f1ffe0":        false,
		"vtop 0x400000":                  true,
		"vtop -u 0xffffffff90f1ffe0":     true,
		"vtop -c 1 0xffffffff90f1ffe0":   true,
		"vtop -k 0xffffffff90f1ffe0 0x1": true,
	} {
		if got := needsTask(cmd); got != want {
			t.Errorf("needsTask(%q) = %v, want %v", cmd, got, want)
		}
	}
}
