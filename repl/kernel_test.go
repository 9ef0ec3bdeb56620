package repl

import (
	"bytes"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vmcoretools/vmcore/dwarfsym"
	"github.com/vmcoretools/vmcore/repl/synthdump"
	"github.com/vmcoretools/vmcore/vmcore"
)

// testKernelC is a tiny "kernel" whose DWARF, symbols and data the
// vmlinux commands read: compiled with the kernel's code model and linked
// at a kernel image address, its segments are copied into the synthetic
// dump.
const testKernelC = `
struct list_head { struct list_head *next, *prev; };
struct thing {
	int id;
	unsigned long flags;
	char name[16];
	union { int a; long b; };
	unsigned int bit1 : 1, bit3 : 3;
	struct list_head link;
};
struct thing init_thing = { .id = 7, .flags = 0x30, .name = "first", .b = -2, .bit1 = 1, .bit3 = 5, .link = { &init_thing.link, &init_thing.link } };
unsigned long counter = 4294967296UL + 5;
const char linux_banner[] = "Linux version 6.1.0-test (builder@test)\n";
int result;
__attribute__((noinline)) int do_work(struct thing *t) { return t->id + (int)counter; }
void start_kernel(void) { result = do_work(&init_thing); }
`

// kernelSession builds the test kernel with gcc and ld (skipping without
// them) and opens it with the synthetic dump.
func kernelSession(t *testing.T) (*Session, string) {
	t.Helper()
	for _, tool := range []string{"gcc", "ld"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not found: the vmlinux commands' hermetic tests need gcc and ld", tool)
		}
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "k.c")
	os.WriteFile(src, []byte(testKernelC), 0o644)
	obj, vmlinux := filepath.Join(dir, "k.o"), filepath.Join(dir, "vmlinux")
	for _, cmd := range [][]string{
		{"gcc", "-g", "-O1", "-c", "-mcmodel=kernel", "-fno-pic", "-fno-stack-protector", "-fcf-protection=branch", "-o", obj, src},
		{"ld", "-static", "-nostdlib", "-e", "start_kernel", "-Ttext=0xffffffff80280000", "-z", "max-page-size=4096", "--build-id=0x" + synthdump.BuildID, "-o", vmlinux, obj},
	} {
		if out, err := exec.Command(cmd[0], cmd[1:]...).CombinedOutput(); err != nil {
			t.Skipf("%s failed (%v): %s", cmd[0], err, out)
		}
	}
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
	dump := filepath.Join(dir, "vmcore")
	if err := synthdump.WriteImage(dump, segs); err != nil {
		t.Fatal(err)
	}
	d, err := vmcore.Open(dump)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	f, err := dwarfsym.Open(vmlinux)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	s, err := NewKernelSession(d, vmlinux, f, vmcore.KernelOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return s, dir
}

// TestKernelCommands runs testdata/kernel/*.cmds with the test kernel and
// compares with the golden files (written with -update and read through).
func TestKernelCommands(t *testing.T) {
	s, dir := kernelSession(t)
	scripts, _ := filepath.Glob("testdata/kernel/*.cmds")
	if len(scripts) == 0 {
		t.Fatal("no scripts in testdata/kernel")
	}
	for _, path := range scripts {
		script, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := runScript(t, s, string(script))
		got = strings.ReplaceAll(got, s.VMLinux, "VMLINUX")
		got = strings.ReplaceAll(got, dir, "DIR")
		golden := strings.TrimSuffix(path, ".cmds") + ".golden"
		if *update {
			os.WriteFile(golden, []byte(got), 0o644)
			continue
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(string(want), got); d != "" {
			t.Errorf("%s (-want +got):\n%s", path, d)
		}
	}
}

// TestKernelDis checks dis on compiler output, whose exact instructions
// depend on gcc's version: the function starts with endbr64
// (-fcf-protection), every line has crash's layout, and the call from
// start_kernel names do_work.
func TestKernelDis(t *testing.T) {
	s, _ := kernelSession(t)
	var out bytes.Buffer
	l := &Loop{Session: s, Out: &out, Err: &out}
	l.RunLine("dis do_work")
	lines := strings.Split(strings.TrimRight(out.String(), "\n"), "\n")
	if len(lines) < 3 || lines[0] != "0xffffffff80280000 <do_work>:\tendbr64 " {
		t.Fatalf("dis do_work:\n%s", out.String())
	}
	for _, line := range lines {
		if !strings.HasPrefix(line, "0xffffffff8028") || !strings.Contains(line, " <do_work") || !strings.Contains(line, ">:\t") {
			t.Errorf("line not in crash's layout: %q", line)
		}
	}
	out.Reset()
	l.RunLine("dis start_kernel")
	if !strings.Contains(out.String(), " <do_work>") {
		t.Errorf("dis start_kernel does not name its call target:\n%s", out.String())
	}
}

// TestSymNotFoundFails: sym prints crash's "symbol not found" where crash
// does, and the failure counts, so that -c and scripts exit 1.
func TestSymNotFoundFails(t *testing.T) {
	s, _ := kernelSession(t)
	var out, errOut bytes.Buffer
	l := &Loop{Session: s, Out: &out, Err: &errOut}
	l.RunLine("sym start_kernel")
	if l.Failed != 0 || !strings.Contains(out.String(), "start_kernel") {
		t.Fatalf("sym start_kernel: failed %d, %q %q", l.Failed, out.String(), errOut.String())
	}
	out.Reset()
	l.RunLine("sym nosuchsym")
	if l.Failed != 1 || !strings.HasPrefix(out.String(), "symbol not found: nosuchsym\n") || errOut.Len() != 0 {
		t.Errorf("sym nosuchsym: failed %d, stdout %q, stderr %q", l.Failed, out.String(), errOut.String())
	}
}
