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
		// binutils pads the mnemonic to six columns and a space, even
		// with no operand; the one-byte nop alone is not padded.
		{[]byte{0xf3, 0x0f, 0x1e, 0xfa, 0x90}, pc, "endbr64 ", 4},
		{[]byte{0x0f, 0x01, 0xcb}, pc + 4, "stac   ", 3},
		{[]byte{0x0f, 0x01, 0xca}, pc + 4, "clac   ", 3},
		{[]byte{0x90}, pc, "nop", 1},
		{[]byte{0x66, 0x90}, pc, "xchg   %ax,%ax", 2},
		{[]byte{0x0f, 0x1f, 0x44, 0x00, 0x00}, pc, "nopl   0x0(%rax,%rax,1) [FTRACE NOP]", 5},
		{[]byte{0x0f, 0x1f, 0x44, 0x00, 0x00}, pc + 8, "nopl   0x0(%rax,%rax,1)", 5},
		// call rel32 to func_b+16: target = pc+5+0x10b.
		{[]byte{0xe8, 0x0b, 0x01, 0x00, 0x00}, pc, "call   0xffffffff81000110 <func_b+16>", 5},
		{[]byte{0x74, 0x05}, pc + 0x100, "je     0xffffffff81000107 <func_b+7>", 2},
		{[]byte{0x55}, pc, "push   %rbp", 1},
		{[]byte{0xc3}, pc, "ret    ", 1},
		{[]byte{0x65, 0x48, 0x8b, 0x1c, 0x25, 0x80, 0xfb, 0x01, 0x00}, pc, "mov    %gs:0x1fb80,%rbx", 9},
		{[]byte{0x0f, 0xff}, pc, "(bad)  ", 1},
		// A sign-extended 32-bit immediate of a 64-bit operation is
		// shown as the 64-bit value, as gdb does.
		{[]byte{0x48, 0xc7, 0xc7, 0xb9, 0x97, 0x16, 0x91}, pc, "mov    $0xffffffff911697b9,%rdi", 7},
		{[]byte{0x48, 0x83, 0xf8, 0xff}, pc, "cmp    $0xffffffffffffffff,%rax", 4},
		{[]byte{0x83, 0xe0, 0xfc}, pc, "and    $0xfffffffc,%eax", 3},
		{[]byte{0x6a, 0xda}, pc, "push   $0xffffffffffffffda", 2},
		{[]byte{0x49, 0xb8, 0xff, 0xfe, 0xfe, 0xfe, 0xfe, 0xfe, 0xfe, 0xfe}, pc, "movabs $0xfefefefefefefeff,%r8", 10},
		// An encoded zero displacement is shown; SIB without an index
		// shows none for %r12, %riz elsewhere; the scale is explicit.
		{[]byte{0x48, 0x8b, 0x45, 0x00}, pc, "mov    0x0(%rbp),%rax", 4},
		{[]byte{0x49, 0x8b, 0x84, 0x24, 0x88, 0x08, 0x00, 0x00}, pc, "mov    0x888(%r12),%rax", 8},
		{[]byte{0x8d, 0x74, 0x26, 0x00}, pc, "lea    0x0(%rsi,%riz,1),%esi", 4},
		{[]byte{0x48, 0x8b, 0x4c, 0x05, 0x00}, pc, "mov    0x0(%rbp,%rax,1),%rcx", 5},
		{[]byte{0xf0, 0x41, 0x80, 0x65, 0x00, 0xf7}, pc, "lock andb $0xf7,0x0(%r13)", 6},
		{[]byte{0x48, 0x98}, pc, "cltq   ", 2},
		// ud1 with REX.W, which the decoder lacks (Linux 7.x's WARN
		// trap), after an address-size prefix and alone; without REX.W.
		{[]byte{0x67, 0x48, 0x0f, 0xb9, 0x3a, 0xc3}, pc, "ud1    (%edx),%rdi", 5},
		{[]byte{0x48, 0x0f, 0xb9, 0x3a}, pc, "ud1    (%rdx),%rdi", 4},
		{[]byte{0x0f, 0xb9, 0x3a}, pc, "ud1    (%rdx),%edi", 3},
		{[]byte{0x0f, 0x01, 0xc8}, pc, "monitor %rax,%ecx,%edx", 3},
		{[]byte{0x0f, 0x01, 0xc9}, pc, "mwait  %eax,%ecx", 3},
		{[]byte{0x48, 0x0f, 0x07}, pc, "sysretq ", 3},
		{[]byte{0xf3, 0xab}, pc, "rep stos %eax,%es:(%rdi)", 2},
		{[]byte{0xf3, 0x48, 0xa5}, pc, "rep movsq %ds:(%rsi),%es:(%rdi)", 3},
		// A rip-relative operand is followed by the address it names.
		{[]byte{0x48, 0x8b, 0x05, 0xf9, 0x00, 0x00, 0x00}, pc, "mov    0xf9(%rip),%rax        # 0xffffffff81000100 <func_b>", 7},
		// A per-CPU offset (below the kernel) gets no symbol.
		{[]byte{0x65, 0xff, 0x05, 0x39, 0xfb, 0x01, 0x7f}, pc, "incl   %gs:0x7f01fb39(%rip)        # 0x1fb40", 7},
	} {
		got, n := s.disassemble(tc.code, tc.pc)
		if got != tc.want || n != tc.n {
			t.Errorf("% x at %#x: %q (%d bytes), want %q (%d)", tc.code, tc.pc, got, n, tc.want, tc.n)
		}
	}
}
