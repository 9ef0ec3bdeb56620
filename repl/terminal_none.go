//go:build plan9 || js || wasip1

package repl

import (
	"fmt"
	"runtime"
)

// NewTerminalReader is not available here: the terminal library has no
// port to this system. Scripts (NewScriptReader) work.
func NewTerminalReader(cfg TerminalConfig) (LineReader, error) {
	return nil, fmt.Errorf("repl: no terminal line editing on %s; give commands with -c or on stdin", runtime.GOOS)
}
