package repl

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/vmcoretools/vmcore/dwarfsym"
	"github.com/vmcoretools/vmcore/value"
)

// TestPExpressions evaluates C expressions on the test kernel's data
// (testKernelC) with p and whatis; every expected value follows from the
// C source and gdb's rules, not from a recording.
func TestPExpressions(t *testing.T) {
	s, _ := kernelSession(t)
	for _, tc := range []struct{ cmd, want string }{
		// Integer arithmetic, C precedence and gdb's literal types.
		{"p 1+2*3", "7"},
		{"p (1+2)*3", "9"},
		{"p 10-20", "-10"},
		{"p 7/2", "3"},
		{"p -7/2", "-3"},
		{"p 7%3", "1"},
		{"p (1 << 4 | 1)", "17"}, // | and > outside parentheses are a pipe and a redirection, as in crash
		{"p/x 0x1000 << 4", "0x10000"},
		{"p/x -1", "0xffffffff"},
		{"p 0xffffffff", "4294967295"},
		{"p 0xffffffff + 1", "0"},          // unsigned int wraps
		{"p 4294967296 - 1", "4294967295"}, // long
		{"p (int)0xffffffff", "-1"},
		{"p (unsigned char)0x1ff", "255 '\\377'"},
		{"p (char)65", "65 'A'"},
		{"p (char)97", "97 'a'"},
		{"p (unsigned long)-1", "18446744073709551615"},
		{"p (short)-1 == -1", "1"},
		{"p (3 > 2 && 2 > 3)", "0"},
		{"p (3 > 2 || 2 > 3)", "1"},
		{"p !0", "1"},
		{"p ~0", "-1"},
		{"p 1 ? 10 : 20", "10"},
		{"p 0 ? 10 : 20", "20"},
		// Variables, members, arrays, pointers.
		{"p init_thing.id", "7"},
		{"p init_thing.id * 2 + 1", "15"},
		{"p init_thing.flags", "48"},
		{"p/x init_thing.flags", "0x30"},
		{"p init_thing.b", "-2"},
		{"p init_thing.bit3", "5"},
		{"p init_thing.name[1]", "105 'i'"},
		{"p init_thing.name[0] == 102", "1"},
		{"p counter - 5", "4294967296"},
		{"p (counter >= 4294967296)", "1"},
		{"p sizeof(struct thing)", "64"},
		{"p sizeof(init_thing.name)", "16"},
		{"p sizeof init_thing.id", "4"},
		{"p sizeof(long *)", "8"},
		{"p sizeof(struct thing) / sizeof(int)", "16"},
		{"p &init_thing.link", "(struct list_head *) 0xffffffff80282050 <init_thing+48>"},
		{"p init_thing.link.next", "(struct list_head *) 0xffffffff80282050 <init_thing+48>"},
		{"p init_thing.link.next->next == init_thing.link.next", "1"},
		{"p (*init_thing.link.next).prev", "(struct list_head *) 0xffffffff80282050 <init_thing+48>"},
		{"p ((struct thing *)&init_thing)->id", "7"},
		{"p ((struct thing *)0xffffffff80282020)->name", `"first\000\000\000\000\000\000\000\000\000\000"`},
		{"p (struct thing *)&init_thing + 1", "(struct thing *) 0xffffffff80282060 <result>"},
		{"p &init_thing.name[3] - &init_thing.name[0]", "3"},
		{"p *&init_thing.id", "7"},
		{"p (long)&init_thing.link - (long)&init_thing", "48"},
		{"p *do_work", "{int (struct thing *)} 0xffffffff80280000 <do_work>"},
		{"p &linux_banner[6]", `0xffffffff80281006 <linux_banner+6> "version 6.1.0-test (builder@test)\n"`},
	} {
		var out bytes.Buffer
		l := &Loop{Session: s, Out: &out, Err: &out}
		l.RunLine(tc.cmd)
		got := strings.TrimSpace(out.String())
		_, val, ok := strings.Cut(got, " = ")
		if !ok || !strings.HasPrefix(got, "$") {
			t.Errorf("%s: %q, want $N = %s", tc.cmd, got, tc.want)
			continue
		}
		if val != tc.want {
			t.Errorf("%s = %s, want %s", tc.cmd, val, tc.want)
		}
	}
}

// TestPHistoryAndLeader checks crash's numbering and its "name = " leader
// for a bare symbol (and none for p/x, which crash hands to gdb as is).
func TestPHistoryAndLeader(t *testing.T) {
	s, _ := kernelSession(t)
	got, _ := runScript(t, s, "p counter\np 1\np/x counter\np nosuch\np 2\np init_thing.link\n")
	want := `counter = $1 = 4294967301
$2 = 1
$3 = 0x100000005
p: No symbol "nosuch" in current context.
$4 = 2
$5 = {
  next = 0xffffffff80282050 <init_thing+48>,
  prev = 0xffffffff80282050 <init_thing+48>
}
`
	if got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

// TestWhatisExpressions: whatis of an expression prints its type without
// reading memory, so even a NULL pointer's target has a type.
func TestWhatisExpressions(t *testing.T) {
	s, _ := kernelSession(t)
	for _, tc := range []struct{ cmd, want string }{
		{"whatis init_thing.name", "char [16]"},
		{"whatis init_thing.link.next", "struct list_head *"},
		{"whatis &init_thing", "struct thing *"},
		{"whatis ((struct thing *)0)->flags", "unsigned long"},
		{"whatis 1+2", "int"},
		{"whatis 1+2L", "int"}, // the suffix is ignored; the value picks the type
		{"whatis counter + 1", "unsigned long"},
		{"whatis sizeof(int)", "unsigned long"},
		{"whatis 0xffffffff", "unsigned int"},
		{"whatis init_thing.id == 7", "int"},
		{"whatis do_work", "int do_work(struct thing *);"},
		{"whatis &do_work", "int (*)(struct thing *)"},
	} {
		var out bytes.Buffer
		l := &Loop{Session: s, Out: &out, Err: &out}
		l.RunLine(tc.cmd)
		if got := strings.TrimSpace(out.String()); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.cmd, got, tc.want)
		}
	}
}

// TestCExprErrors: malformed and hostile expressions give gdb's kind of
// error, never a panic (one case, with no error expected, checks that
// ?: leaves the other side unevaluated).
func TestCExprErrors(t *testing.T) {
	s, _ := kernelSession(t)
	for _, tc := range []struct{ expr, want string }{
		{"1 +", "syntax error"},
		{"(1", "syntax error"},
		{"1 / 0", "Division by zero"},
		{"nosuch + 1", `No symbol "nosuch"`},
		{"init_thing.nosuch", "There is no member named nosuch."},
		{"init_thing->id", "The -> operator"},
		{"*init_thing.id + &1", "Attempt to take address of value not located in memory."},
		{"(struct nosuch *)0", "No struct type named nosuch."},
		{"init_thing + 1", "not a number"},
		{"'ab'", "Unmatched single quote."},
		{"1 @ 2", "Invalid character '@'"},
		{"'a' + 1 == 98 ? 1 : 1 / 0", ""}, // a char literal, and ?: evaluates one side only
		{strings.Repeat("(", 100) + "1" + strings.Repeat(")", 100), "nested too deeply"},
		{strings.Repeat("1+", 600) + "1", "too long"},
	} {
		_, err := s.evalC(tc.expr, false)
		if tc.want == "" {
			if err != nil {
				t.Errorf("%q: %v", tc.expr, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want one containing %q", tc.expr, err, tc.want)
		}
	}
}

// errMem is kernel memory that holds nothing: every read fails.
type errMem struct{}

func (errMem) ReadAt(p []byte, off int64) (int, error) {
	return 0, fmt.Errorf("no memory at %#x", uint64(off))
}

// FuzzCExpr parses and evaluates any text as a C expression over the
// dwarfsym test binary's types, with memory that cannot be read: it must
// fail with an error or succeed, never panic or hang, whatever the nesting,
// casts or operators.
func FuzzCExpr(f *testing.F) {
	for _, s := range []string{
		"1+2*3", "(struct task *)0x1000", "sizeof(struct task)", "init_task.comm[1]",
		"&init_task.tasks", "*init_task.tasks.next", "((struct task *)&init_task)->pid",
		"(unsigned char)0x1ff", "1 ? 2 : 3", "-(~0) << 70", "'\\n' + '\\101'", "!(1 && 0 || 1)",
		"sizeof init_task", "(char)-1 / 0", "init_task.tasks.next - init_task.tasks.prev",
	} {
		f.Add(s)
	}
	df, err := dwarfsym.Open("../dwarfsym/testdata/tiny.elf")
	if err != nil {
		f.Fatal(err)
	}
	defer df.Close()
	s := &Session{Debug: df}
	vals := value.New(df.Source(), errMem{})
	f.Fuzz(func(t *testing.T, text string) {
		if len(text) > 4096 {
			return
		}
		x, err := s.parseC(text)
		if err != nil {
			return
		}
		for _, typeOnly := range []bool{false, true} {
			e := &ceval{s: s, vals: vals, typeOnly: typeOnly}
			if v, err := e.eval(x); err == nil && v.Type == nil {
				t.Fatalf("%q: a value without a type", text)
			}
		}
	})
}
