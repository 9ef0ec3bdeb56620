package tasks

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/vmcoretools/vmcore/value"
)

// ErrNoMM is returned for a task without an address space (a kernel
// thread): it has no user memory, arguments or environment.
var ErrNoMM = errors.New("no user address space")

// UserFault says a user address could not be read: its page is not
// mapped, or the dump does not hold it (makedumpfile -d 8 and above drop
// user pages). Addr is the first address of the piece that failed, as
// crash names it.
type UserFault struct {
	Addr uint64
	Err  error
}

func (e *UserFault) Error() string {
	return fmt.Sprintf("cannot access user address %#x: %v", e.Addr, e.Err)
}

func (e *UserFault) Unwrap() error { return e.Err }

// maxArgBytes bounds the argument and environment areas read: the kernel
// caps them with the stack rlimit, and a corrupt mm must not make a
// huge buffer.
const maxArgBytes = 8 << 20

// x86-64 page-table entry bits.
const (
	ptePresent  = 1 << 0
	ptePSE      = 1 << 7
	pteAddrMask = 0x000ffffffffff000
	pageSize    = 4096
)

// UserMemory reads a process's user address space through its own page
// tables (mm->pgd), as crash's uvtop does: the dump is not in that
// process's context, so each user page is found by walking its tables,
// and read through the kernel's direct map of physical memory.
type UserMemory struct {
	c          *value.Context
	bo         binary.ByteOrder
	pgd        uint64 // kernel virtual address of the top table
	pageOffset uint64 // page_offset_base: the direct map
	levels     int
	smeMask    uint64
}

// NewUserMemory prepares reads of the address space of mm (a struct
// mm_struct address).
func NewUserMemory(c *value.Context, mm uint64) (*UserMemory, error) {
	if mm == 0 {
		return nil, ErrNoMM
	}
	off, _, err := offsetOf(c.Types, "struct mm_struct", "pgd")
	if err != nil {
		return nil, err
	}
	u := newUserMemory(c, 0, 0xffff888000000000, 4, 0)
	if u.pgd, err = u.u64(mm+uint64(off), "mm_struct.pgd"); err != nil {
		return nil, err
	}
	if v, err := c.Var("page_offset_base"); err == nil {
		if b, err := v.Uint(); err == nil && b != 0 {
			u.pageOffset = b
		}
	}
	if v, err := c.Var("__pgtable_l5_enabled"); err == nil {
		if on, err := v.Uint(); err == nil && on != 0 {
			u.levels = 5
		}
	}
	if v, err := c.Var("sme_me_mask"); err == nil {
		u.smeMask, _ = v.Uint()
	}
	return u, nil
}

// newUserMemory walks the tables whose top is at kernel virtual address
// pgd, reading physical memory through the direct map at pageOffset.
func newUserMemory(c *value.Context, pgd, pageOffset uint64, levels int, sme uint64) *UserMemory {
	u := &UserMemory{c: c, bo: binary.LittleEndian, pgd: pgd, pageOffset: pageOffset, levels: levels, smeMask: sme}
	if c.ByteOrder != nil {
		u.bo = c.ByteOrder
	}
	return u
}

func (u *UserMemory) u64(addr uint64, what string) (uint64, error) {
	var b [8]byte
	if err := u.c.Read(b[:], addr, what); err != nil {
		return 0, err
	}
	return u.bo.Uint64(b[:]), nil
}

// Translate returns the physical address of user virtual address v.
func (u *UserMemory) Translate(v uint64) (uint64, error) {
	if v>>47 != 0 && u.levels == 4 || v>>56 != 0 {
		return 0, fmt.Errorf("%#x is not a user address", v)
	}
	table := u.pgd // the top table is read by its kernel virtual address
	for lvl := 5 - u.levels; lvl < 5; lvl++ {
		shift := uint(12 + 9*(4-lvl))
		ent, err := u.u64(table+8*((v>>shift)&511), "user page table")
		if err != nil {
			return 0, err
		}
		if ent&ptePresent == 0 {
			return 0, fmt.Errorf("%#x is not mapped", v)
		}
		next := ent &^ u.smeMask & pteAddrMask
		if lvl == 4 || (lvl == 2 || lvl == 3) && ent&ptePSE != 0 {
			size := uint64(1) << shift
			return next&^(size-1) | v&(size-1), nil
		}
		table = u.pageOffset + next
	}
	return 0, errors.New("page walk did not end") // not reached
}

// ReadAt fills p from user address v, a page at a time; the error is a
// *UserFault naming the start of the piece that could not be read.
func (u *UserMemory) ReadAt(p []byte, v uint64) error {
	for len(p) > 0 {
		n := min(uint64(len(p)), pageSize-v%pageSize)
		pa, err := u.Translate(v)
		if err == nil {
			err = u.c.Read(p[:n], u.pageOffset+pa, "user memory")
		}
		if err != nil {
			return &UserFault{Addr: v, Err: err}
		}
		p, v = p[n:], v+n
	}
	return nil
}

// Args returns the raw argument and environment areas of t's process
// (mm->arg_start..arg_end and env_start..env_end: NUL-separated strings),
// read from its user memory. A kernel thread gives ErrNoMM; an area the
// dump lacks gives a *UserFault (args may then be set and env not).
func Args(c *value.Context, t *Task) (args, env []byte, err error) {
	if t.MM == 0 {
		return nil, nil, ErrNoMM
	}
	var offs [4]int64
	for i, m := range []string{"arg_start", "arg_end", "env_start", "env_end"} {
		if offs[i], _, err = offsetOf(c.Types, "struct mm_struct", m); err != nil {
			return nil, nil, err
		}
	}
	u, err := NewUserMemory(c, t.MM)
	if err != nil {
		return nil, nil, err
	}
	var v [4]uint64
	for i, off := range offs {
		if v[i], err = u.u64(t.MM+uint64(off), "mm_struct"); err != nil {
			return nil, nil, err
		}
	}
	area := func(start, end uint64) ([]byte, error) {
		if end < start || end-start > maxArgBytes {
			return nil, fmt.Errorf("implausible user area %#x-%#x", start, end)
		}
		b := make([]byte, end-start)
		return b, u.ReadAt(b, start)
	}
	if args, err = area(v[0], v[1]); err != nil {
		return nil, nil, err
	}
	env, err = area(v[2], v[3])
	return args, env, err
}

// Rlimit is one resource limit; RlimInfinity means unlimited.
type Rlimit struct{ Cur, Max uint64 }

// RlimInfinity is RLIM_INFINITY on 64-bit kernels.
const RlimInfinity = ^uint64(0)

// Rlimits returns the resource limits of t's thread group
// (signal->rlim[], RLIMIT_CPU first), as many as the kernel has.
func Rlimits(c *value.Context, t *Task) ([]Rlimit, error) {
	if t.Signal == 0 {
		return nil, fmt.Errorf("task %#x has no signal_struct", t.Addr)
	}
	sig, err := c.At("struct signal_struct", t.Signal)
	if err != nil {
		return nil, err
	}
	rl, err := sig.Member("rlim")
	if err != nil {
		return nil, err
	}
	b, err := rl.Bytes()
	if err != nil {
		return nil, err
	}
	bo := binary.ByteOrder(binary.LittleEndian)
	if c.ByteOrder != nil {
		bo = c.ByteOrder
	}
	out := make([]Rlimit, 0, len(b)/16)
	for i := 0; i+16 <= len(b); i += 16 {
		out = append(out, Rlimit{bo.Uint64(b[i:]), bo.Uint64(b[i+8:])})
	}
	return out, nil
}
