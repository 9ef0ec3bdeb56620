package dwarfsym

import (
	"syscall"
	"unsafe"
)

// dropPages unmaps the whole pages inside b, part of a read-only file
// mapping: they leave the process's resident set but stay in the page
// cache, and a later access maps them again.
func dropPages(b []byte) {
	if len(b) == 0 {
		return
	}
	page := syscall.Getpagesize()
	skip := (page - int(uintptr(unsafe.Pointer(&b[0]))%uintptr(page))) % page
	if skip >= len(b) {
		return
	}
	b = b[skip:]
	n := len(b) / page * page
	if n == 0 {
		return
	}
	syscall.Madvise(b[:n], syscall.MADV_DONTNEED)
}
