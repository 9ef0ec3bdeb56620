//go:build linux || darwin || freebsd || netbsd || openbsd

package dwarfsym

import (
	"os"
	"syscall"
)

// mapFile maps f read-only, so that a vmlinux of hundreds of megabytes costs
// only the pages a question touches, shared with the page cache.
func mapFile(f *os.File, size int64) ([]byte, func() error, error) {
	if size <= 0 || int64(int(size)) != size {
		return nil, nil, syscall.EINVAL
	}
	data, err := syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, nil, err
	}
	return data, func() error { return syscall.Munmap(data) }, nil
}
