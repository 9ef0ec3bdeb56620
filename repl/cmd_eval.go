package repl

import (
	"fmt"
	"io"
	"strconv"
	"strings"
)

func init() {
	register(&Command{
		Name:    "eval",
		Usage:   "[-b][-l] (expression) | value",
		Summary: "evaluate",
		Help: `Evaluates an expression of two values and one operator (+ - & | * / %
<< >> ^, and # for a power), or a single value, and prints the result in
hexadecimal (with its size in KB, MB or GB when it is a whole number of
them), decimal (and signed, when negative), octal and binary, as crash does.
A value is a symbol, a decimal number, a hexadecimal one (with or without
0x), with an optional k, m or g multiplier (4k = 4096). As in crash, a
parenthesised expression is evaluated alone, and what follows it ignored;
| is the pipe to a shell command unless inside parentheses.

   -b  also list the bits set.
   -l  64-bit arithmetic on a 32-bit machine (no effect on 64-bit ones).`,
		Options: []string{"-b", "-l"},
		Args:    ArgSymbol,
		Run:     runEval,
	})
}

func runEval(c *Context, args []string) error {
	bits := false
	// crash reads the flags by hand, not with getopt: "-5" is a number.
	for len(args) > 1 {
		switch args[0] {
		case "-b", "-l", "-bl", "-lb":
			bits = bits || strings.Contains(args[0], "b")
			args = args[1:]
			continue
		}
		break
	}
	if len(args) == 0 {
		return usagef("")
	}
	expr := ""
	for _, a := range args {
		if strings.HasPrefix(a, "(") {
			// crash evaluates the first parenthesised argument by itself.
			expr = a
			break
		}
		expr += a + " "
	}
	if !strings.HasPrefix(expr, "(") {
		expr = "(" + strings.TrimSpace(expr) + ")"
	}
	v, ok := crashEval(expr, c.Session.lookupValue)
	if !ok {
		return fmt.Errorf("invalid expression: %s", expr)
	}
	writeNumber(c.Out, v, bits)
	return nil
}

// lookupValue is a symbol's address, for crash's eval.
func (s *Session) lookupValue(name string) (uint64, bool) {
	if s.Symbols == nil {
		return 0, false
	}
	return s.Symbols.LookupSymbol(name)
}

// crashEval evaluates an expression as crash's eval_common does: one pair
// of parentheses around everything or none; then a single value, or two
// values around the first operator character found. A leading minus
// subtracts from 0.
func crashEval(s string, symbol func(string) (uint64, bool)) (uint64, bool) {
	work := s
	if strings.ContainsAny(s, "()") {
		if !strings.HasPrefix(s, "(") || !strings.HasSuffix(s, ")") || strings.Index(s, ")") != len(s)-1 {
			return 0, false
		}
		work = s[1 : len(s)-1]
		if strings.ContainsAny(work, "()") {
			return 0, false
		}
	}
	if strings.HasPrefix(work, "-") {
		work = "0" + work
	}
	i := strings.IndexAny(work, "#><+-&|*/%^")
	if i < 0 {
		return crashValue(work, symbol)
	}
	op, rest := work[i:i+1], work[i+1:]
	if op == "<" || op == ">" {
		if !strings.HasPrefix(rest, op) {
			return 0, false
		}
		op, rest = op+op, rest[1:]
	}
	left, right := strings.TrimSpace(work[:i]), strings.TrimSpace(rest)
	if left == "" || right == "" {
		return 0, false
	}
	a, ok := crashValue(left, symbol)
	if !ok {
		return 0, false
	}
	b, ok := crashValue(right, symbol)
	if !ok {
		return 0, false
	}
	switch op {
	case "+":
		return a + b, true
	case "-":
		return a - b, true
	case "&":
		return a & b, true
	case "|":
		return a | b, true
	case "*":
		return a * b, true
	case "/", "%":
		if b == 0 {
			return 0, false // crash would divide by zero; refuse instead
		}
		if op == "/" {
			return a / b, true
		}
		return a % b, true
	case "<<":
		return a << b, true
	case ">>":
		return a >> b, true
	case "^":
		return a ^ b, true
	case "#":
		p := uint64(1)
		for ; b > 0; b-- {
			p *= a
		}
		return p, true
	}
	return 0, false
}

// crashValue is crash's calculate: a symbol, or a number (decimal when it
// has only decimal digits, else hexadecimal, 0x optional) with an optional
// k, m or g multiplier; ~ complements it.
func crashValue(s string, symbol func(string) (uint64, bool)) (uint64, bool) {
	s = strings.TrimSpace(s)
	complement := strings.HasPrefix(s, "~")
	s = strings.TrimPrefix(s, "~")
	fin := func(v uint64) (uint64, bool) {
		if complement {
			v = ^v
		}
		return v, true
	}
	if v, ok := symbol(s); ok {
		return fin(v)
	}
	factor := uint64(1)
	if n := len(s); n > 1 {
		switch s[n-1] {
		case 'k', 'K':
			factor, s = 1<<10, s[:n-1]
		case 'm', 'M':
			factor, s = 1<<20, s[:n-1]
		case 'g', 'G':
			factor, s = 1<<30, s[:n-1]
		}
	}
	digits := strings.ReplaceAll(s, " ", "")
	if digits == "" {
		return 0, false
	}
	if v, err := strconv.ParseUint(digits, 10, 64); err == nil {
		return fin(v * factor)
	}
	if v, ok := parseHex(digits); ok {
		return fin(v * factor)
	}
	return 0, false
}

// writeNumber prints a value as crash's eval does.
func writeNumber(w io.Writer, v uint64, bits bool) {
	fmt.Fprintf(w, "hexadecimal: %x  ", v)
	if v >= 1<<10 {
		switch {
		case v%(1<<30) == 0:
			fmt.Fprintf(w, "(%dGB)", v>>30)
		case v%(1<<20) == 0:
			fmt.Fprintf(w, "(%dMB)", v>>20)
		case v%(1<<10) == 0:
			fmt.Fprintf(w, "(%dKB)", v>>10)
		}
	}
	fmt.Fprintf(w, "\n    decimal: %d  ", v)
	if int64(v) < 0 {
		fmt.Fprintf(w, "(%d)", int64(v))
	}
	fmt.Fprintf(w, "\n      octal: %o\n     binary: %064b\n", v, v)
	if !bits {
		return
	}
	const hdr = "   bits set: "
	fmt.Fprint(w, hdr)
	col := len(hdr)
	for i := 63; i >= 0; i-- {
		if v&(1<<i) == 0 {
			continue
		}
		n, _ := fmt.Fprintf(w, "%d ", i)
		if col += n; col >= 77 {
			fmt.Fprint(w, "\n"+strings.Repeat(" ", len(hdr)))
			col = len(hdr)
		}
	}
	fmt.Fprintln(w)
}
