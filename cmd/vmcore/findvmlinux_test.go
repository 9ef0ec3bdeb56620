package main

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vmcoretools/vmcore/repl/synthdump"
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
	os.WriteFile(src, []byte("int x = 1; const char linux_banner[] = \"Linux version 6.1.0-test (builder@test)\\n\";\nvoid start_kernel(void) {}\n"), 0o644)
	const id = synthdump.BuildID
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

	// The dump holds the kernel's image, so that its linux_banner is
	// the vmlinux's, as a real pair's is.
	ef, err := elf.Open(vmlinux)
	if err != nil {
		t.Fatal(err)
	}
	var segs []synthdump.Segment
	for _, p := range ef.Progs {
		if p.Type != elf.PT_LOAD || p.Vaddr < synthdump.KernelMap {
			continue
		}
		data := make([]byte, p.Filesz)
		if _, err := p.ReadAt(data, 0); err != nil {
			t.Fatal(err)
		}
		segs = append(segs, synthdump.Segment{Vaddr: p.Vaddr, Data: data})
	}
	ef.Close()
	dump := filepath.Join(t.TempDir(), "vmcore")
	if err := synthdump.WriteImage(dump, segs); err != nil {
		t.Fatal(err)
	}
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
