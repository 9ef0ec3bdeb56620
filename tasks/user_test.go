package tasks

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"

	"github.com/vmcoretools/vmcore/arch"
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

// testPGD is the top table the fake machine's walks accept.
const testPGD = 0xffff888000001000

// fakeUser is a toy machine for user memory: a table of user pages and
// the physical pages that hold them, read through a direct map at
// testPageOffset. The page-table walk itself is the architecture's, and
// tested there.
type fakeUser map[uint64]uint64

func (fakeUser) UserAddr(v uint64) bool { return v < 1<<47 }

func (f fakeUser) UserWalk(root, v uint64) (uint64, uint64, error) {
	if root != testPGD {
		return 0, 0, fmt.Errorf("page table %#x: %w", root, arch.ErrNotMapped)
	}
	pa, ok := f[v&^0xfff]
	if !ok {
		return 0, 0, fmt.Errorf("%#x: %w", v, arch.ErrNotMapped)
	}
	return pa | v&0xfff, 4096, nil
}

func (fakeUser) PhysToDirect(pa uint64) (uint64, bool) { return testPageOffset + pa, pa < 1<<40 }
func (fakeUser) PageSize() uint64                      { return 4096 }

// userSpace maps two consecutive user pages at 0x7ffd00000000 and the
// next one (physical 0x10000 and 0x11000); the second page's data is not
// in the dump.
func userSpace() (pageMem, fakeUser, uint64) {
	m := pageMem{}
	data := make([]byte, 4096)
	copy(data[0xff0:], "/bin/sh\x00-c\x00\x00\x00")
	m[testPageOffset+0x10000] = data
	return m, fakeUser{0x7ffd00000000: 0x10000, 0x7ffd00001000: 0x11000}, testPGD
}

func TestUserMemoryRead(t *testing.T) {
	m, sp, pgd := userSpace()
	u := &UserMemory{c: value.New(nil, m), sp: sp, pgd: pgd}
	if pa, err := u.Translate(0x7ffd00000ff0); err != nil || pa != 0x10ff0 {
		t.Fatalf("Translate = %#x, %v; want 0x10ff0", pa, err)
	}
	if _, err := u.Translate(0x1000); !errors.Is(err, arch.ErrNotMapped) {
		t.Fatalf("an unmapped address: %v", err)
	}
	if _, err := u.Translate(0xffff888000000000); !errors.Is(err, arch.ErrInvalidAddress) {
		t.Fatalf("a kernel address translated as a user one: %v", err)
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
	if _, _, err := Args(value.New(nil, pageMem{}), fakeUser{}, &Task{}); !errors.Is(err, ErrNoMM) {
		t.Fatalf("Args of a task without mm: %v, want ErrNoMM", err)
	}
}

// FuzzUserRead reads any span of a user address space: every read ends,
// filled or with a *UserFault inside the span, never a panic.
func FuzzUserRead(f *testing.F) {
	f.Add(uint64(0x7ffd00000ff0), uint16(32))
	f.Add(uint64(1<<47-8), uint16(64))
	f.Add(^uint64(0)-3, uint16(9))
	f.Fuzz(func(t *testing.T, v uint64, n uint16) {
		m, sp, pgd := userSpace()
		u := &UserMemory{c: value.New(nil, m), sp: sp, pgd: pgd}
		err := u.ReadAt(make([]byte, n), v)
		var uf *UserFault
		if err != nil && (!errors.As(err, &uf) || uf.Addr < v || uf.Addr-v >= uint64(n)) {
			t.Fatalf("ReadAt(%#x, %d): %v", v, n, err)
		}
	})
}
