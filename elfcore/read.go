package elfcore

import (
	"errors"
	"fmt"
	"io"

	"github.com/vmcoretools/vmcore/physmem"
)

var _ physmem.Reader = (*File)(nil)

// ReadAt reads len(p) bytes of physical memory starting at physical address
// off. Bytes a segment declares beyond its p_filesz read as zeros. It stops
// at the first byte it cannot supply and returns how many bytes it read with
// a *physmem.Error: NotInDump for a hole between segments, BeyondEnd past
// the last segment, Lost for data the file should hold but that is cut off.
// Reads may span segments. ReadAt does not allocate unless it fails.
func (f *File) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("elfcore: negative physical address %d", off)
	}
	if len(p) == 0 {
		return 0, nil
	}
	addr := uint64(off)
	spans := f.spans
	// First span whose end lies past addr.
	lo, hi := 0, len(spans)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if spans[m].end <= addr {
			lo = m + 1
		} else {
			hi = m
		}
	}
	n := 0
	for i := lo; n < len(p); i++ {
		if i == len(spans) {
			return n, &physmem.Error{Addr: addr, Kind: physmem.BeyondEnd}
		}
		s := &spans[i]
		if addr < s.start {
			return n, &physmem.Error{Addr: addr, Kind: physmem.NotInDump}
		}
		for addr < s.end && n < len(p) {
			want := uint64(len(p) - n)
			switch {
			case addr < s.avail:
				k := min(want, s.avail-addr)
				fileOff := int64(s.offset + (addr - s.base))
				m, err := f.r.ReadAt(p[n:n+int(k)], fileOff)
				n += m
				addr += uint64(m)
				if m < int(k) {
					if err == nil || errors.Is(err, io.EOF) { // file shrank after NewFile
						return n, &physmem.Error{Addr: addr, Kind: physmem.Lost}
					}
					return n, fmt.Errorf("elfcore: reading physical address %#x at file offset %#x: %w", addr, fileOff+int64(m), err)
				}
			case addr < s.stored:
				return n, &physmem.Error{Addr: addr, Kind: physmem.Lost}
			default:
				k := min(want, s.end-addr)
				clear(p[n : n+int(k)])
				n += int(k)
				addr += k
			}
		}
	}
	return n, nil
}
