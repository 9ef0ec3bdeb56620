package kbtf

import "fmt"

// MaxSize bounds the BTF blob read from a dump: the kernel's is a few MB
// (4.5 MB for Debian's 6.12 cloud kernel).
const MaxSize = 256 << 20

// NotFoundError is a name the BTF does not have.
type NotFoundError struct {
	What, Name string
}

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("kbtf: no %s %q in the kernel's BTF", e.What, e.Name)
}
