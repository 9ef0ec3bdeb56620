package repl

import (
	"debug/elf"
	"testing"

	"github.com/vmcoretools/vmcore/dwarfsym"
)

// TestCrashSymbolSearch checks crash's value_search rules on a small
// table: an exact address names the first symbol by name, an address
// inside names the last one below it, per-CPU offsets and addresses past
// the table name nothing.
func TestCrashSymbolSearch(t *testing.T) {
	sym := func(name string, addr uint64) crashSymbol {
		return crashSymbol{Symbol: dwarfsym.Symbol{Name: name, Addr: addr, Section: ".text", SectionFlags: elf.SHF_ALLOC | elf.SHF_EXECINSTR}, shown: stripCloneSuffix(name)}
	}
	tab := &crashSymbolTable{firstKernel: 0x1000, syms: []crashSymbol{
		sym("runqueues", 0x40),
		sym("_text", 0x1000),
		sym("__irqentry_text_end", 0x2000),
		sym("common_interrupt_return", 0x2000),
		sym("__softirqentry_text_start", 0x3000),
		sym("do_softirq", 0x3000),
		sym("finish_task_switch.isra.0", 0x4000),
		sym("jiffies", 0x5000),
		sym("jiffies_64", 0x5000),
		sym("_end", 0x6000),
	}}
	for _, tc := range []struct {
		addr uint64
		want string
		off  uint64
		ok   bool
	}{
		{0x2000, "__irqentry_text_end", 0, true},
		{0x2010, "common_interrupt_return", 0x10, true},
		{0x3000, "do_softirq", 0, true}, // a *_text_start marker yields
		{0x4008, "finish_task_switch", 8, true},
		{0x5000, "jiffies", 0, true},
		{0x5004, "jiffies_64", 4, true},
		{0x40, "", 0, false},   // a per-CPU offset
		{0x7000, "", 0, false}, // past the last symbol
	} {
		got, off, ok := tab.search(tc.addr)
		if ok != tc.ok || ok && (got.shown != tc.want || off != tc.off) {
			t.Errorf("search(%#x) = %q+%#x %v, want %q+%#x %v", tc.addr, got.shown, off, ok, tc.want, tc.off, tc.ok)
		}
	}
	if got := stripCloneSuffix("copy_process.constprop.0"); got != "copy_process.constprop.0" {
		t.Errorf("crash keeps .constprop. suffixes, got %q", got)
	}
}

// TestParseEncoding checks the ModRM, SIB and displacement layout the
// decoder does not report, and that no byte string makes it panic.
func TestParseEncoding(t *testing.T) {
	for _, tc := range []struct {
		code    []byte
		modrm   bool
		sib     bool
		dispLen int
	}{
		{[]byte{0x48, 0x8b, 0x45, 0x00}, true, false, 1},                                    // mov 0x0(%rbp),%rax
		{[]byte{0x49, 0x8b, 0x84, 0x24, 0x88, 0x08, 0x00, 0x00}, true, true, 4},             // mov 0x888(%r12),%rax
		{[]byte{0x65, 0x48, 0x8b, 0x1c, 0x25, 0x80, 0xfb, 0x01, 0x00}, true, true, 4},       // mov %gs:0x1fb80,%rbx
		{[]byte{0x48, 0x8b, 0x05, 0xf9, 0x00, 0x00, 0x00}, true, false, 4},                  // rip-relative
		{[]byte{0xe8, 0x0b, 0x01, 0x00, 0x00}, false, false, 0},                             // call rel32
		{[]byte{0x0f, 0x84, 0x00, 0x00, 0x00, 0x00}, false, false, 0},                       // je rel32
		{[]byte{0x66, 0x2e, 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00}, true, true, 4}, // cs nopw
	} {
		e := parseEncoding(tc.code)
		if e.hasModRM != tc.modrm || e.hasSIB != tc.sib || e.dispLen != tc.dispLen {
			t.Errorf("% x: modrm %v sib %v disp %d, want %v %v %d", tc.code, e.hasModRM, e.hasSIB, e.dispLen, tc.modrm, tc.sib, tc.dispLen)
		}
	}
	s := &Session{Symbols: fakeSymbols{"f": 0xffffffff81000000}}
	for _, code := range [][]byte{{}, {0x66}, {0xc4}, {0xc5, 0xf8}, {0x62, 1, 2}, {0x0f}, {0x0f, 0x38}, {0x48}, {0xf3, 0x48, 0x0f}} {
		parseEncoding(code)
		if len(code) > 0 {
			s.disassemble(code, 0xffffffff81000000)
		}
	}
}
