package repl

import "testing"

// fakeSymbols names two functions for the disassembler's symbolic output.
type fakeSymbols map[string]uint64

func (f fakeSymbols) LookupSymbol(name string) (uint64, bool) { a, ok := f[name]; return a, ok }

func (f fakeSymbols) SymbolAt(addr uint64) (string, uint64, bool) {
	best, bestAddr := "", uint64(0)
	for n, a := range f {
		if a <= addr && a >= bestAddr {
			best, bestAddr = n, a
		}
	}
	return best, addr - bestAddr, best != ""
}

func TestDisassemble(t *testing.T) {
	s := &Session{Symbols: fakeSymbols{"func_a": 0xffffffff81000000, "func_b": 0xffffffff81000100}}
	const pc = 0xffffffff81000000
	for _, tc := range []struct {
		code []byte
		pc   uint64
		want string
		n    int
	}{
		{[]byte{0xf3, 0x0f, 0x1e, 0xfa, 0x90}, pc, "endbr64", 4},
		{[]byte{0x0f, 0x01, 0xcb}, pc + 4, "stac", 3},
		{[]byte{0x0f, 0x01, 0xca}, pc + 4, "clac", 3},
		{[]byte{0x0f, 0x1f, 0x44, 0x00, 0x00}, pc, "nopl   0x0(%rax,%rax,1) [FTRACE NOP]", 5},
		{[]byte{0x0f, 0x1f, 0x44, 0x00, 0x00}, pc + 8, "nopl   0x0(%rax,%rax,1)", 5},
		// call rel32 to func_b+16: target = pc+5+0x10b.
		{[]byte{0xe8, 0x0b, 0x01, 0x00, 0x00}, pc, "call   0xffffffff81000110 <func_b+16>", 5},
		{[]byte{0x74, 0x05}, pc + 0x100, "je     0xffffffff81000107 <func_b+7>", 2},
		{[]byte{0x55}, pc, "push   %rbp", 1},
		{[]byte{0xc3}, pc, "ret", 1},
		{[]byte{0x65, 0x48, 0x8b, 0x1c, 0x25, 0x80, 0xfb, 0x01, 0x00}, pc, "mov    %gs:0x1fb80,%rbx", 9},
		{[]byte{0x0f, 0xff}, pc, "(bad)", 1},
	} {
		got, n := s.disassemble(tc.code, tc.pc)
		if got != tc.want || n != tc.n {
			t.Errorf("% x at %#x: %q (%d bytes), want %q (%d)", tc.code, tc.pc, got, n, tc.want, tc.n)
		}
	}
}
