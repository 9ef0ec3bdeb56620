//go:build !linux

package dwarfsym

// dropPages is a no-op here: only Linux's madvise is used.
func dropPages(b []byte) {}
