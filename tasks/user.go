package tasks

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/vmcoretools/vmcore/arch"
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

// UserSpaces is what reading a process's memory needs of the machine: the
// walk of its page tables and the kernel's direct map of physical memory
// (arch.KernelSpace has it).
type UserSpaces interface {
	// UserAddr reports an address below the top of user space.
	UserAddr(vaddr uint64) bool
	// UserWalk walks a process's page tables (root: mm->pgd) for vaddr.
	UserWalk(root, vaddr uint64) (paddr, size uint64, err error)
	// PhysToDirect is the direct-map address of a physical one.
	PhysToDirect(paddr uint64) (uint64, bool)
	// PageSize is the base page size.
	PageSize() uint64
}

// UserMemory reads a process's user address space through its own page
// tables (mm->pgd), as crash's uvtop does: the dump is not in that
// process's context, so each user page is found by walking its tables,
// and read through the kernel's direct map of physical memory.
type UserMemory struct {
	c   *value.Context
	sp  UserSpaces
	pgd uint64 // kernel virtual address of the top table
}

// NewUserMemory prepares reads of the address space of mm (a struct
// mm_struct address) on the machine sp.
func NewUserMemory(c *value.Context, sp UserSpaces, mm uint64) (*UserMemory, error) {
	if mm == 0 {
		return nil, ErrNoMM
	}
	mv, err := c.At("struct mm_struct", mm)
	if err != nil {
		return nil, err
	}
	pgd, err := mv.Member("pgd")
	if err != nil {
		return nil, err
	}
	u := &UserMemory{c: c, sp: sp}
	if u.pgd, err = pgd.Uint(); err != nil {
		return nil, err
	}
	if u.pgd == 0 {
		return nil, fmt.Errorf("mm_struct %#x has no page table (pgd is NULL)", mm)
	}
	return u, nil
}

// PGD is the kernel virtual address of the process's top page table.
func (u *UserMemory) PGD() uint64 { return u.pgd }

// Translate returns the physical address of user virtual address v.
func (u *UserMemory) Translate(v uint64) (uint64, error) {
	if !u.sp.UserAddr(v) {
		return 0, fmt.Errorf("%#x is not a user address: %w", v, arch.ErrInvalidAddress)
	}
	pa, _, err := u.sp.UserWalk(u.pgd, v)
	return pa, err
}

// ReadAt fills p from user address v, a page at a time; the error is a
// *UserFault naming the start of the piece that could not be read.
func (u *UserMemory) ReadAt(p []byte, v uint64) error {
	ps := u.sp.PageSize()
	for len(p) > 0 {
		n := min(uint64(len(p)), ps-v%ps)
		pa, err := u.Translate(v)
		if err == nil {
			if d, ok := u.sp.PhysToDirect(pa); ok {
				err = u.c.Read(p[:n], d, "user memory")
			} else {
				err = fmt.Errorf("physical address %#x is outside the direct map: %w", pa, arch.ErrNotMapped)
			}
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
func Args(c *value.Context, sp UserSpaces, t *Task) (args, env []byte, err error) {
	if t.MM == 0 {
		return nil, nil, ErrNoMM
	}
	u, err := NewUserMemory(c, sp, t.MM)
	if err != nil {
		return nil, nil, err
	}
	mv, err := c.At("struct mm_struct", t.MM)
	if err != nil {
		return nil, nil, err
	}
	var v [4]uint64
	for i, m := range []string{"arg_start", "arg_end", "env_start", "env_end"} {
		f, err := mv.Member(m)
		if err == nil {
			v[i], err = f.Uint()
		}
		if err != nil {
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
