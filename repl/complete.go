package repl

import (
	"sort"
	"strings"
)

// maxCompletions bounds the candidates offered for one Tab.
const maxCompletions = 200

// Complete returns the completions of the word before the end of line and
// that word's length in bytes: command names for the first word, the
// command's options after '-', then symbol or type names as the command's
// ArgKind says.
func (s *Session) Complete(line string) ([]string, int) {
	// Complete only the part after the last '|' or ';' boundary that is
	// ours: after '|' the shell's words follow.
	if i := strings.LastIndexByte(line, ';'); i >= 0 {
		line = line[i+1:]
	}
	if strings.ContainsAny(line, "|>") {
		return nil, 0
	}
	words := strings.Fields(line)
	word := ""
	if len(words) > 0 && !strings.HasSuffix(line, " ") && !strings.HasSuffix(line, "\t") {
		word = words[len(words)-1]
		words = words[:len(words)-1]
	}
	if len(words) == 0 {
		cands := withPrefix(names(), word)
		if len(cands) == 1 {
			cands[0] += " "
		}
		return cands, len(word)
	}
	cmd := Lookup(words[0])
	if cmd == nil {
		return nil, len(word)
	}
	if strings.HasPrefix(word, "-") {
		return withPrefix(cmd.Options, word), len(word)
	}
	operands := 0
	for _, w := range words[1:] {
		if !strings.HasPrefix(w, "-") {
			operands++
		}
	}
	switch cmd.Args {
	case ArgCommand:
		var all []string
		all = append(all, names()...)
		for n := range planned {
			all = append(all, n)
		}
		sort.Strings(all)
		return withPrefix(all, word), len(word)
	case ArgType:
		if operands == 0 {
			if s.Names == nil {
				return nil, len(word)
			}
			// struct task_struct.comm: complete the type part only.
			if strings.Contains(word, ".") {
				return nil, len(word)
			}
			return s.Names.TypeNames(word, maxCompletions), len(word)
		}
		fallthrough
	case ArgSymbol:
		if s.Names == nil || strings.HasPrefix(word, "(") {
			return nil, len(word)
		}
		return s.Names.SymbolNames(word, maxCompletions), len(word)
	}
	return nil, len(word)
}

func withPrefix(all []string, prefix string) []string {
	var out []string
	seen := map[string]bool{}
	for _, n := range all {
		if strings.HasPrefix(n, prefix) && !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out
}

// WarmCompletion builds the completion lists in the background, so that
// the first Tab on a symbol or type name does not wait for the vmlinux's
// whole DWARF to be read (about 5 s for a distribution kernel).
func (s *Session) WarmCompletion() {
	if s.Names == nil {
		return
	}
	go func() {
		s.Names.SymbolNames("", 0)
		s.Names.TypeNames("", 0)
	}()
}
