//go:build plan9 || js || wasip1

package main

import "os"

// isTerminal: without the terminal library, nothing is taken for a
// terminal (no prompt, no progress line).
func isTerminal(f *os.File) bool { return false }

// watchTermination: no terminal to restore here.
func watchTermination() (<-chan int, func()) {
	c := make(chan int)
	return c, func() { close(c) }
}
