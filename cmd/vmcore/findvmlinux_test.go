package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestFindVMLinuxByBuildID links a tiny ELF executable with the synthetic
// dump's build ID, puts it where Debian's -dbg packages put vmlinux files
// (/usr/lib/debug/.build-id/xx/rest.debug under a test root), and checks
// that the session finds it without being told.
func TestFindVMLinuxByBuildID(t *testing.T) {
	for _, tool := range []string{"gcc", "ld"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not found", tool)
		}
	}
	dir := t.TempDir()
	src, obj := filepath.Join(dir, "k.c"), filepath.Join(dir, "k.o")
	os.WriteFile(src, []byte("int x = 1; void start_kernel(void) {}\n"), 0o644)
	const id = "0123456789abcdef0123456789abcdef01234567" // synthdump's BUILD-ID
	debugDir := filepath.Join(dir, "usr/lib/debug/.build-id", id[:2])
	os.MkdirAll(debugDir, 0o755)
	vmlinux := filepath.Join(debugDir, id[2:]+".debug")
	for _, cmd := range [][]string{
		{"gcc", "-g", "-c", "-mcmodel=kernel", "-fno-pic", "-o", obj, src},
		{"ld", "-static", "-nostdlib", "-e", "start_kernel", "-Ttext=0xffffffff80280000", "--build-id=0x" + id, "-o", vmlinux, obj},
	} {
		if out, err := exec.Command(cmd[0], cmd[1:]...).CombinedOutput(); err != nil {
			t.Skipf("%s failed (%v): %s", cmd[0], err, out)
		}
	}
	old := debugRoot
	debugRoot = dir
	defer func() { debugRoot = old }()

	dump := synthDump(t)
	code, out, errOut := runCmd("-c", "sys; sym start_kernel", dump)
	if code != 0 || !strings.Contains(out, "      KERNEL: "+vmlinux+"\n") || !strings.Contains(out, "ffffffff80280000 (T) start_kernel") {
		t.Errorf("code %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	// Moved away from its build-ID path, it is not found.
	os.Rename(vmlinux, filepath.Join(debugDir, "ffff.debug"))
	if code, out, _ := runCmd("-c", "sys", dump); code != 0 || !strings.Contains(out, "KERNEL: (no vmlinux given)") {
		t.Errorf("without a matching vmlinux: code %d\n%s", code, out)
	}
}
