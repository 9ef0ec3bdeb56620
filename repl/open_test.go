package repl

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
)

// TestOpenSessionClose opens the test kernel's dump and vmlinux through
// OpenSession, runs a command, closes, and checks that the closed session
// refuses commands instead of crashing, and that Close is idempotent.
func TestOpenSessionClose(t *testing.T) {
	_, dir := kernelSession(t)
	s, err := OpenSession(filepath.Join(dir, "vmlinux"), filepath.Join(dir, "vmcore"))
	if err != nil {
		t.Fatal(err)
	}
	run := func() (string, string) {
		var out, errOut bytes.Buffer
		(&Loop{Session: s, Out: &out, Err: &errOut}).RunArgs([]string{"p", "counter"})
		return out.String(), errOut.String()
	}
	if out, errOut := run(); !strings.Contains(out, "4294967301") || errOut != "" {
		t.Fatalf("p counter before Close: %q, %q", out, errOut)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if out, errOut := run(); out != "" || !strings.Contains(errOut, "session is closed") {
		t.Errorf("p counter after Close: %q, %q; want the session-closed error", out, errOut)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := OpenSession(filepath.Join(dir, "vmlinux"), filepath.Join(dir, "nosuch")); err == nil {
		t.Error("OpenSession of a missing dump: no error")
	}
}
