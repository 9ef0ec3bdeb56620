package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// tmuxSession drives the REPL in a real terminal: tmux runs it in a
// detached pane, send-keys types, capture-pane reads the screen.
type tmuxSession struct {
	t      *testing.T
	socket string
	name   string
}

// haveTmux finds tmux, installing it on Debian when running as root, as
// the brief for this test asks; otherwise the test is skipped.
func haveTmux(t *testing.T) string {
	if p, err := exec.LookPath("tmux"); err == nil {
		return p
	}
	if os.Geteuid() == 0 {
		if _, err := exec.LookPath("apt-get"); err == nil {
			exec.Command("apt-get", "install", "-y", "tmux").Run()
			if p, err := exec.LookPath("tmux"); err == nil {
				return p
			}
		}
	}
	t.Skip("tmux is not installed (apt-get install tmux): the terminal tests of the REPL did not run")
	return ""
}

func startTmux(t *testing.T, command string) *tmuxSession {
	haveTmux(t)
	s := &tmuxSession{t: t, socket: fmt.Sprintf("vmcore-test-%d-%d", os.Getpid(), time.Now().UnixNano()), name: "t"}
	s.tmux("new-session", "-d", "-x", "150", "-y", "50", "-s", s.name, command)
	s.tmux("set-option", "-t", s.name, "remain-on-exit", "on")
	t.Cleanup(func() { exec.Command("tmux", "-L", s.socket, "kill-server").Run() })
	return s
}

func (s *tmuxSession) tmux(args ...string) string {
	s.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-L", s.socket}, args...)...).CombinedOutput()
	if err != nil {
		s.t.Fatalf("tmux %q: %v: %s", args, err, out)
	}
	return string(out)
}

func (s *tmuxSession) keys(keys ...string) {
	s.tmux(append([]string{"send-keys", "-t", s.name}, keys...)...)
}

// typeText types literally (no key names).
func (s *tmuxSession) typeText(text string) { s.tmux("send-keys", "-t", s.name, "-l", text) }

func (s *tmuxSession) screen() string { return s.tmux("capture-pane", "-p", "-t", s.name) }

// waitFor polls the screen until cond holds, failing after 15 s.
func (s *tmuxSession) waitFor(what string, cond func(screen string) bool) string {
	s.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		sc := s.screen()
		if cond(sc) {
			return sc
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("timed out waiting for %s; screen:\n%s", what, sc)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func lastLine(screen string) string {
	lines := strings.Split(strings.TrimRight(screen, "\n "), "\n")
	return lines[len(lines)-1]
}

func promptCount(screen string) int { return strings.Count(screen, "vmcore>") }

// TestTerminal checks what a person at the keyboard sees: the banner and
// prompt, Tab completion of commands and options, a command's output,
// Ctrl-C stopping a long rd and returning to the prompt, Ctrl-D quitting
// with the terminal restored (canonical mode and echo back on), and the
// history kept for the next run.
func TestTerminal(t *testing.T) {
	bin := vmcoreBinary(t)
	dump := synthDump(t)
	dir := t.TempDir()
	hist := filepath.Join(dir, "history")
	// After vmcore exits, the pane's shell prints the status and the
	// terminal modes, then waits, so the test can read them. The trap keeps
	// the shell alive through Ctrl-C without changing what vmcore inherits.
	script := filepath.Join(dir, "run.sh")
	pidFile := filepath.Join(dir, "pid")
	err := os.WriteFile(script, []byte(fmt.Sprintf(`trap : INT
VMCORE_HISTORY=%s TZ=UTC sh -c 'echo $$ > %s; exec "$0" "$@"' %s %s
echo EXIT=$?
stty -a | tr ' ;' '\n\n' | grep -x -e -icanon -e icanon -e -echo -e echo | tr '\n' ' '
echo
sleep 60
`, hist, pidFile, bin, dump)), 0o755)
	if err != nil {
		t.Fatal(err)
	}

	s := startTmux(t, "sh "+script)
	sc := s.waitFor("the prompt", func(sc string) bool { return strings.HasSuffix(strings.TrimRight(sc, "\n "), "vmcore>") })
	if !strings.Contains(sc, "PANIC: \"Kernel panic - not syncing: sysrq triggered crash\"") || !strings.Contains(sc, "No debuginfo vmlinux") {
		t.Errorf("banner lacks the sys block or the no-vmlinux note:\n%s", sc)
	}

	// Completion: a unique command name, then an option.
	s.typeText("vt")
	s.keys("Tab")
	s.waitFor("vtop completed", func(sc string) bool { return strings.HasSuffix(lastLine(sc), "vmcore> vtop") })
	s.typeText("ffff888000200000")
	s.keys("Enter")
	s.waitFor("vtop output", func(sc string) bool {
		return strings.Contains(sc, "ffff888000200000  200000") && promptCount(sc) >= 2
	})
	s.typeText("rd -p -1")
	s.keys("Tab")
	s.waitFor("-16 completed", func(sc string) bool { return strings.HasSuffix(lastLine(sc), "vmcore> rd -p -16") })
	s.typeText(" 200000 2")
	s.keys("Enter")
	s.waitFor("rd -16 output", func(sc string) bool {
		return strings.Contains(sc, "          200000:  0100 0302                                 ....")
	})

	// Ctrl-C during a long command.
	s.typeText("rd -p 0 100000000")
	s.keys("Enter")
	s.waitFor("rd running", func(sc string) bool {
		return strings.Contains(sc, "00000000 00000000") || strings.Contains(sc, "0000000000000000 0000000000000000")
	})
	s.keys("C-c")
	sc = s.waitFor("the interruption and a new prompt", func(sc string) bool {
		return strings.Contains(sc, "rd: interrupted") && strings.HasSuffix(lastLine(sc), "vmcore>")
	})

	// The session still works, then Ctrl-D quits.
	s.typeText("log -t | tail -n 1")
	s.keys("Enter")
	s.waitFor("log output", func(sc string) bool { return strings.Contains(sc, "Hardware name: QEMU . Standard PC") })
	s.keys("C-d")
	sc = s.waitFor("the exit and the terminal modes", func(sc string) bool {
		return strings.Contains(sc, "EXIT=") && strings.Contains(sc[strings.Index(sc, "EXIT="):], "canon")
	})
	if !strings.Contains(sc, "EXIT=0") {
		t.Errorf("vmcore did not exit with status 0:\n%s", sc)
	}
	modes := strings.Fields(sc[strings.Index(sc, "EXIT="):])
	if strings.Join(modes[1:], " ") != "icanon echo" {
		t.Errorf("terminal not restored after exit: modes %q, want icanon echo", modes[1:])
	}

	// A second run sees the first run's history.
	s2 := startTmux(t, "sh "+script)
	s2.waitFor("the prompt", func(sc string) bool { return strings.HasSuffix(strings.TrimRight(sc, "\n "), "vmcore>") })
	s2.keys("Up")
	s2.waitFor("the last command from history", func(sc string) bool {
		return strings.HasSuffix(lastLine(sc), "vmcore> log -t | tail -n 1")
	})
	s2.keys("C-u")
	s2.typeText("q")
	s2.keys("Enter")
	sc = s2.waitFor("the exit and the terminal modes", func(sc string) bool {
		return strings.Contains(sc, "EXIT=") && strings.Contains(sc[strings.Index(sc, "EXIT="):], "canon")
	})
	if !strings.Contains(sc, "EXIT=0") {
		t.Errorf("q: vmcore did not exit with status 0:\n%s", sc)
	}
	if modes := strings.Fields(sc[strings.Index(sc, "EXIT="):]); strings.Join(modes[1:], " ") != "icanon echo" {
		t.Errorf("terminal not restored after q: modes %q, want icanon echo", modes[1:])
	}
	// SIGTERM at the prompt: the terminal is restored before exiting.
	os.Remove(pidFile)
	s3 := startTmux(t, "sh "+script)
	s3.waitFor("the prompt", func(sc string) bool { return strings.HasSuffix(strings.TrimRight(sc, "\n "), "vmcore>") })
	pidText, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(pidText)))
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	sc = s3.waitFor("the exit and the terminal modes", func(sc string) bool {
		return strings.Contains(sc, "EXIT=") && strings.Contains(sc[strings.Index(sc, "EXIT="):], "canon")
	})
	if modes := strings.Fields(sc[strings.Index(sc, "EXIT="):]); modes[0] != "EXIT=143" || strings.Join(modes[1:], " ") != "icanon echo" {
		t.Errorf("after SIGTERM: %q, want EXIT=143 icanon echo", modes)
	}

	h, err := os.ReadFile(hist)
	if err != nil || !strings.Contains(string(h), "rd -p 0 100000000\n") {
		t.Errorf("history file: %v\n%s", err, h)
	}
}
