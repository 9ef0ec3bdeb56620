//go:build !unix

package kdumpfmt

import "time"

func processCPUTime() time.Duration { return 0 }
