package repl

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/vmcoretools/vmcore/ktype"
	"golang.org/x/arch/x86/x86asm"
)

func init() {
	register(&Command{
		Name:    "dis",
		Usage:   "[-lr] [address | symbol | (expression)] [count]",
		Summary: "disassemble",
		Help: `Disassembles kernel text read from the dump, in AT&T syntax as crash
8.0.6 (gdb 10) prints it: "0xADDR <symbol+offset>:<TAB>mnemonic operands",
immediates as unsigned values of the operation's size, rip-relative
operands followed by "# address <symbol>". A function's name, or the
address of its first byte, without a count disassembles the whole
function; another address or an expression, one instruction; a count,
that many. Addresses are named from crash's symbol table (GCC's .isra and
.part suffixes dropped). endbr64, stac, clac, monitor and mwait are
decoded by hand, and the 5-byte nop at a function's entry is marked
[FTRACE NOP].

   -l  print the source file and line before each instruction whose line
       differs from the previous one's.
   -r  disassemble from the start of the function up to the address (and
       the instruction holding it).`,
		Options:      []string{"-l", "-r"},
		Args:         ArgSymbol,
		NeedsVMLinux: true,
		FromBTF:      true,
		Run:          runDis,
	})
}

// maxDisBytes bounds one dis command's read of kernel text.
const maxDisBytes = 1 << 20

func runDis(c *Context, args []string) error {
	opts, rest, err := getopt(args, "lrudsx", "b")
	if err != nil {
		return err
	}
	var lines, reverse bool
	for _, o := range opts {
		switch o.name {
		case "l":
			lines = true
		case "r":
			reverse = true
		case "u":
			return fmt.Errorf("-u: user text needs a task context, which is not available yet")
		}
	}
	if len(rest) == 0 || len(rest) > 2 {
		return usagef("need an address or a symbol, and at most a count")
	}
	if lines && c.Session.Debug == nil {
		return errors.New("-l needs the debuginfo vmlinux: source lines come from its line tables, which the kernel's memory does not hold")
	}
	if lines && reverse {
		return fmt.Errorf("-l and -r cannot be combined here")
	}
	s := c.Session
	arg := rest[0]
	table := s.crashSymbols()
	// As crash: a text symbol's name, or the address of a function's
	// first byte, disassembles the whole function; any other address or
	// expression one instruction; a count that many.
	wholeFunction := false
	var addr uint64
	switch {
	case strings.ContainsAny(arg, "()+-*/&|<>^%~"):
		if addr, err = s.parseAddress(arg); err != nil {
			return err
		}
	case isHexAddress(arg) && len(s.info().LookupAll(arg)) == 0:
		addr, _ = parseHex(arg)
		if sym, off, ok := table.search(addr); ok && off == 0 && sym.isText() {
			wholeFunction = true
		}
	default:
		syms := s.info().LookupAll(arg)
		if len(syms) == 0 {
			fmt.Fprintf(c.Out, "symbol not found: %s\npossible alternatives:\n", arg)
			if s.querySymbols(c.Out, arg, "  ") == 0 {
				fmt.Fprintf(c.Out, "  (none found)\n")
			}
			return nil
		}
		addr = syms[0].Addr
		wholeFunction = crashSymbol{Symbol: syms[0]}.isText()
	}
	count := 0
	if len(rest) == 2 {
		n, err := strconv.ParseUint(rest[1], 0, 32)
		if err != nil || n == 0 {
			return fmt.Errorf("invalid count argument: %s", rest[1])
		}
		count, wholeFunction = int(n), false
	}
	// end bounds the instructions printed: the function's end, or for
	// -r the target, after which one more instruction is printed when the
	// target falls inside one (as crash's x/i loop does).
	var end uint64
	switch {
	case reverse:
		_, off, ok := table.search(addr)
		if !ok {
			return fmt.Errorf("cannot resolve address: %x", addr)
		}
		end, addr = addr, addr-off
		count = 0
	case wholeFunction:
		end = s.functionEnd(addr)
	case count == 0:
		count = 1
	}
	size := 16 * count
	if end != 0 {
		size = int(end-addr) + 16
	}
	size = min(size, maxDisBytes)
	code := make([]byte, size)
	n, err := s.ReadVirt(code, addr)
	if n == 0 && err != nil {
		return readError(kernelVirtual, addr, "dis", err)
	}
	code = code[:n]
	pc := addr
	lastLine := ""
	for i := 0; len(code) > 0; i++ {
		if count > 0 && i >= count || wholeFunction && pc >= end {
			break
		}
		if err := c.Stopped(); err != nil {
			return err
		}
		text, length := s.disassemble(code, pc)
		if lines {
			// As crash: the source position when it changes.
			if l := s.sourceLine(pc); l != lastLine {
				fmt.Fprintln(c.Out, l)
				lastLine = l
			}
		}
		fmt.Fprintf(c.Out, "0x%x %s:\t%s\n", pc, s.disSymbolic(pc), text)
		if reverse && pc >= end {
			break
		}
		code = code[length:]
		pc += uint64(length)
	}
	return nil
}

// isHexAddress tells crash's hexadecimal: digits and a-f, 0x allowed.
func isHexAddress(s string) bool {
	_, ok := parseHex(s)
	return ok
}

// functionEnd is where crash stops disassembling the function at addr:
// the end of the function gdb finds around it (get_text_function_range):
// the nearest sized symbol that covers it (an asm label such as
// native_irq_return_iret ends with common_interrupt_return), else the next
// symbol.
func (s *Session) functionEnd(addr uint64) uint64 {
	t := s.crashSymbols()
	i := sort.Search(len(t.syms), func(i int) bool { return t.syms[i].Addr > addr })
	end := addr + 1
	if i < len(t.syms) {
		end = t.syms[i].Addr
	}
	for j := i - 1; j >= 0 && i-j <= 64; j-- {
		if sym := t.syms[j]; sym.Size > 0 && addr-sym.Addr < sym.Size {
			end = sym.Addr + sym.Size
			break
		}
	}
	if s.Debug == nil && end-addr > 1 && end-addr <= maxDisBytes {
		// kallsyms has no sizes: the function runs to the next symbol,
		// over the padding that aligns that one. Drop the padding.
		code := make([]byte, end-addr)
		if n, _ := s.ReadVirt(code, addr); n == len(code) {
			end = addr + uint64(codeLength(code))
		}
	}
	return end
}

// opInt3 marks int3 (0xcc) among the decoded instructions.
const opInt3 = x86asm.Op(1<<16 - 1)

// codeLength is how much of code, a function followed by the padding up to
// the next symbol, is the function's: the padding is the compiler's
// alignment nops and the linker's int3 fill, but up to four int3s after a
// return or an indirect jump, and a single one after a direct jump, are
// the function's own.
func codeLength(code []byte) int {
	type insn struct {
		end      int
		op       x86asm.Op
		indirect bool
	}
	var insns []insn
	for off := 0; off < len(code); {
		inst, err := x86asm.Decode(code[off:], 64)
		n, op, indirect := inst.Len, inst.Op, false
		if err != nil || n <= 0 {
			n, op = 1, 0
		} else if op == x86asm.INT && n == 1 {
			op = opInt3
		} else if op == x86asm.JMP {
			_, rel := inst.Args[0].(x86asm.Rel)
			indirect = !rel
		}
		off += n
		insns = append(insns, insn{off, op, indirect})
	}
	i := len(insns)
	for i > 0 {
		switch last := insns[i-1]; {
		case last.op == x86asm.NOP:
			i--
			continue
		case last.op == opInt3:
			// int3s after a return or indirect jump: up to four are
			// the kernel's (a return thunk's 5-byte jmp patched at boot
			// to ret and int3s, or straight-line speculation hardening).
			j := i - 1
			for j > 0 && insns[j-1].op == opInt3 {
				j--
			}
			if j > 0 && (insns[j-1].op == x86asm.RET || insns[j-1].op == x86asm.JMP && insns[j-1].indirect) {
				i = min(i, j+4)
				break
			}
			if j > 0 && insns[j-1].op == x86asm.JMP && i == j+1 {
				// One int3 after a direct jump: the hardening's, after
				// a jump to the return thunk (the linker's fill is
				// longer).
				break
			}
			i = j
			continue
		}
		break
	}
	if i == 0 {
		return len(code)
	}
	return insns[i-1].end
}

// handDecoded are instructions the decoder does not know, matched before
// it runs.
var handDecoded = []struct {
	bytes    []byte
	text     string
	operands string
}{
	{[]byte{0xf3, 0x0f, 0x1e, 0xfa}, "endbr64", ""},
	{[]byte{0xf3, 0x0f, 0x1e, 0xfb}, "endbr32", ""},
	{[]byte{0x0f, 0x01, 0xcb}, "stac", ""},
	{[]byte{0x0f, 0x01, 0xca}, "clac", ""},
	{[]byte{0x0f, 0x01, 0xd0}, "xgetbv", ""},
	{[]byte{0x0f, 0x01, 0xd1}, "xsetbv", ""},
	{[]byte{0x0f, 0x01, 0xf9}, "rdtscp", ""},
	{[]byte{0x0f, 0x01, 0xf8}, "swapgs", ""},
	// The decoder gives monitor and mwait 32-bit and 64-bit implicit
	// operands the wrong way round for binutils' 64-bit output.
	{[]byte{0x0f, 0x01, 0xc8}, "monitor", "%rax,%ecx,%edx"},
	{[]byte{0x0f, 0x01, 0xc9}, "mwait", "%eax,%ecx"},
}

// decodeUD1W decodes ud1 with REX.W (48 0f b9 /r, after any legacy
// prefixes), which the decoder does not know: Linux 7.x's WARN traps with
// 67 48 0f b9 3a, "ud1 (%edx),%rdi" to binutils. It decodes the
// instruction without the REX byte and widens the register operand; any
// other input gives an instruction whose Op is not UD1.
func decodeUD1W(code []byte) (x86asm.Inst, error) {
	k := 0
	for k < len(code) && k < 4 && bytes.IndexByte([]byte{0x66, 0x67, 0xf2, 0xf3, 0x2e, 0x36, 0x3e, 0x26, 0x64, 0x65}, code[k]) >= 0 {
		k++
	}
	if len(code) < k+3 || code[k] != 0x48 || code[k+1] != 0x0f || code[k+2] != 0xb9 {
		return x86asm.Inst{}, nil
	}
	inst, err := x86asm.Decode(append(append([]byte(nil), code[:k]...), code[k+1:]...), 64)
	if err != nil || inst.Op != x86asm.UD1 {
		return x86asm.Inst{}, err
	}
	if r, ok := inst.Args[0].(x86asm.Reg); ok && r >= x86asm.EAX && r <= x86asm.R15L {
		inst.Args[0] = x86asm.RAX + (r - x86asm.EAX)
	}
	inst.Len++
	return inst, nil
}

// gnuMnemonics renames x86asm's GNU mnemonics to the ones gdb 10 (crash
// 8.0.6's) prints.
var gnuMnemonics = map[string]string{
	"callq": "call", "retq": "ret", "leaveq": "leave",
	"cdqe": "cltq", "cqo": "cqto", "cdq": "cltd", "cwde": "cwtl", "cbw": "cbtw", "cwd": "cwtd",
	"pushfq": "pushf", "popfq": "popf", "pushq": "push", "popq": "pop",
	"movsxd": "movslq",
	"lidtl":  "lidt", "lgdtl": "lgdt", "sidtl": "sidt", "sgdtl": "sgdt",
	"lidtq": "lidt", "lgdtq": "lgdt", "sidtq": "sidt", "sgdtq": "sgdt",
	// x86asm names a second 0x66 prefix data32; in 64-bit mode binutils
	// says data16 (data16 nopw %cs:0x0(%rax,%rax,1)).
	"data32": "data16",
}

// gnuPrefixWords are the words GNU syntax writes before a mnemonic.
var gnuPrefixWords = map[string]bool{
	"lock": true, "rep": true, "repz": true, "repnz": true, "repe": true, "repne": true,
	"data16": true, "data32": true, "addr32": true, "notrack": true, "bnd": true,
	"cs": true, "ds": true, "es": true, "fs": true, "gs": true, "ss": true,
	"xacquire": true, "xrelease": true,
}

// stringOps address memory without a ModRM byte: their operands are
// printed as the decoder writes them.
var stringOps = map[x86asm.Op]bool{
	x86asm.MOVSB: true, x86asm.MOVSW: true, x86asm.MOVSD: true, x86asm.MOVSQ: true,
	x86asm.STOSB: true, x86asm.STOSW: true, x86asm.STOSD: true, x86asm.STOSQ: true,
	x86asm.LODSB: true, x86asm.LODSW: true, x86asm.LODSD: true, x86asm.LODSQ: true,
	x86asm.SCASB: true, x86asm.SCASW: true, x86asm.SCASD: true, x86asm.SCASQ: true,
	x86asm.CMPSB: true, x86asm.CMPSW: true, x86asm.CMPSD: true, x86asm.CMPSQ: true,
	x86asm.INSB: true, x86asm.INSW: true, x86asm.INSD: true,
	x86asm.OUTSB: true, x86asm.OUTSW: true, x86asm.OUTSD: true, x86asm.XLATB: true,
}

// gnuLine lays out a mnemonic and its operands as binutils does: the
// mnemonic (with its prefixes) padded to six columns and a space, even
// when no operand follows.
func gnuLine(mnemonic, operands string) string {
	return fmt.Sprintf("%-6s %s", mnemonic, operands)
}

// disassemble decodes one instruction at pc and prints it as crash's gdb
// does (AT&T syntax, binutils' layout).
func (s *Session) disassemble(code []byte, pc uint64) (string, int) {
	for _, h := range handDecoded {
		if bytes.HasPrefix(code, h.bytes) {
			return gnuLine(h.text, h.operands), len(h.bytes)
		}
	}
	inst, err := decodeUD1W(code)
	if inst.Op != x86asm.UD1 {
		inst, err = x86asm.Decode(code, 64)
	}
	if err != nil || inst.Len == 0 {
		return gnuLine("(bad)", ""), 1
	}
	text := x86asm.GNUSyntax(inst, pc, nil)
	if strings.HasPrefix(text, "prefix(") || strings.HasPrefix(text, "op(") || strings.HasPrefix(text, "error:") {
		return gnuLine("(bad)", ""), 1
	}
	if n := inst.Len; inst.Op == x86asm.NOP && n >= 2 && code[n-1] == 0x90 && bytes.Count(code[:n-1], []byte{0x66}) == n-1 {
		// 66 90 is xchg %ax,%ax to binutils, and the 66s before it
		// data16 prefixes (gcc 10's 5-byte nop: 66 66 66 66 90).
		text = strings.Repeat("data16 ", n-2) + "xchg %ax,%ax"
	}
	if inst.Len == 1 && code[0] == 0x90 {
		return "nop", 1 // binutils prints the one-byte nop unpadded
	}
	var words []string
	fields := strings.Fields(text)
	for i, w := range fields {
		if m, ok := gnuMnemonics[w]; ok {
			w = m
		}
		// x86asm calls the REX.W of sysretq unused; binutils does not.
		if w == "rex.W" && i+1 < len(fields) && strings.HasSuffix(fields[i+1], "q") {
			continue
		}
		words = append(words, w)
	}
	operands := ""
	if n := len(words); n > 1 && strings.ContainsAny(words[n-1][:1], "%$*(-0123456789") {
		operands, words = words[n-1], words[:n-1]
	}
	if len(words) == 0 {
		return gnuLine("(bad)", ""), 1
	}
	mnem := words[len(words)-1]
	if mnem == "jmpq" {
		mnem = "jmp"
	}
	enc := parseEncoding(code[:inst.Len])
	if inst.Op == x86asm.MOV && (enc.opcode >= 0xb8 && enc.opcode <= 0xbf && enc.opcodeLen == 1 && inst.DataSize == 64 ||
		enc.opcode >= 0xa0 && enc.opcode <= 0xa3 && enc.opcodeLen == 1) {
		mnem = "movabs"
	}
	words[len(words)-1] = mnem
	comment := ""
	if operands != "" {
		operands, comment = s.gnuOperands(inst, enc, operands, pc)
	}
	if mnem == "nopl" && inst.Len == 5 && bytes.HasPrefix(code, []byte{0x0f, 0x1f, 0x44, 0, 0}) {
		if _, off, ok := s.Symbols.SymbolAt(pc); ok && off == 0 {
			operands += " [FTRACE NOP]"
		}
	}
	return gnuLine(strings.Join(words, " "), operands) + comment, inst.Len
}

// gnuOperands rewrites the decoder's operands where gdb's differ: every
// encoded displacement shown (0x0(%rbp)), explicit index scales, %riz only
// where binutils prints it, immediates as unsigned values of the operand's
// size, symbols after branch targets, and the "# address <symbol>" comment
// of a rip-relative operand.
func (s *Session) gnuOperands(inst x86asm.Inst, enc encoding, operands string, pc uint64) (string, string) {
	ops := splitOperands(operands)
	var args []x86asm.Arg
	for _, a := range inst.Args {
		if a != nil {
			args = append(args, a)
		}
	}
	comment := ""
	if len(ops) == len(args) {
		for i := range ops {
			switch a := args[len(args)-1-i].(type) {
			case x86asm.Mem:
				if stringOps[inst.Op] || !enc.hasModRM {
					continue
				}
				ops[i] = segmentOf(ops[i]) + gnuMem(a, enc)
				if a.Base == x86asm.RIP {
					target := pc + uint64(inst.Len) + uint64(a.Disp)
					comment = fmt.Sprintf("        # %#x", target)
					if s.gdbNamesNothing(target) {
						continue
					}
					if name := s.disSymbolic(target); name != "" {
						comment += " " + name
					}
				}
			case x86asm.Imm:
				ops[i] = gnuImm(inst, a)
			case x86asm.Rel:
				if t, err := strconv.ParseUint(strings.TrimPrefix(ops[i], "0x"), 16, 64); err == nil && strings.HasPrefix(ops[i], "0x") {
					if name := s.disSymbolic(t); name != "" {
						ops[i] += " " + name
					}
				}
			}
		}
	}
	return strings.Join(ops, ","), comment
}

// splitOperands splits at the commas outside parentheses.
func splitOperands(s string) []string {
	var out []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}

// segmentOf returns the segment override ("%gs:") the decoder wrote.
func segmentOf(op string) string {
	op = strings.TrimPrefix(op, "*")
	seg := ""
	for len(op) >= 4 && op[0] == '%' && op[3] == ':' {
		seg += op[:4]
		op = op[4:]
	}
	return seg
}

// gnuMem prints a ModRM memory operand as binutils does.
func gnuMem(m x86asm.Mem, enc encoding) string {
	disp := ""
	switch {
	case m.Base == x86asm.RIP:
		return signedHex(m.Disp) + "(%rip)"
	case m.Base == 0 && m.Index == 0:
		return fmt.Sprintf("%#x", uint64(m.Disp)) // an absolute address
	case enc.dispLen > 0:
		disp = signedHex(m.Disp)
	}
	base := ""
	if m.Base != 0 {
		base = "%" + strings.ToLower(m.Base.String())
	}
	index := ""
	if enc.hasSIB {
		scaleBits := enc.sib >> 6
		if m.Index != 0 || scaleBits != 0 || (m.Base != 0 && enc.sib&7 != 4) {
			name := "%riz"
			if m.Index != 0 {
				name = "%" + strings.ToLower(m.Index.String())
			}
			index = fmt.Sprintf(",%s,%d", name, 1<<scaleBits)
		}
	}
	return disp + "(" + base + index + ")"
}

func signedHex(v int64) string {
	if v < 0 {
		return fmt.Sprintf("-%#x", uint64(-v))
	}
	return fmt.Sprintf("%#x", v)
}

// gnuImm prints an immediate as the unsigned value of the operation's size,
// as binutils does ($0xffffffff911697b9 for a sign-extended 32-bit one).
func gnuImm(inst x86asm.Inst, v x86asm.Imm) string {
	size := inst.DataSize
	if inst.Op == x86asm.PUSH && inst.Mode == 64 {
		size = 64 // pushed sign-extended to the stack's width
	}
	for _, a := range inst.Args {
		switch a := a.(type) {
		case x86asm.Reg:
			size = regBits(a, size)
		case x86asm.Mem:
			if inst.MemBytes > 0 {
				size = inst.MemBytes * 8
			}
		default:
			continue
		}
		break
	}
	u := uint64(v)
	if size > 0 && size < 64 {
		u &= 1<<size - 1
	}
	return fmt.Sprintf("$%#x", u)
}

// regBits is the width of a general register, def for others.
func regBits(r x86asm.Reg, def int) int {
	switch {
	case r >= x86asm.AL && r <= x86asm.R15B:
		return 8
	case r >= x86asm.AX && r <= x86asm.R15W:
		return 16
	case r >= x86asm.EAX && r <= x86asm.R15L:
		return 32
	case r >= x86asm.RAX && r <= x86asm.R15:
		return 64
	}
	return def
}

// encoding is what the decoder does not report of an instruction's bytes:
// where the opcode is and the ModRM, SIB and displacement layout.
type encoding struct {
	opcode    byte // the last opcode byte
	opcodeLen int  // 1, 2 (0f xx) or 3 (0f 38 xx, 0f 3a xx); VEX maps count as 2 or 3
	hasModRM  bool
	modrm     byte
	hasSIB    bool
	sib       byte
	dispLen   int
}

// parseEncoding walks the prefixes and opcode of an x86-64 instruction to
// its ModRM byte. Opcodes without a ModRM byte are listed by their first
// byte; the decoder has validated the instruction already.
func parseEncoding(code []byte) encoding {
	var e encoding
	i := 0
	for i < len(code) {
		switch code[i] {
		case 0x66, 0x67, 0xf0, 0xf2, 0xf3, 0x2e, 0x36, 0x3e, 0x26, 0x64, 0x65:
			i++
			continue
		}
		break
	}
	if i < len(code) && code[i]&0xf0 == 0x40 {
		i++
	}
	if i >= len(code) {
		return e
	}
	switch b := code[i]; {
	case b == 0xc5 && i+2 < len(code):
		e.opcodeLen, i = 2, i+2
	case b == 0xc4 && i+3 < len(code):
		e.opcodeLen, i = int(code[i+1]&0x1f)+1, i+3
	case b == 0x62 && i+4 < len(code):
		e.opcodeLen, i = int(code[i+1]&0x3)+1, i+4
	case b == 0x0f && i+1 < len(code) && (code[i+1] == 0x38 || code[i+1] == 0x3a):
		e.opcodeLen, i = 3, i+2
	case b == 0x0f:
		e.opcodeLen, i = 2, i+1
	default:
		e.opcodeLen = 1
	}
	if i >= len(code) {
		return e
	}
	e.opcode = code[i]
	i++
	e.hasModRM = e.opcodeLen > 1 || oneByteHasModRM(e.opcode)
	if e.opcodeLen == 2 && !twoByteHasModRM(e.opcode) {
		e.hasModRM = false
	}
	if !e.hasModRM || i >= len(code) {
		e.hasModRM = false
		return e
	}
	e.modrm = code[i]
	i++
	mod, rm := e.modrm>>6, e.modrm&7
	if mod != 3 && rm == 4 && i < len(code) {
		e.hasSIB, e.sib = true, code[i]
	}
	switch {
	case mod == 1:
		e.dispLen = 1
	case mod == 2:
		e.dispLen = 4
	case mod == 0 && rm == 5:
		e.dispLen = 4
	case mod == 0 && e.hasSIB && e.sib&7 == 5:
		e.dispLen = 4
	}
	return e
}

// oneByteHasModRM tells the one-byte opcodes followed by a ModRM byte.
func oneByteHasModRM(op byte) bool {
	switch {
	case op < 0x40:
		return op&7 < 4
	case op == 0x62 || op == 0x63 || op == 0x69 || op == 0x6b:
		return true
	case op >= 0x80 && op <= 0x8f:
		return true
	case op >= 0xc0 && op <= 0xc1, op >= 0xc6 && op <= 0xc7:
		return true
	case op >= 0xd0 && op <= 0xd3, op >= 0xd8 && op <= 0xdf:
		return true
	case op == 0xf6 || op == 0xf7 || op == 0xfe || op == 0xff:
		return true
	}
	return false
}

// twoByteHasModRM tells the 0f xx opcodes followed by a ModRM byte.
func twoByteHasModRM(op byte) bool {
	switch {
	case op >= 0x80 && op <= 0x8f: // jcc rel32
		return false
	case op == 0x05, op == 0x06, op == 0x07, op == 0x08, op == 0x09, op == 0x0b, op == 0x0e,
		op == 0x30, op == 0x31, op == 0x32, op == 0x33, op == 0x34, op == 0x35, op == 0x37,
		op == 0x77, op == 0xa0, op == 0xa1, op == 0xa2, op == 0xa8, op == 0xa9, op == 0xaa:
		return false
	case op >= 0xc8 && op <= 0xcf: // bswap
		return false
	}
	return true
}

// gdbNamesNothing tells whether gdb leaves an operand address without a
// symbol, so that crash has none to rewrite: gdb names an address only by
// a symbol of the section it lies in, and drops a zero-size data symbol
// (build_address_symbolic). Linux 7.x's WARN loads the address of its
// bug-table entry, past _edata in __bug_table, whose only symbol is the
// zero-size __start___bug_table: gdb 13 and 16 print the bare address.
//
// Without the vmlinux there are no sections: an address past a linker
// script's bound (_edata), with no kallsyms object before it, is left bare
// the same way.
func (s *Session) gdbNamesNothing(addr uint64) bool {
	if s.Debug == nil {
		k, err := s.dumpKernel()
		if err != nil || k == nil {
			return false
		}
		sym, off, ok := k.Values.Types.SymbolAt(addr)
		return ok && off > 0 && sym.Type == ktype.SymOther && sym.Module == ""
	}
	if !s.hasTypes() {
		return false
	}
	var sec *elf.Section
	var start uint64
	for _, es := range s.Debug.ELF().Sections {
		start = es.Addr
		if start >= 0xffffffff80000000 {
			start += s.Debug.Relocation()
		}
		if es.Flags&elf.SHF_ALLOC != 0 && addr >= start && addr-start < es.Size {
			sec = es
			break
		}
	}
	if sec == nil {
		return false
	}
	syms := s.crashSymbols().syms
	i := sort.Search(len(syms), func(i int) bool { return syms[i].Addr > addr })
	var at uint64
	found := false
	for j := i - 1; j >= 0 && syms[j].Addr >= start; j-- {
		sym := syms[j]
		if found && sym.Addr != at {
			break
		}
		if sym.Section != sec.Name {
			continue
		}
		if sym.Size != 0 || sym.isText() {
			return false // gdb names it (crash then rewrites the name)
		}
		at, found = sym.Addr, true
	}
	return found
}

// disSymbolic is "<name+off>" for a kernel address, as crash shows it in
// dis output: crash rewrites gdb's symbols with its own (value_to_symstr).
// Without a vmlinux's table it falls back to the session's symbols.
func (s *Session) disSymbolic(addr uint64) string {
	if s.hasTypes() {
		if name := s.crashSymbolic(addr); name != "" {
			return "<" + name + ">"
		}
		return ""
	}
	if addr < 0xffff800000000000 {
		return ""
	}
	name, off, ok := s.Symbols.SymbolAt(addr)
	switch {
	case !ok:
		return ""
	case off == 0:
		return "<" + name + ">"
	}
	return fmt.Sprintf("<%s+%d>", name, off)
}
