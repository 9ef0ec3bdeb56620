//go:build !(linux || darwin || freebsd || netbsd || openbsd)

package dwarfsym

import (
	"errors"
	"os"
)

// mapFile is unavailable here; sections are then read into memory.
func mapFile(f *os.File, size int64) ([]byte, func() error, error) {
	return nil, nil, errors.New("mmap not supported on this system")
}
