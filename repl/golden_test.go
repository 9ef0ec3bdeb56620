package repl

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/script")

func TestMain(m *testing.M) {
	// crash prints dates in local time; the golden files are in UTC.
	time.Local = time.UTC
	os.Exit(m.Run())
}

// runScript feeds a script to the loop as a non-terminal stdin would, and
// returns what it printed (output and errors, in order) and the number of
// failed commands.
func runScript(t *testing.T, s *Session, script string) (string, int) {
	t.Helper()
	var out bytes.Buffer
	l := &Loop{Session: s, Out: &out, Err: &out}
	if err := l.Run(NewScriptReader(strings.NewReader(script)), false); err != nil {
		t.Fatalf("Run: %v", err)
	}
	return out.String(), l.Failed
}

// TestGoldenScripts runs each testdata/script/NAME.cmds against the
// synthetic dump and compares with NAME.golden. The golden files were
// checked line by line against crash 8.0.2's output for the same commands
// on a real 6.1 dump (see TestLabAgainstCrash for the automated check).
func TestGoldenScripts(t *testing.T) {
	scripts, _ := filepath.Glob("testdata/script/*.cmds")
	if len(scripts) == 0 {
		t.Fatal("no scripts in testdata/script")
	}
	s := openSynth(t)
	dumpPath := s.Dump.Paths()[0]
	for _, path := range scripts {
		name := strings.TrimSuffix(filepath.Base(path), ".cmds")
		t.Run(name, func(t *testing.T) {
			script, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := runScript(t, s, string(script))
			got = strings.ReplaceAll(got, dumpPath, "DUMP")
			golden := strings.TrimSuffix(path, ".cmds") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(string(want), got); d != "" {
				t.Errorf("%s: output differs (-want +got):\n%s", name, d)
			}
		})
	}
}

func TestExecFailuresCount(t *testing.T) {
	s := openSynth(t)
	_, failed := runScript(t, s, "rd -p 200000\nnosuchcommand\nrd -p 300000\n\n# a comment\nhelp rd\n")
	if failed != 2 {
		t.Errorf("failed = %d, want 2 (unknown command, excluded page)", failed)
	}
}

func TestQuitStopsScript(t *testing.T) {
	s := openSynth(t)
	out, _ := runScript(t, s, "rd -p 200000\nq\nrd -p 200010\n")
	if !strings.Contains(out, "200000:") || strings.Contains(out, "200010:") {
		t.Errorf("q did not end the script:\n%s", out)
	}
}

func TestRedirect(t *testing.T) {
	s := openSynth(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "out.txt")
	var out bytes.Buffer
	l := &Loop{Session: s, Out: &out, Err: &out}
	ctx := context.Background()
	l.Exec(ctx, "rd -p 200000 > "+file)
	l.Exec(ctx, "rd -p -8 200000 4 >> "+file)
	got, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	want := "          200000:  0706050403020100                    ........\n" +
		"          200000:  00 01 02 03                                       ....\n"
	if string(got) != want {
		t.Errorf("file holds:\n%s\nwant:\n%s", got, want)
	}
	if out.Len() != 0 {
		t.Errorf("redirected output leaked to the terminal: %q", out.String())
	}
}

func TestPipe(t *testing.T) {
	if _, err := os.Stat("/bin/sh"); err != nil {
		t.Skip("no /bin/sh")
	}
	s := openSynth(t)
	out, failed := runScript(t, s, "log | grep -c virtio\nlog -t | tail -n 1 | tr a-z A-Z\nrd -p 200000 100000 | head -n 1\n")
	want := "1\nHARDWARE NAME: QEMU . STANDARD PC\n          200000:  0706050403020100 0f0e0d0c0b0a0908   ................\n"
	if out != want || failed != 0 {
		t.Errorf("got (failed %d):\n%s\nwant:\n%s", failed, out, want)
	}
}

// TestCancel checks that a cancelled context stops a long command between
// lines and that the loop says it was interrupted.
func TestCancel(t *testing.T) {
	s := openSynth(t)
	var out bytes.Buffer
	l := &Loop{Session: s, Out: &out, Err: &out}
	ctx, cancel := context.WithCancel(context.Background())
	cw := &cancelAfter{w: &out, n: 100 << 10, cancel: cancel}
	l.Out, l.Err = cw, cw
	start := time.Now()
	l.Exec(ctx, "rd -p 0 100000000")
	if time.Since(start) > 10*time.Second {
		t.Errorf("cancelled rd took %v", time.Since(start))
	}
	if !strings.HasSuffix(out.String(), "rd: interrupted\n") {
		t.Errorf("output does not end with the interruption notice: ...%q", tail(out.String(), 200))
	}
	if n := strings.Count(out.String(), "\n"); n > 100000 {
		t.Errorf("%d lines printed after cancel", n)
	}
}

type cancelAfter struct {
	w      *bytes.Buffer
	n      int
	cancel func()
}

func (c *cancelAfter) Write(p []byte) (int, error) {
	if c.w.Len() > c.n {
		c.cancel()
	}
	return c.w.Write(p)
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// TestHelpLists checks help against the table itself, so that it holds
// whatever commands other changes add: every command is listed, those
// needing a vmlinux are named as such, and planned commands not yet in
// the table are listed as not available.
func TestHelpLists(t *testing.T) {
	s := openSynth(t)
	out, failed := runScript(t, s, "help\n")
	if failed != 0 {
		t.Fatalf("help failed:\n%s", out)
	}
	listing, rest, _ := strings.Cut(out, "\n\n")
	words := map[string]bool{}
	for _, w := range strings.Fields(listing) {
		words[w] = true
	}
	var needVM []string
	for _, c := range Commands() {
		if !words[c.Name] {
			t.Errorf("help does not list %s", c.Name)
		}
		if c.NeedsVMLinux {
			needVM = append(needVM, c.Name)
		}
	}
	if len(words) != len(Commands()) {
		t.Errorf("help lists %d names, the table has %d commands", len(words), len(Commands()))
	}
	if len(needVM) > 0 && !strings.Contains(rest, "  "+strings.Join(needVM, " ")+"\n") {
		t.Errorf("help does not name the vmlinux commands %q:\n%s", needVM, rest)
	}
	for name := range planned {
		if Lookup(name) != nil {
			continue
		}
		if !strings.Contains(rest, name) {
			t.Errorf("help does not say %s is not available yet", name)
		}
		if out, failed := runScript(t, s, name+"\n"); failed != 1 || !strings.Contains(out, "not available yet") {
			t.Errorf("%s: %q", name, out)
		}
	}
	out, _ = runScript(t, s, "help rd\n")
	if !strings.HasPrefix(out, "NAME\n  rd - read memory\n\nSYNOPSIS\n  rd [") || !strings.Contains(out, "DESCRIPTION\n") {
		t.Errorf("help rd:\n%s", out)
	}
}
