package physmem

import (
	"errors"
	"fmt"
	"testing"
)

func TestErrorIs(t *testing.T) {
	kinds := map[Kind]error{NotInDump: ErrNotInDump, Excluded: ErrExcluded, Lost: ErrLost, BeyondEnd: ErrBeyondEnd}
	for k, sentinel := range kinds {
		err := fmt.Errorf("reading task: %w", &Error{Addr: 0x1000, Kind: k})
		for k2, s2 := range kinds {
			if got := errors.Is(err, s2); got != (k == k2) {
				t.Errorf("errors.Is(%v, %v) = %v", k, k2, got)
			}
		}
		var e *Error
		if !errors.As(err, &e) || e.Addr != 0x1000 {
			t.Errorf("errors.As failed for %v", k)
		}
		if e.Error() != "physical address 0x1000: "+sentinel.Error() {
			t.Errorf("message %q", e.Error())
		}
	}
}
