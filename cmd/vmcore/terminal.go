//go:build !plan9 && !js && !wasip1

package main

import (
	"os"
	"os/signal"
	"syscall"

	"github.com/chzyer/readline"
)

// watchTermination delivers the number of a SIGTERM or SIGHUP; stop
// ends the watch.
func watchTermination() (<-chan int, func()) {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGHUP)
	out := make(chan int, 1)
	done := make(chan struct{})
	go func() {
		select {
		case s := <-sigs:
			out <- int(s.(syscall.Signal))
		case <-done:
			close(out)
		}
	}()
	return out, func() { signal.Stop(sigs); close(done) }
}

func isTerminal(f *os.File) bool { return readline.IsTerminal(int(f.Fd())) }
