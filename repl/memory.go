package repl

import (
	"errors"
	"fmt"
	"math/bits"

	"github.com/vmcoretools/vmcore/arch"
	"github.com/vmcoretools/vmcore/physmem"
	"github.com/vmcoretools/vmcore/vmcore"
)

// addrSpace is the kind of address a command reads at.
type addrSpace int

const (
	kernelVirtual addrSpace = iota
	physical
)

func (a addrSpace) crashName() string {
	if a == physical {
		return "PHYSADDR"
	}
	return "KVADDR"
}

func (a addrSpace) longName() string {
	if a == physical {
		return "physical address"
	}
	return "kernel virtual address"
}

// read fills p from the address space.
func (s *Session) read(space addrSpace, p []byte, addr uint64) error {
	var err error
	if space == physical {
		_, err = s.Dump.ReadPhys(p, addr)
		if errors.Is(err, physmem.ErrNotInDump) {
			// crash words a hole in the dump by how its reader failed:
			// a compressed dump's seek, an ELF dump's read.
			err = &holeError{err: err, seek: s.Dump.Format() != vmcore.FormatELF}
		}
	} else {
		_, err = s.ReadVirt(p, addr)
	}
	return err
}

// holeError is a physical read of an address the dump does not hold.
type holeError struct {
	err  error
	seek bool // the dump is makedumpfile's format, where crash's seek fails
}

func (e *holeError) Error() string { return e.err.Error() }
func (e *holeError) Unwrap() error { return e.err }

// readError words a failed read as crash does, e.g.
// `invalid kernel virtual address: ffffffff00000000  type: "64-bit KVADDR"`,
// adding why the dump lacks the memory when crash would not say.
func readError(space addrSpace, addr uint64, what string, err error) error {
	var pe *physmem.Error
	var he *holeError
	switch {
	case errors.As(err, &he) && he.seek:
		return fmt.Errorf("seek error: %s: %x  type: %q", space.longName(), addr, what)
	case errors.As(err, &he):
		return fmt.Errorf("read error: %s: %x  type: %q", space.longName(), addr, what)
	case errors.Is(err, arch.ErrNotMapped) || errors.Is(err, arch.ErrInvalidAddress):
		return fmt.Errorf("invalid %s: %x  type: %q", space.longName(), addr, what)
	case errors.Is(err, physmem.ErrExcluded):
		return fmt.Errorf("page excluded: %s: %x  type: %q", space.longName(), addr, what)
	case errors.As(err, &pe):
		return fmt.Errorf("read error: %s: %x  type: %q (%s)", space.longName(), addr, what, pe.Kind)
	}
	return fmt.Errorf("read error: %s: %x  type: %q (%v)", space.longName(), addr, what, err)
}

// pageShift is log2 of the dump's page size (ptob, btop).
func (s *Session) pageShift() (uint, error) {
	n := s.Dump.PageSize()
	if n <= 0 || n&(n-1) != 0 {
		return 0, fmt.Errorf("the page size %d is not a power of two", n)
	}
	return uint(bits.TrailingZeros(uint(n))), nil
}
