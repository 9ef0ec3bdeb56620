package kdumpfmt

import (
	"os"
	"path/filepath"
	"testing"
)

// TestNextData: the data after an offset of a sparse file skips its
// hole, so that Stats counts a hole of descriptors at once.
func TestNextData(t *testing.T) {
	p := filepath.Join(t.TempDir(), "sparse")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(make([]byte, 4096), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte{1}, 1<<30); err != nil {
		t.Fatal(err)
	}
	size := int64(1<<30 + 1)
	got, ok := nextData(f, 8192, size)
	if !ok {
		t.Skip("the file system does not report holes (SEEK_DATA)")
	}
	if got <= 8192 || got > 1<<30 {
		t.Errorf("nextData(8192) = %d, want the block at 1 GiB", got)
	}
	if got, ok := nextData(f, 0, size); !ok || got != 0 {
		t.Errorf("nextData(0) = %d, %v", got, ok)
	}
}
