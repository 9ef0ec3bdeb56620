package kallsyms

import (
	"errors"
	"fmt"
	"math/rand"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// oldImage lays syms out as a kernel before 6.0 does, inside read-only
// data of pseudo-random bytes, as Search meets them.
func oldImage(t *testing.T, syms []Symbol) (*memory, Locations, uint64, uint64) {
	im := encodeLayout(t, syms, true, true)
	const pad = 96 << 10
	rng := rand.New(rand.NewSource(1))
	junk := func() []byte {
		b := make([]byte, pad)
		rng.Read(b)
		return b
	}
	b := append(append(junk(), im.region()...), junk()...)
	start := uint64(rodata - pad)
	return &memory{regions: map[uint64][]byte{start: b}}, im.loc, start, start + uint64(len(b))
}

func TestSearch(t *testing.T) {
	for _, n := range []int{40, 300, 20000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			syms := sampleSymbols(true)
			for i := len(syms); i < n; i++ {
				syms = append(syms, Symbol{Name: fmt.Sprintf("sym_%d_init_start", i), Type: "tTdDbBrR"[i%8], Addr: 0xffffffff8f000000 + uint64(i)*16})
			}
			mem, want, start, end := oldImage(t, syms)
			loc, err := Search(mem, start, end)
			if err != nil {
				t.Fatal(err)
			}
			if loc != want {
				t.Fatalf("found %+v\nwant  %+v", loc, want)
			}
			tab, err := Read(mem, loc, Options{Anchor: Anchor{"_stext", 0xffffffff8e000000}})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(syms, tab.Symbols); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestSearchNothing(t *testing.T) {
	b := make([]byte, 1<<20)
	rand.New(rand.NewSource(2)).Read(b)
	mem := &memory{regions: map[uint64][]byte{rodata: b}}
	if _, err := Search(mem, rodata, rodata+uint64(len(b))); !errors.Is(err, ErrNotFound) {
		t.Errorf("random bytes: %v", err)
	}
	if _, err := Search(mem, rodata, rodata+MaxSearch+1); err == nil {
		t.Error("an oversized region was searched")
	}
	// Damaged markers: the token tables are found, the names are not.
	syms := sampleSymbols(true)
	mem, loc, start, end := oldImage(t, syms)
	region := mem.regions[start]
	at := loc.TokenTable - 8 - start
	region[at], region[at+1], region[at+2], region[at+3] = 0xff, 0xff, 0xff, 0x7f
	if _, err := Search(mem, start, end); !errors.Is(err, ErrNotFound) {
		t.Errorf("damaged markers: %v", err)
	}
}

// FuzzSearch: Search over arbitrary memory ends, in bounded time, with
// tables or an error; never a panic.
func FuzzSearch(f *testing.F) {
	mem, _, start, _ := oldImage(&testing.T{}, sampleSymbols(true))
	region := mem.regions[start]
	f.Add(region[96<<10:])
	f.Add([]byte{0, 0, 2, 0, 4, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		m := &memory{regions: map[uint64][]byte{rodata: data}}
		loc, err := Search(m, rodata, rodata+uint64(len(data))+1)
		if err == nil {
			_, _ = Read(m, loc, Options{})
		}
	})
}
