// Package physmem holds what every dump-format reader shares: the error
// vocabulary for physical memory that a dump does not hold, and the Reader
// interface that the kernel views read through.
//
// A crash dump rarely holds all of memory. makedumpfile excludes pages by dump
// level, a hole between RAM ranges is simply absent, an interrupted capture
// leaves pages that were never written, and an address may lie past the last
// page of RAM. Tools that read kernel structures must tell these apart: an
// excluded free page is expected, a lost page means the dump is incomplete.
// The format packages (elfcore, kdumpfmt) return *Error values whose Kind says
// which case applies, and callers test them with errors.Is against the
// sentinels ErrExcluded, ErrNotInDump, ErrLost and ErrBeyondEnd.
package physmem
