package value

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/vmcoretools/vmcore/dwarfsym"
)

// byteMem serves data at base and nothing else.
type byteMem struct {
	base uint64
	data []byte
}

func (m byteMem) ReadAt(p []byte, off int64) (int, error) {
	a := uint64(off)
	if a < m.base || a-m.base >= uint64(len(m.data)) {
		return 0, errors.New("unmapped")
	}
	n := copy(p, m.data[a-m.base:])
	if n < len(p) {
		return n, errors.New("unmapped")
	}
	return n, nil
}

// FuzzFormat reads and prints a struct task over arbitrary memory: the
// pointers in it lead anywhere, strings never end, lists loop. Nothing may
// panic or run away.
func FuzzFormat(f *testing.F) {
	syms, err := dwarfsym.Open("../dwarfsym/testdata/tiny.elf")
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte("swapper/0"), false)
	f.Add(make([]byte, 200), true)
	f.Fuzz(func(t *testing.T, data []byte, hex bool) {
		const base = 0xffff888000000000
		c := New(syms.Source(), byteMem{base, data})
		v, err := c.At("struct task", base)
		if err != nil {
			t.Fatal(err)
		}
		v.Format(Format{Hex: hex})
		v.WriteStruct(Format{})
		if b, err := v.MarshalJSON(); err == nil && !json.Valid(b) {
			t.Fatalf("MarshalJSON gave invalid JSON: %s", b)
		}
		if n, err := v.Member("name"); err == nil {
			n.CString(64)
		}
		if p, err := v.Member("parent.parent.comm"); err == nil {
			p.CString(0)
		}
		c.ListEntries(base+32, "struct task", "tasks", 100)
	})
}
