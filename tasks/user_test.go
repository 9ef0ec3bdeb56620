package tasks

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/vmcoretools/vmcore/value"
)

// pageMem is a sparse memory of whole 4 KiB pages, by page address.
type pageMem map[uint64][]byte

func (m pageMem) ReadAt(p []byte, off int64) (int, error) {
	n := 0
	for n < len(p) {
		a := uint64(off) + uint64(n)
		pg, ok := m[a&^0xfff]
		if !ok {
			return n, errors.New("page not in dump")
		}
		c := 0
		if int(a&0xfff) < len(pg) {
			c = copy(p[n:], pg[a&0xfff:])
		}
		if c == 0 {
			return n, errors.New("short page")
		}
		n += c
	}
	return n, nil
}

func (m pageMem) word(addr, v uint64) {
	pg := m[addr&^0xfff]
	if pg == nil {
		pg = make([]byte, 4096)
		m[addr&^0xfff] = pg
	}
	binary.LittleEndian.PutUint64(pg[addr&0xfff:], v)
}

const testPageOffset = 0xffff888000000000

// userSpace maps two consecutive user pages at 0x7ffd00000ff0's page and
// the next one (a 4-level walk through PGD, PUD, PMD and PTE tables at
// physical 0x1000..0x4000), plus a 2 MiB page at 0x40000000; the second
// 4 KiB page's data is not in the dump.
func userSpace() (pageMem, uint64) {
	m := pageMem{}
	dm := func(pa uint64) uint64 { return testPageOffset + pa }
	const v = 0x7ffd00000000
	pgd, pud, pmd, pte := uint64(0x1000), uint64(0x2000), uint64(0x3000), uint64(0x4000)
	m.word(dm(pgd)+8*((v>>39)&511), pud|0x67)
	m.word(dm(pud)+8*((v>>30)&511), pmd|0x67)
	m.word(dm(pmd)+8*((v>>21)&511), pte|0x67)
	m.word(dm(pte)+8*((v>>12)&511), 0x10000|0x67|1<<63) // NX set: not part of the address
	m.word(dm(pte)+8*((v>>12)&511+1), 0x11000|0x67)     // present, data page missing
	data := make([]byte, 4096)
	copy(data[0xff0:], "/bin/sh\x00-c\x00\x00\x00")
	m[dm(0x10000)] = data
	// A 2 MiB page at user 0x40000000 -> physical 0x200000.
	const big = 0x40000000
	m.word(dm(pgd)+8*((big>>39)&511), 0x5000|0x67)
	m.word(dm(0x5000)+8*((big>>30)&511), 0x6000|0x67)
	m.word(dm(0x6000)+8*((big>>21)&511), 0x200000|0x80|0x67)
	return m, dm(pgd)
}

func TestUserMemoryWalk(t *testing.T) {
	m, pgd := userSpace()
	u := newUserMemory(value.New(nil, m), pgd, testPageOffset, 4, 0)
	if pa, err := u.Translate(0x7ffd00000ff0); err != nil || pa != 0x10ff0 {
		t.Fatalf("Translate = %#x, %v; want 0x10ff0", pa, err)
	}
	if pa, err := u.Translate(0x40012345); err != nil || pa != 0x212345 {
		t.Fatalf("Translate(2 MiB page) = %#x, %v; want 0x212345", pa, err)
	}
	if _, err := u.Translate(0x1000); err == nil {
		t.Fatal("an unmapped address translated")
	}
	if _, err := u.Translate(0xffff888000000000); err == nil {
		t.Fatal("a kernel address translated as a user one")
	}
	buf := make([]byte, 13)
	if err := u.ReadAt(buf, 0x7ffd00000ff0); err != nil || !bytes.Equal(buf, []byte("/bin/sh\x00-c\x00\x00\x00\x00")[:13]) {
		t.Fatalf("ReadAt = %q, %v", buf, err)
	}
	// Crossing into the page the dump lacks: the fault names that page's
	// first address, as crash's "cannot access user stack address".
	buf = make([]byte, 32)
	err := u.ReadAt(buf, 0x7ffd00000ff0)
	var uf *UserFault
	if !errors.As(err, &uf) || uf.Addr != 0x7ffd00001000 {
		t.Fatalf("ReadAt across a missing page: %v, want a UserFault at 0x7ffd00001000", err)
	}
}

func TestArgsOfKernelThread(t *testing.T) {
	if _, _, err := Args(value.New(nil, pageMem{}), &Task{}); !errors.Is(err, ErrNoMM) {
		t.Fatalf("Args of a task without mm: %v, want ErrNoMM", err)
	}
}

// FuzzUserWalk walks user page tables through arbitrary memory: every
// walk ends, with an address or an error, never a panic.
func FuzzUserWalk(f *testing.F) {
	f.Add(make([]byte, 64), uint64(0x7ffd00000ff0), uint8(4))
	f.Add(bytes.Repeat([]byte{0x67, 0x10, 0, 0, 0, 0, 0, 0}, 8), uint64(0x400000), uint8(5))
	f.Fuzz(func(t *testing.T, data []byte, v uint64, levels uint8) {
		m := pageMem{}
		// The same page of entries at every level.
		pg := make([]byte, 4096)
		for i := range pg {
			if len(data) > 0 {
				pg[i] = data[i%len(data)]
			}
		}
		for _, pa := range []uint64{0, 0x1000, 0x10000} {
			m[testPageOffset+pa] = pg
		}
		u := newUserMemory(value.New(nil, m), testPageOffset+0x1000, testPageOffset, 4+int(levels%2), 0)
		if pa, err := u.Translate(v); err == nil && pa>>52 != 0 {
			t.Fatalf("physical address %#x beyond 52 bits", pa)
		}
		buf := make([]byte, 64)
		_ = u.ReadAt(buf, v)
	})
}
