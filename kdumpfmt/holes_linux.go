package kdumpfmt

import (
	"io"
	"os"
	"syscall"
)

// seekData is SEEK_DATA: the next offset at or after off that holds
// data rather than a hole.
const seekData = 3

// nextData returns the first offset at or after off where r (an *os.File)
// holds data, and true; false when it cannot tell (another reader, or a
// file system without SEEK_DATA). At the end of the data it returns the
// file's size.
func nextData(r io.ReaderAt, off, size int64) (int64, bool) {
	f, ok := r.(*os.File)
	if !ok {
		return 0, false
	}
	n, err := syscall.Seek(int(f.Fd()), off, seekData)
	if err == syscall.ENXIO {
		return size, true // no data after off
	}
	if err != nil {
		return 0, false
	}
	return n, true
}
