package repl

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// FuzzParseLine checks that any command line parses or is refused with an
// error, never panics, and that what it yields is consistent: no empty
// argument unless quoted, pipelines non-empty, and SplitCommands never
// yields an empty command.
func FuzzParseLine(f *testing.F) {
	for _, s := range []string{
		"rd -p 1000 8",
		"log | grep -i 'panic' | tail",
		"rd (jiffies + 0x10) > /tmp/x",
		"struct task_struct.comm,pid ffff888003a8c000 >> out",
		`p "a|b" ; sys`,
		"rd ((1 << 3) | 4)",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, err := ParseLine(s)
		if err == nil {
			if l.Pipe != "" && l.Redirect != "" {
				t.Fatalf("%q: both a pipe and a redirection", s)
			}
			if strings.Contains(s, "|") && l.Pipe == "" && l.Redirect == "" && !strings.ContainsAny(s, `'"(`) {
				t.Fatalf("%q: '|' outside quotes was not taken as a pipe", s)
			}
		}
		for _, c := range SplitCommands(s) {
			if strings.TrimSpace(c) == "" {
				t.Fatalf("%q: empty command from SplitCommands", s)
			}
		}
	})
}

// FuzzEvalExpr checks that expressions evaluate or fail cleanly: no panic
// (division by zero, deep nesting) and no hang.
func FuzzEvalExpr(f *testing.F) {
	for _, s := range []string{"(1 + 2)", "(linux_banner + 0x10)", "(~0 >> 4)", "((((1))))", "(5 / 0)", "(-(-(-1)))", "(ffff & 0x0f)"} {
		f.Add(s)
	}
	s := &Session{Symbols: &vmcoreinfoSymbols{byName: map[string]uint64{"linux_banner": 0xffffffff81000000}, sorted: []string{"linux_banner"}}}
	f.Fuzz(func(t *testing.T, expr string) {
		if len(expr) > 4096 {
			return
		}
		s.evalExpr(expr)
	})
}

func TestEvalExpr(t *testing.T) {
	s := &Session{Symbols: &vmcoreinfoSymbols{byName: map[string]uint64{"linux_banner": 0xffffffff81000000}}}
	for _, tc := range []struct {
		in   string
		want uint64
		err  bool
	}{
		{"(1 + 2 * 3)", 7, false},
		{"((1 + 2) * 3)", 9, false},
		{"(linux_banner + 0x10)", 0xffffffff81000010, false},
		{"(linux_banner + 10)", 0xffffffff8100000a, false},
		{"(ff + 1)", 0x100, false},
		{"(1 << 4 | 1)", 0x11, false},
		{"(~0 >> 60)", 15, false},
		{"(-1)", ^uint64(0), false},
		{"(10 % 3)", 1, false},
		{"(1 / 0)", 0, true},
		{"(nosuch + 1)", 0, true},
		{"(1 +)", 0, true},
		{"(1 $ 2)", 0, true},
	} {
		got, err := s.evalExpr(tc.in)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("evalExpr(%q) = %#x, %v; want %#x, error %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func TestParseLine(t *testing.T) {
	for _, tc := range []struct {
		in       string
		args     []string
		pipe     string
		redirect string
		append   bool
	}{
		{"rd -p 1000 8", []string{"rd", "-p", "1000", "8"}, "", "", false},
		{"log | grep -c x | wc", []string{"log"}, "grep -c x | wc", "", false},
		{"rd (a + b) 2", []string{"rd", "(a + b)", "2"}, "", "", false},
		{"p 'a | b' > out.txt", []string{"p", "'a | b'"}, "", "out.txt", false},
		{`p "a | b"`, []string{"p", "a | b"}, "", "", false},
		{"sys >> 'my file'", []string{"sys"}, "", "my file", true},
		{"rd (a|b)|cat", []string{"rd", "(a|b)"}, "cat", "", false},
		{"p a->b->c > out", []string{"p", "a->b->c"}, "", "out", false},
		{"  ", nil, "", "", false},
	} {
		l, err := ParseLine(tc.in)
		if err != nil {
			t.Errorf("ParseLine(%q): %v", tc.in, err)
			continue
		}
		if strings.Join(l.Args, "\x00") != strings.Join(tc.args, "\x00") || l.Pipe != tc.pipe || l.Redirect != tc.redirect || l.Append != tc.append {
			t.Errorf("ParseLine(%q) = %q | %q > %q (append %v); want %q | %q > %q (append %v)",
				tc.in, l.Args, l.Pipe, l.Redirect, l.Append, tc.args, tc.pipe, tc.redirect, tc.append)
		}
	}
	for _, bad := range []string{"log |", "rd 'x", "rd (1", "rd 1)", "sys > a b", "sys > a | b", "sys >", strings.Repeat("x", maxLineLen+1)} {
		if _, err := ParseLine(bad); err == nil {
			t.Errorf("ParseLine(%q) succeeded", bad)
		}
	}
	if got := SplitCommands("sys; log | grep ';' ; ; rd (1;2)"); len(got) != 3 || got[1] != "log | grep ';'" || got[2] != "rd (1;2)" {
		t.Errorf("SplitCommands = %q", got)
	}
}

func TestComplete(t *testing.T) {
	s := &Session{Symbols: nil, Names: &vmcoreinfoSymbols{sorted: []string{"init_task", "init_top_pgt", "jiffies"}}}
	for _, tc := range []struct {
		line  string
		want  []string
		wordN int
	}{
		{"vt", []string{"vtop "}, 2},
		{"v", []string{"vm", "vtop"}, 1}, // several: no space added
		{"rd -", []string{"-a", "-d", "-D", "-s", "-S", "-p", "-u", "-x", "-N", "-R", "-8", "-16", "-32", "-64", "-o", "-e"}, 1},
		{"rd -1", []string{"-16"}, 2},
		{"rd init_t", []string{"init_task", "init_top_pgt"}, 6},
		{"vtop 1000 ", []string{"init_task", "init_top_pgt", "jiffies"}, 0},
		{"help l", []string{"list", "log"}, 1},
		{"help lo", []string{"log"}, 2},
		{"log | gr", nil, 0},
	} {
		got, n := s.Complete(tc.line)
		if strings.Join(got, " ") != strings.Join(tc.want, " ") || n != tc.wordN {
			t.Errorf("Complete(%q) = %q, %d; want %q, %d", tc.line, got, n, tc.want, tc.wordN)
		}
	}
}

// FuzzExec runs arbitrary command lines (without pipes or redirections,
// which would run shells and write files) against the synthetic dump:
// every command must answer or refuse with an error, never panic (the loop
// turns a panic into an "internal error" message, which fails here) and
// never run past its cancellation.
func FuzzExec(f *testing.F) {
	for _, s := range []string{
		"rd -p 200000 4", "rd -8 -x linux_banner 20", "rd -a -p 140000", "rd -R -p 200018 3",
		"rd (linux_banner + 0x10)", "rd -o 0x10 -e ffffffff80140040 linux_banner",
		"log -T", "log -tmcd", "vtop ffff888000200000 linux_banner", "sys", "help rd",
		"sym linux_banner", "struct thing", "p counter", "dis linux_banner",
		"search -p -s 200000 -l 4096 0", "search -c -s linux_banner -l 64 Linux", "search -x 2 -s linux_banner -l 64 0",
		"tree -t rb -N ffff888000200000", "tree -t x -N ffff888000200002 -p", "tree -t m -N ffff888000200000",
		"kmem -p 200000", "kmem -f", "kmem -n", "kmem ffff888000200000", "kmem -S thing", "kmem -g 4000",
	} {
		f.Add(s)
	}
	s := openSynth(f)
	f.Fuzz(func(t *testing.T, line string) {
		if strings.ContainsAny(line, "|>") || len(line) > 1024 {
			return
		}
		var out bytes.Buffer
		l := &Loop{Session: s, Out: &out, Err: &out}
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		start := time.Now()
		l.Exec(ctx, line)
		if strings.Contains(out.String(), "internal error") {
			t.Fatalf("%q: %s", line, out.String())
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("%q ran %v past a 200 ms deadline", line, d)
		}
	})
}
