// Package all registers every architecture this module implements with
// package arch, for programs that open dumps of any machine.
package all

import (
	// x86_64.
	_ "github.com/vmcoretools/vmcore/arch/amd64"
)
