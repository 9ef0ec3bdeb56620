package walk

import (
	"fmt"
	"iter"

	"github.com/vmcoretools/vmcore/value"
)

// Chain follows a chain of pointers through raw memory, as crash's list
// command does: the pointer at each element's address plus linkOff leads to
// the next element. It yields first, then each element reached, and stops
// at a NULL pointer or at one of ends (not yielded: the head of a ring, or
// where the caller asked to stop). An element met twice otherwise stops the
// walk with ErrCycle; more than Max elements, with ErrLimit. Pointers are
// ptrSize bytes (8 on 64-bit kernels).
//
// For a ring of list_heads, first is a list_head's address, linkOff 0 (or
// the offset of prev for the reverse order), and ends holds the head.
func Chain(c *value.Context, first uint64, linkOff int64, ptrSize int64, ends []uint64, opts ...Option) iter.Seq2[uint64, error] {
	return func(yield func(uint64, error) bool) {
		w := newWalker(c, "chain", first, opts)
		isEnd := func(a uint64) bool {
			for _, e := range ends {
				if a == e {
					return true
				}
			}
			return false
		}
		cur := first
		for n := 0; cur != 0 && !(n > 0 && isEnd(cur)); n++ {
			if err := w.visit(cur, fmt.Sprintf("element %d", n)); err != nil {
				yield(0, err)
				return
			}
			if err := w.count(cur, fmt.Sprintf("element %d", n)); err != nil {
				yield(0, err)
				return
			}
			// The link is read before the element is yielded: every
			// element yielded is readable there.
			next, err := w.readWord(cur+uint64(linkOff), ptrSize, fmt.Sprintf("the link of element %d", n))
			if err != nil {
				yield(0, err)
				return
			}
			if !yield(cur, nil) {
				return
			}
			cur = next
		}
	}
}
