//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package hostile

import "os"

// maxRSS is not known here (0: no memory limit is checked).
func maxRSS(ps *os.ProcessState) int64 { return 0 }
