package physmem

import (
	"errors"
	"fmt"
)

// Kind says why a physical address could not be read.
type Kind int

const (
	// NotInDump: the address lies in a hole of the dump's memory map (no
	// segment or bitmap bit covers it).
	NotInDump Kind = iota + 1
	// Excluded: the page was RAM but the dump level filtered it out
	// (zero, cache, user data or free pages).
	Excluded
	// Lost: the dump is incomplete and this page's data was never written.
	Lost
	// BeyondEnd: the address is past the end of the dumped memory.
	BeyondEnd
)

func (k Kind) String() string {
	switch k {
	case NotInDump:
		return "not in the dump"
	case Excluded:
		return "excluded by the dump level"
	case Lost:
		return "lost (incomplete dump)"
	case BeyondEnd:
		return "beyond the end of memory"
	}
	return fmt.Sprintf("physmem.Kind(%d)", int(k))
}

// Sentinels for errors.Is. An *Error matches the sentinel of its Kind.
var (
	ErrNotInDump = errors.New("not in the dump")
	ErrExcluded  = errors.New("excluded by the dump level")
	ErrLost      = errors.New("lost (incomplete dump)")
	ErrBeyondEnd = errors.New("beyond the end of memory")
)

// Error reports a physical address that the dump cannot supply.
type Error struct {
	Addr uint64 // first physical address that could not be read
	Kind Kind
}

func (e *Error) Error() string {
	return fmt.Sprintf("physical address %#x: %s", e.Addr, e.Kind)
}

// Is lets errors.Is match an *Error against the sentinel of its Kind.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrNotInDump:
		return e.Kind == NotInDump
	case ErrExcluded:
		return e.Kind == Excluded
	case ErrLost:
		return e.Kind == Lost
	case ErrBeyondEnd:
		return e.Kind == BeyondEnd
	}
	return false
}

// Reader reads physical memory. ReadAt follows io.ReaderAt: it reads
// len(p) bytes at physical address off and returns n < len(p) only with a
// non-nil error, which for missing memory is an *Error naming the first
// address it could not supply. Implementations are safe for concurrent use.
type Reader interface {
	ReadAt(p []byte, off int64) (n int, err error)
}
