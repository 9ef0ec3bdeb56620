package dwarfsym

import "testing"

// TestSetProgress: a scan of the names reports how far it has gone, in
// bytes of .debug_info, ending at the whole section for a full index.
func TestSetProgress(t *testing.T) {
	f := openTiny(t)
	var last, total int64
	calls := 0
	f.SetProgress(func(d, n int64) { calls++; last, total = d, n })
	if err := f.IndexAll(); err != nil {
		t.Fatal(err)
	}
	if calls == 0 || total == 0 || last != total {
		t.Errorf("%d calls, last %d of %d", calls, last, total)
	}
	f.SetProgress(nil)
}
