//go:build !linux

package kdumpfmt

import "io"

// nextData cannot tell holes from data here.
func nextData(r io.ReaderAt, off, size int64) (int64, bool) { return 0, false }
