package repl

import (
	"fmt"

	"github.com/vmcoretools/vmcore/dwarfsym"
	"github.com/vmcoretools/vmcore/vmcore"
)

// OpenSession opens a dump (the files of one dump: several for a split
// set) and, when vmlinux is not "", its debuginfo vmlinux, and returns a
// session that owns them: Close closes them. A vmlinux that cannot be
// opened is an error here (the binary goes on without one instead).
func OpenSession(vmlinux string, dumpFiles ...string) (*Session, error) {
	d, err := vmcore.Open(dumpFiles...)
	if err != nil {
		return nil, err
	}
	if vmlinux == "" {
		s := NewSession(d, "", nil, nil)
		s.closers = append(s.closers, d.Close)
		return s, nil
	}
	f, err := dwarfsym.Open(vmlinux)
	if err != nil {
		d.Close()
		return nil, fmt.Errorf("%s: %w", vmlinux, err)
	}
	s, err := NewKernelSession(d, vmlinux, f, vmcore.KernelOptions{})
	if err != nil {
		f.Close()
		d.Close()
		return nil, err
	}
	s.closers = append(s.closers, f.Close, d.Close)
	return s, nil
}

// Close releases what the session holds: the kernel model's caches (task
// table, tracer, symbol tables), and the vmlinux and dump files when the
// session opened them (OpenSession). A session made by NewSession or
// NewKernelSession leaves the files to whoever opened them. The session
// must not be used after Close; a second Close does nothing.
func (s *Session) Close() error {
	var first error
	if s.Kernel != nil {
		if err := s.Kernel.Close(); err != nil && first == nil {
			first = err
		}
	}
	for _, c := range s.closers {
		if err := c(); err != nil && first == nil {
			first = err
		}
	}
	*s = Session{closed: true}
	return first
}
