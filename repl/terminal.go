//go:build !plan9 && !js && !wasip1

package repl

import (
	"errors"
	"os"
	"strings"

	"github.com/chzyer/readline"
)

// terminalReader wraps github.com/chzyer/readline. It saves the terminal's
// settings when opened and puts them back on Close, because readline can
// leave the terminal in raw mode when it is closed while reading (see the
// README section on the REPL).
type terminalReader struct {
	rl    *readline.Instance
	fd    int
	saved *readline.State
}

// NewTerminalReader opens line editing on the process's terminal.
func NewTerminalReader(cfg TerminalConfig) (LineReader, error) {
	t := &terminalReader{fd: int(os.Stdin.Fd())}
	if st, err := readline.GetState(t.fd); err == nil {
		t.saved = st
	}
	rc := &readline.Config{
		Prompt:                 cfg.Prompt,
		HistoryFile:            cfg.HistoryFile,
		HistoryLimit:           1000,
		HistorySearchFold:      true,
		DisableAutoSaveHistory: false,
		InterruptPrompt:        "^C",
		EOFPrompt:              "\n",
	}
	if cfg.Complete != nil {
		rc.AutoComplete = completerFunc(cfg.Complete)
	}
	rl, err := readline.NewEx(rc)
	if err != nil {
		return nil, err
	}
	t.rl = rl
	return t, nil
}

func (t *terminalReader) ReadLine() (string, error) {
	line, err := t.rl.Readline()
	switch {
	case errors.Is(err, readline.ErrInterrupt):
		return "", ErrInterrupt
	case err != nil:
		return "", err
	}
	return line, nil
}

// Close puts the terminal back first, so that it is restored even if
// readline's own Close blocks.
func (t *terminalReader) Close() error {
	if t.saved != nil {
		readline.Restore(t.fd, t.saved)
	}
	err := t.rl.Close()
	if t.saved != nil {
		readline.Restore(t.fd, t.saved)
	}
	return err
}

// completerFunc adapts a completion function to readline.AutoCompleter,
// which wants the remaining runes of each candidate.
type completerFunc func(line string) ([]string, int)

func (f completerFunc) Do(line []rune, pos int) ([][]rune, int) {
	cands, n := f(string(line[:pos]))
	word := string(line[:pos])
	word = word[len(word)-n:]
	out := make([][]rune, 0, len(cands))
	for _, c := range cands {
		if strings.HasPrefix(c, word) {
			out = append(out, []rune(c[len(word):]))
		}
	}
	return out, len([]rune(word))
}
