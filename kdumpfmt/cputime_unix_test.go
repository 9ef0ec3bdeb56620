//go:build unix

package kdumpfmt

import (
	"syscall"
	"time"
)

// processCPUTime is the user+system CPU time of this process. Benchmarks
// report it per operation because this machine is shared: wall time per
// page rises with other processes' load, CPU time much less.
func processCPUTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
