package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/vmcoretools/vmcore/repl/synthdump"
)

func synthDump(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "vmcore")
	if err := synthdump.Write(path); err != nil {
		t.Fatal(err)
	}
	return path
}

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// vmcoreBinary builds the command once for the tests that need a real
// process (stdin scripts, the terminal).
func vmcoreBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		goTool, err := exec.LookPath("go")
		if err != nil {
			binErr = err
			return
		}
		dir, err := os.MkdirTemp("", "vmcore-bin")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "vmcore")
		out, err := exec.Command(goTool, "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = &exec.Error{Name: "go build: " + string(out), Err: err}
		}
	})
	if binErr != nil {
		t.Skipf("cannot build the vmcore binary: %v", binErr)
	}
	return binPath
}

const rdLine = "          200000:  0706050403020100                    ........\n"

func TestSessionDashC(t *testing.T) {
	dump := synthDump(t)
	code, out, errOut := runCmd("-c", "rd -p 200000; log -t | tail -n 1; rd -p -8 200000 4", dump)
	want := rdLine + "Hardware name: QEMU . Standard PC\n" +
		"          200000:  00 01 02 03                                       ....\n"
	if code != 0 || out != want || errOut != "" {
		t.Errorf("code %d\nstdout:\n%s\nstderr:\n%s\nwant stdout:\n%s", code, out, errOut, want)
	}
}

func TestSessionNeedsVMLinux(t *testing.T) {
	dump := synthDump(t)
	code, out, errOut := runCmd("-c", "sym schedule; struct task_struct", dump)
	if code != 1 || out != "" {
		t.Errorf("code %d, stdout %q; want 1 and nothing", code, out)
	}
	for _, cmd := range []string{"sym:", "struct:"} {
		if !strings.Contains(errOut, cmd+" needs the debuginfo vmlinux") {
			t.Errorf("stderr does not say %s needs the vmlinux:\n%s", cmd, errOut)
		}
	}
}

// TestSessionEitherOrder passes an ELF executable (the test binary itself)
// as the "vmlinux" before and after the dump: it must be told apart by
// content in both orders. It is not the dump's kernel: refused, it opens
// with --force only.
func TestSessionEitherOrder(t *testing.T) {
	dump := synthDump(t)
	exe, err := os.Executable()
	if err != nil {
		t.Skip(err)
	}
	for _, args := range [][]string{{exe, dump}, {dump, exe}} {
		if code, out, errOut := runCmd(append([]string{"-c", "sys"}, args...)...); code != 1 || out != "" || !strings.Contains(errOut, "do not match") {
			t.Errorf("args %q without --force: code %d\nstdout:\n%s\nstderr:\n%s", args, code, out, errOut)
		}
		code, out, errOut := runCmd(append([]string{"-c", "sys", "--force"}, args...)...)
		if code != 0 || !strings.Contains(out, "      KERNEL: "+exe+"\n") || !strings.Contains(out, "    DUMPFILE: "+dump+"  [PARTIAL DUMP]\n") {
			t.Errorf("args %q: code %d\nstdout:\n%s\nstderr:\n%s", args, code, out, errOut)
		}
	}
	if code, _, errOut := runCmd("-c", "sys", exe, exe, dump); code == 0 || !strings.Contains(errOut, "two kernels") {
		t.Errorf("two kernels: code %d, stderr %q", code, errOut)
	}
	if code, _, errOut := runCmd("-c", "sys", exe); code == 0 || !strings.Contains(errOut, "no dump file") {
		t.Errorf("kernel alone: code %d, stderr %q", code, errOut)
	}
}

func TestSessionInitFile(t *testing.T) {
	dump := synthDump(t)
	init := filepath.Join(t.TempDir(), "cmds")
	os.WriteFile(init, []byte("# setup\nrd -p 200000\n"), 0o644)
	code, out, _ := runCmd("-i", init, "-c", "log -t | head -n 1", dump)
	want := rdLine + "Linux version 6.1.0-test (builder@test) #1 SMP PREEMPT_DYNAMIC\n"
	if code != 0 || out != want {
		t.Errorf("code %d, stdout:\n%s\nwant:\n%s", code, out, want)
	}
	// q in the file ends the session before -c runs.
	os.WriteFile(init, []byte("rd -p 200000\nq\n"), 0o644)
	if code, out, _ := runCmd("-i", init, "-c", "log -t", dump); code != 0 || out != rdLine {
		t.Errorf("q in -i FILE: code %d, stdout:\n%s", code, out)
	}
}

// TestSessionStdinScript runs commands from a non-terminal stdin, as
// `crash -s vmlinux vmcore < cmds`: no prompt, no banner, just output.
func TestSessionStdinScript(t *testing.T) {
	bin := vmcoreBinary(t)
	dump := synthDump(t)
	cmd := exec.Command(bin, dump)
	cmd.Stdin = strings.NewReader("rd -p 200000\n\nlog -t | grep -c sysrq\nq\nrd -p 200000\n")
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v; stderr: %s", err, errOut.String())
	}
	if want := rdLine + "2\n"; out.String() != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", out.String(), want)
	}
	if errOut.Len() != 0 {
		t.Errorf("stderr: %s", errOut.String())
	}
}

func TestOneShotRdAndLog(t *testing.T) {
	dump := synthDump(t)
	code, out, errOut := runCmd("rd", dump, "-p", "200000")
	if code != 0 || out != rdLine {
		t.Errorf("rd: code %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, out, _ = runCmd("log", "-t", dump)
	if code != 0 || !strings.HasPrefix(out, "Linux version 6.1.0-test") || strings.Count(out, "\n") != 7 {
		t.Errorf("log -t: code %d, stdout:\n%s", code, out)
	}
	code, out, errOut = runCmd("log", "-json", dump)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 6 {
		t.Fatalf("log -json: code %d, %d lines, stderr %q", code, len(lines), errOut)
	}
	var rec struct {
		TsNsec uint64 `json:"ts_nsec"`
		Text   string `json:"text"`
	}
	if err := json.Unmarshal([]byte(lines[4]), &rec); err != nil || rec.TsNsec != 6217574000 || rec.Text != "Kernel panic - not syncing: sysrq triggered crash" {
		t.Errorf("record 4: %+v, %v", rec, err)
	}
	if code, _, _ := runCmd("rd", dump, "-p", "300000"); code != 1 {
		t.Errorf("rd of an excluded page: code %d, want 1", code)
	}
	if code, _, _ := runCmd("rd", "-p", "1000"); code != 2 {
		t.Errorf("rd without a dump: code %d, want 2", code)
	}
}
