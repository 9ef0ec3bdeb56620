package main

import (
	"os"
	"runtime"
	"sort"
	"strings"
	"testing"
)

// The command line's conventions, one test each: every form in -h, help
// to stdout with status 0, usage errors to stderr with status 2, a
// version, flags on either side of the files, each prefix once.

func TestCLIUsageShowsEveryForm(t *testing.T) {
	code, out, errOut := runCmd("-h")
	if code != 0 || errOut != "" {
		t.Fatalf("vmcore -h: exit %d, stderr %q", code, errOut)
	}
	for _, want := range []string{"vmcore [flags] [VMLINUX] DUMP", "-c 'CMD; CMD'", "-i FILE", "SUBCOMMAND", "vmcore help", "--version", "--force", "-history FILE"} {
		if !strings.Contains(out, want) {
			t.Errorf("vmcore -h lacks %q:\n%s", want, out)
		}
	}
	for name := range subcommands {
		if !strings.Contains(out, "\n  "+name+" ") {
			t.Errorf("vmcore -h does not list %s", name)
		}
	}
	// No arguments at all: a usage error.
	if code, out, errOut := runCmd(); code != 2 || out != "" || !strings.Contains(errOut, "SUBCOMMAND") {
		t.Errorf("vmcore: exit %d, stdout %q", code, out)
	}
	if code, out, _ := runCmd("help"); code != 0 || !strings.Contains(out, "SUBCOMMAND") {
		t.Errorf("vmcore help: exit %d", code)
	}
}

func TestCLIHelpPerCommand(t *testing.T) {
	var names []string
	for n := range subcommands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		code, out, errOut := runCmd("help", n)
		if code != 0 || errOut != "" || !strings.HasPrefix(out, "usage: vmcore "+n) {
			t.Errorf("vmcore help %s: exit %d, stderr %q, stdout %.80q", n, code, errOut, out)
		}
		for _, h := range []string{"-h", "--help", "-help"} {
			code2, out2, errOut2 := runCmd(n, h)
			if code2 != 0 || errOut2 != "" || out2 != out {
				t.Errorf("vmcore %s %s: exit %d, stderr %q; its stdout differs from vmcore help %s: %v", n, h, code2, errOut2, n, out2 != out)
			}
		}
		// -h after other arguments too.
		if code, out2, _ := runCmd(n, "somefile", "-h"); code != 0 || out2 != out {
			t.Errorf("vmcore %s somefile -h: exit %d", n, code)
		}
	}
	if code, out, errOut := runCmd("help", "nosuch"); code != 2 || out != "" || !strings.Contains(errOut, "no subcommand") {
		t.Errorf("vmcore help nosuch: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

func TestCLIUsageErrors(t *testing.T) {
	dump := writeTestKdump(t, t.TempDir(), 0)
	for _, args := range [][]string{
		{"info", "-x", dump},
		{"info"},
		{"dmesg", "-nope", dump},
		{"dmesg"},
		{"convert", dump},
		{"convert", "-c"},
		{"schema"},
		{"ps"},
		{"bt"},
		{"rd"},
		{"log"},
		{"-c"},
		{"-bogus", dump},
	} {
		code, out, errOut := runCmd(args...)
		if code != 2 || out != "" || !strings.Contains(errOut, "usage: vmcore") {
			t.Errorf("vmcore %s: exit %d (want 2), stdout %q, stderr %.120q", strings.Join(args, " "), code, out, errOut)
		}
	}
}

func TestCLIVersion(t *testing.T) {
	for _, f := range []string{"--version", "-version"} {
		code, out, errOut := runCmd(f)
		if code != 0 || errOut != "" || !strings.HasPrefix(out, "vmcore ") || !strings.Contains(out, "\ncommit ") || !strings.Contains(out, runtime.Version()) {
			t.Errorf("vmcore %s: exit %d:\n%s", f, code, out)
		}
	}
}

func TestCLIFlagsAfterFiles(t *testing.T) {
	dump := synthDump(t)
	for _, c := range [][2][]string{
		{{"dmesg", "-T", dump}, {"dmesg", dump, "-T"}},
		{{"dmesg", "-level", "-caller", dump}, {"dmesg", dump, "-caller", "-level"}},
		{{"dmesg", "-json", dump}, {"dmesg", dump, "-json"}},
		{{"info", "-json", dump}, {"info", dump, "-json"}},
		{{"log", "-T", dump}, {"log", dump, "-T"}},
	} {
		c1, o1, e1 := runCmd(c[0]...)
		c2, o2, e2 := runCmd(c[1]...)
		if c1 != 0 || c2 != 0 || o1 != o2 || o1 == "" {
			t.Errorf("%q (exit %d, %s) and %q (exit %d, %s) differ", c[0], c1, e1, c[1], c2, e2)
		}
	}
	// After "--" a name that looks like a flag is a file.
	if code, _, errOut := runCmd("info", "--", "-T"); code != 1 || !strings.Contains(errOut, "-T") {
		t.Errorf("vmcore info -- -T: exit %d, %s", code, errOut)
	}
}

func TestCLIPrefixOnce(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Skip(err)
	}
	for _, c := range []string{"info", "dmesg"} {
		code, _, errOut := runCmd(c, exe)
		if code != 1 || strings.Count(errOut, exe) != 1 || strings.Contains(errOut, "vmcore: vmcore") || strings.Count(errOut, "elfcore:") > 1 ||
			!strings.Contains(errOut, "not a crash dump") {
			t.Errorf("vmcore %s EXECUTABLE: exit %d: %s", c, code, errOut)
		}
	}
}

// TestCLIMistypedSubcommand: a word that is no subcommand and no file is a
// usage error that says so; a missing path is a failure naming the file.
func TestCLIMistypedSubcommand(t *testing.T) {
	if code, out, errOut := runCmd("dmseg", "x"); code != 2 || out != "" || !strings.Contains(errOut, `"dmseg" is neither a subcommand nor a file`) {
		t.Errorf("vmcore dmseg: exit %d, stderr %q", code, errOut)
	}
	if code, _, errOut := runCmd("/no/such/vmcore"); code != 1 || !strings.Contains(errOut, "/no/such/vmcore") {
		t.Errorf("a missing dump: exit %d, stderr %q", code, errOut)
	}
}
