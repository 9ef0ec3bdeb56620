package repl

import (
	"bufio"
	"errors"
	"io"
)

// LineReader yields command lines. ReadLine returns io.EOF at the end of
// input (Ctrl-D on a terminal) and ErrInterrupt when Ctrl-C cleared the
// line being edited.
type LineReader interface {
	ReadLine() (string, error)
	Close() error
}

// ErrInterrupt is returned by ReadLine for Ctrl-C at the prompt.
var ErrInterrupt = errors.New("interrupted")

// scriptReader reads lines without a prompt: a non-terminal stdin, -i FILE.
type scriptReader struct{ sc *bufio.Scanner }

// NewScriptReader reads commands from r, one a line, with no prompt and no
// echo, as `crash -s vmlinux vmcore < cmds` does.
func NewScriptReader(r io.Reader) LineReader {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxLineLen)
	return &scriptReader{sc: sc}
}

func (s *scriptReader) ReadLine() (string, error) {
	if s.sc.Scan() {
		return s.sc.Text(), nil
	}
	if err := s.sc.Err(); err != nil {
		return "", err
	}
	return "", io.EOF
}

func (s *scriptReader) Close() error { return nil }

// TerminalConfig configures the interactive reader.
type TerminalConfig struct {
	Prompt      string
	HistoryFile string // "" keeps no history
	// Complete returns the candidates for the word before the cursor and
	// how many bytes of the line that word spans.
	Complete func(line string) (candidates []string, wordLen int)
}
