package repl

import (
	"errors"
	"fmt"
	"strings"
)

// Line is one command line taken apart as crash does: the command and its
// arguments, then optionally a shell pipeline after '|' or an output file
// after '>' or '>>'.
type Line struct {
	Args     []string
	Pipe     string // the shell pipeline after '|', run by /bin/sh -c
	Redirect string // the file after '>' or '>>'
	Append   bool   // '>>'
}

// maxLineLen bounds a command line; longer input is refused rather than
// tokenised (a script with a runaway line, or binary data on stdin).
const maxLineLen = 1 << 16

// ParseLine splits a command line. Quotes ('...' and "...") group words;
// double quotes are removed and single quotes kept, as crash does; a parenthesised expression such as `(jiffies + 0x10)` is one
// argument, kept with its parentheses. '|' and '>' inside quotes or
// parentheses are plain characters, and so is the '>' of C's "->".
func ParseLine(s string) (*Line, error) {
	if len(s) > maxLineLen {
		return nil, fmt.Errorf("line too long (%d bytes, at most %d)", len(s), maxLineLen)
	}
	l := &Line{}
	var (
		word   strings.Builder
		inWord bool
		quote  byte
		depth  int
	)
	flush := func() {
		if inWord {
			l.Args = append(l.Args, word.String())
			word.Reset()
			inWord = false
		}
	}
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case quote != 0:
			if ch != quote || ch == '\'' {
				word.WriteByte(ch)
			}
			if ch == quote {
				quote = 0
			}
		case ch == '\'' || ch == '"':
			// Both group words; single quotes stay in the argument, as
			// crash keeps them: ps 'lab.*' and foreach 'x' take a regular
			// expression, and p 'a' a character.
			quote = ch
			inWord = true
			if ch == '\'' {
				word.WriteByte(ch)
			}
		case ch == '(':
			depth++
			word.WriteByte(ch)
			inWord = true
		case ch == ')':
			if depth == 0 {
				return nil, errors.New("unbalanced ')'")
			}
			depth--
			word.WriteByte(ch)
		case depth > 0:
			word.WriteByte(ch)
		case ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n':
			flush()
		case ch == '|':
			flush()
			l.Pipe = strings.TrimSpace(s[i+1:])
			if l.Pipe == "" {
				return nil, errors.New("nothing after '|'")
			}
			return l, nil
		case ch == '>' && i > 0 && s[i-1] == '-':
			// C's -> is not a redirection (crash's rule too).
			word.WriteByte(ch)
			inWord = true
		case ch == '>':
			flush()
			rest := s[i+1:]
			if strings.HasPrefix(rest, ">") {
				l.Append = true
				rest = rest[1:]
			}
			name, err := redirectTarget(rest)
			if err != nil {
				return nil, err
			}
			l.Redirect = name
			return l, nil
		default:
			word.WriteByte(ch)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated %c quote", quote)
	}
	if depth > 0 {
		return nil, errors.New("unbalanced '('")
	}
	flush()
	return l, nil
}

// redirectTarget reads the single file name after '>' or '>>'.
func redirectTarget(s string) (string, error) {
	sub, err := ParseLine(s)
	if err != nil {
		return "", err
	}
	switch {
	case sub.Pipe != "" || sub.Redirect != "":
		return "", errors.New("only one of '|', '>' and '>>' per command")
	case len(sub.Args) == 0:
		return "", errors.New("no file name after '>'")
	case len(sub.Args) > 1:
		return "", fmt.Errorf("more than one file name after '>': %q", strings.Join(sub.Args, " "))
	}
	name := sub.Args[0]
	if len(name) >= 2 && name[0] == '\'' && name[len(name)-1] == '\'' {
		name = name[1 : len(name)-1] // a quoted file name is the name inside
	}
	return name, nil
}

// SplitCommands splits `-c` text at the semicolons that are outside quotes
// and parentheses, and drops empty commands.
func SplitCommands(s string) []string {
	var (
		out   []string
		start int
		quote byte
		depth int
	)
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case quote != 0:
			if ch == quote {
				quote = 0
			}
		case ch == '\'' || ch == '"':
			quote = ch
		case ch == '(':
			depth++
		case ch == ')' && depth > 0:
			depth--
		case ch == ';' && depth == 0:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	out = append(out, s[start:])
	cmds := out[:0]
	for _, c := range out {
		if c = strings.TrimSpace(c); c != "" {
			cmds = append(cmds, c)
		}
	}
	return cmds
}
