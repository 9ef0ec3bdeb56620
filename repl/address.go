package repl

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/vmcoretools/vmcore/value"
)

// parseAddress reads an address argument as crash does: hexadecimal with or
// without 0x, a symbol, symbol+offset, or a parenthesised expression of numbers, symbols
// and C operators, e.g. `(init_task + 0x100)`.
func (s *Session) parseAddress(arg string) (uint64, error) {
	if strings.HasPrefix(arg, "(") {
		return s.evalExpr(arg)
	}
	if v, ok := parseHex(arg); ok {
		return v, nil
	}
	if a, ok := s.Symbols.LookupSymbol(arg); ok {
		return a, nil
	}
	if name, off, ok := strings.Cut(arg, "+"); ok {
		if a, found := s.Symbols.LookupSymbol(name); found {
			n, err := strconv.ParseUint(off, 0, 64)
			if err != nil {
				return 0, fmt.Errorf("invalid offset in %s", arg)
			}
			return a + n, nil
		}
	}
	if !s.hasTypes() {
		return 0, fmt.Errorf("symbol not found: %s (without a vmlinux, and without the kernel's kallsyms and BTF in the dump, only the symbols in VMCOREINFO are known)", arg)
	}
	return 0, fmt.Errorf("symbol not found: %s", arg)
}

// parseHex accepts crash's hexadecimal: optional 0x, hex digits only.
func parseHex(s string) (uint64, bool) {
	t := strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X")
	if t == "" || len(t) > 16 {
		return 0, false
	}
	v, err := strconv.ParseUint(t, 16, 64)
	return v, err == nil
}

// parseCount reads a count: decimal, or hex with 0x.
func parseCount(s string) (int64, error) {
	v, err := strconv.ParseInt(s, 0, 64)
	if err != nil {
		return 0, fmt.Errorf("invalid count: %s", s)
	}
	return v, nil
}

// exprParser evaluates the expressions crash accepts in parentheses:
// unsigned 64-bit arithmetic with C precedence.
type exprParser struct {
	s    *Session
	toks []string
	pos  int
}

// maxExprTokens bounds the work done on one expression.
const maxExprTokens = 256

func (s *Session) evalExpr(text string) (uint64, error) {
	toks, err := lexExpr(text)
	if err != nil {
		return 0, err
	}
	p := &exprParser{s: s, toks: toks}
	v, err := p.binary(0)
	if err != nil {
		return 0, err
	}
	if p.pos != len(p.toks) {
		return 0, fmt.Errorf("invalid expression %s: unexpected %q", text, p.toks[p.pos])
	}
	return v, nil
}

func lexExpr(text string) ([]string, error) {
	var toks []string
	for i := 0; i < len(text); {
		ch := text[i]
		switch {
		case ch == ' ' || ch == '\t':
			i++
		case isIdentByte(ch):
			j := i
			for j < len(text) && isIdentByte(text[j]) {
				j++
			}
			toks = append(toks, text[i:j])
			i = j
		case strings.HasPrefix(text[i:], "<<") || strings.HasPrefix(text[i:], ">>"):
			toks = append(toks, text[i:i+2])
			i += 2
		case strings.IndexByte("+-*/%&|^~()", ch) >= 0:
			toks = append(toks, text[i:i+1])
			i++
		default:
			return nil, fmt.Errorf("invalid expression %s: unexpected %q", text, ch)
		}
		if len(toks) > maxExprTokens {
			return nil, errors.New("expression too long")
		}
	}
	return toks, nil
}

func isIdentByte(ch byte) bool {
	return ch == '_' || ch == '.' || ch >= '0' && ch <= '9' || ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z'
}

var precedence = map[string]int{
	"|": 1, "^": 2, "&": 3, "<<": 4, ">>": 4, "+": 5, "-": 5, "*": 6, "/": 6, "%": 6,
}

func (p *exprParser) binary(minPrec int) (uint64, error) {
	left, err := p.unary(0)
	if err != nil {
		return 0, err
	}
	for p.pos < len(p.toks) {
		op := p.toks[p.pos]
		prec, ok := precedence[op]
		if !ok || prec <= minPrec {
			break
		}
		p.pos++
		right, err := p.binary(prec)
		if err != nil {
			return 0, err
		}
		switch op {
		case "|":
			left |= right
		case "^":
			left ^= right
		case "&":
			left &= right
		case "<<":
			left <<= right
		case ">>":
			left >>= right
		case "+":
			left += right
		case "-":
			left -= right
		case "*":
			left *= right
		case "/", "%":
			if right == 0 {
				return 0, errors.New("division by zero")
			}
			if op == "/" {
				left /= right
			} else {
				left %= right
			}
		}
	}
	return left, nil
}

func (p *exprParser) unary(depth int) (uint64, error) {
	if depth > maxExprTokens {
		return 0, errors.New("expression nested too deeply")
	}
	if p.pos >= len(p.toks) {
		return 0, errors.New("incomplete expression")
	}
	t := p.toks[p.pos]
	p.pos++
	switch t {
	case "-":
		v, err := p.unary(depth + 1)
		return -v, err
	case "~":
		v, err := p.unary(depth + 1)
		return ^v, err
	case "+":
		return p.unary(depth + 1)
	case "(":
		v, err := p.binary(0)
		if err != nil {
			return 0, err
		}
		if p.pos >= len(p.toks) || p.toks[p.pos] != ")" {
			return 0, errors.New("missing ')' in expression")
		}
		p.pos++
		return v, nil
	}
	if !isIdentByte(t[0]) {
		return 0, fmt.Errorf("unexpected %q in expression", t)
	}
	return p.s.exprTerm(t)
}

// exprTerm is a number or a symbol. Numbers with 0x are hexadecimal,
// all-digit numbers decimal; a word is a symbol if one has that name,
// else hexadecimal if it can be.
func (s *Session) exprTerm(t string) (uint64, error) {
	if strings.HasPrefix(t, "0x") || strings.HasPrefix(t, "0X") {
		if v, ok := parseHex(t); ok {
			return v, nil
		}
		return 0, fmt.Errorf("invalid number %s", t)
	}
	if t[0] >= '0' && t[0] <= '9' {
		if v, err := strconv.ParseUint(t, 10, 64); err == nil {
			return v, nil
		}
		if v, ok := parseHex(t); ok {
			return v, nil
		}
		return 0, fmt.Errorf("invalid number %s", t)
	}
	if a, ok := s.Symbols.LookupSymbol(t); ok {
		return a, nil
	}
	if v, ok := parseHex(t); ok {
		return v, nil
	}
	return 0, fmt.Errorf("symbol not found: %s", t)
}

// objectAddrs resolves an address argument of struct, union and p:
// hexadecimal, a symbol, an expression, or a per-CPU symbol with :N or :a.
// For a per-CPU symbol it also returns the CPU of each address.
func (s *Session) objectAddrs(vals *value.Context, arg string) ([]uint64, []int, error) {
	name, cpuSpec, hasCPU := strings.Cut(arg, ":")
	if !hasCPU {
		a, err := s.parseAddress(arg)
		return []uint64{a}, nil, err
	}
	cpus, err := s.cpuList(cpuSpec)
	if err != nil {
		return nil, nil, err
	}
	var out []uint64
	for _, cpu := range cpus {
		v, err := vals.PerCPU(name, cpu)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, v.Addr)
	}
	return out, cpus, nil
}

// cpuList reads crash's cpuspec: N, N-M, N,M, or a for all CPUs.
func (s *Session) cpuList(spec string) ([]int, error) {
	n := s.Dump.NumCPUs()
	if spec == "a" || spec == "all" {
		out := make([]int, n)
		for i := range out {
			out[i] = i
		}
		return out, nil
	}
	var out []int
	for _, part := range strings.Split(spec, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		b := a
		if err == nil && isRange {
			b, err = strconv.Atoi(hi)
		}
		if err != nil || a < 0 || b < a || b >= n {
			return nil, fmt.Errorf("invalid cpu specification: %s (the dump has %d CPUs)", spec, n)
		}
		for i := a; i <= b; i++ {
			out = append(out, i)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("empty cpu specification")
	}
	return out, nil
}
