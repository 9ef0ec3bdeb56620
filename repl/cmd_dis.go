package repl

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"golang.org/x/arch/x86/x86asm"
)

func init() {
	register(&Command{
		Name:    "dis",
		Usage:   "[-lr] [address | symbol | (expression)] [count]",
		Summary: "disassemble",
		Help: `Disassembles kernel text read from the dump, in AT&T syntax as crash
(gdb) prints it: "0xADDR <symbol+offset>:<TAB>mnemonic operands". A symbol
without a count disassembles the whole function; an address without a
count, one instruction. Branch and call targets are shown with their
symbol. endbr64, stac and clac are decoded by hand (the decoder lacks
them), and the 5-byte nop at a function's entry is marked [FTRACE NOP].

   -l  print the source file and line before each instruction.
   -r  disassemble from the start of the function up to the address.`,
		Options:      []string{"-l", "-r"},
		Args:         ArgSymbol,
		NeedsVMLinux: true,
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
	s := c.Session
	addr, err := s.parseAddress(rest[0])
	if err != nil {
		return err
	}
	count := 1
	end := uint64(0)
	if len(rest) == 2 {
		n, err := strconv.Atoi(rest[1])
		if err != nil || n <= 0 {
			return fmt.Errorf("invalid count: %s", rest[1])
		}
		count = n
	}
	sym, off, ok := s.Debug.SymbolAt(addr)
	switch {
	case reverse:
		if !ok {
			return fmt.Errorf("%x: no symbol contains this address", addr)
		}
		addr, end, count = addr-off, addr+1, 1<<30
	case len(rest) == 1 && ok && off == 0 && sym.Size > 0:
		end, count = addr+sym.Size, 1<<30
	}
	size := 16 * count
	if end != 0 {
		size = int(end - addr + 15)
	}
	size = min(size, maxDisBytes)
	code := make([]byte, size)
	n, err := s.ReadVirt(code, addr)
	if n == 0 && err != nil {
		return readError(kernelVirtual, addr, "dis", err)
	}
	code = code[:n]
	pc := addr
	for i := 0; i < count && len(code) > 0 && (end == 0 || pc < end); i++ {
		if err := c.Stopped(); err != nil {
			return err
		}
		text, length := s.disassemble(code, pc)
		if lines {
			if frames, err := s.Debug.Lines(pc); err == nil && len(frames) > 0 {
				fmt.Fprintf(c.Out, "%s: %d\n", frames[0].File, frames[0].Line)
			}
		}
		fmt.Fprintf(c.Out, "0x%x %s:\t%s\n", pc, s.symbolic(pc), text)
		code = code[length:]
		pc += uint64(length)
	}
	return nil
}

// handDecoded are instructions the decoder does not know, matched before
// it runs.
var handDecoded = []struct {
	bytes []byte
	text  string
}{
	{[]byte{0xf3, 0x0f, 0x1e, 0xfa}, "endbr64"},
	{[]byte{0xf3, 0x0f, 0x1e, 0xfb}, "endbr32"},
	{[]byte{0x0f, 0x01, 0xcb}, "stac"},
	{[]byte{0x0f, 0x01, 0xca}, "clac"},
	{[]byte{0x0f, 0x01, 0xd0}, "xgetbv"},
	{[]byte{0x0f, 0x01, 0xd1}, "xsetbv"},
	{[]byte{0x0f, 0x01, 0xf9}, "rdtscp"},
	{[]byte{0x0f, 0x01, 0xf8}, "swapgs"},
}

var hexTarget = regexp.MustCompile(`^0x[0-9a-f]+$`)

// disassemble decodes one instruction at pc in gdb's AT&T layout.
func (s *Session) disassemble(code []byte, pc uint64) (string, int) {
	for _, h := range handDecoded {
		if bytes.HasPrefix(code, h.bytes) {
			return h.text, len(h.bytes)
		}
	}
	inst, err := x86asm.Decode(code, 64)
	if err != nil || inst.Len == 0 {
		return "(bad)", 1
	}
	text := x86asm.GNUSyntax(inst, pc, nil)
	if strings.HasPrefix(text, "prefix(") || strings.HasPrefix(text, "op(") || strings.HasPrefix(text, "error:") {
		return "(bad)", 1
	}
	mnem, operands, _ := strings.Cut(text, " ")
	switch mnem {
	case "callq":
		mnem = "call"
	case "retq":
		mnem = "ret"
	case "jmpq":
		if !strings.HasPrefix(operands, "*") {
			mnem = "jmp"
		}
	}
	if hexTarget.MatchString(operands) {
		if t, err := strconv.ParseUint(operands[2:], 16, 64); err == nil {
			if name := s.symbolic(t); name != "" {
				operands += " " + name
			}
		}
	}
	if mnem == "nopl" && inst.Len == 5 && bytes.HasPrefix(code, []byte{0x0f, 0x1f, 0x44, 0, 0}) {
		operands = "0x0(%rax,%rax,1)"
		if _, off, ok := s.Symbols.SymbolAt(pc); ok && off == 0 {
			operands += " [FTRACE NOP]"
		}
	}
	if operands == "" {
		return mnem, inst.Len
	}
	return fmt.Sprintf("%-6s %s", mnem, operands), inst.Len
}

// symbolic is "<name+off>" for an address in a symbol, "" otherwise.
func (s *Session) symbolic(addr uint64) string {
	name, off, ok := s.Symbols.SymbolAt(addr)
	if !ok {
		return ""
	}
	if off == 0 {
		return "<" + name + ">"
	}
	return fmt.Sprintf("<%s+%d>", name, off)
}
