package repl

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vmcoretools/vmcore/internal/lab"
)

// TestLabQEMUPanicMatchesCrash runs trixie's crash 8.0.6 from the lab on
// the QEMU panic dumps of 512 MiB guests (sysrq-c without kdump, the dump
// taken by QEMU), which the recorded crash groups do not cover, and
// compares with ours, stdout and stderr together as crash prints them:
//   - set and foreach RU set: the panic task is (SYSRQ) here, as crash
//     marks a sysrq-c panic whose stack holds no kexec frame;
//   - kmem of addresses beyond the guest's memory (the kmem group's
//     addresses for a 1 GiB guest): a physical one, a direct-map one, a
//     struct page's that is not mapped, kmem -f of both, kmem -s of a
//     direct-map one, each with crash's warnings.
func TestLabQEMUPanicMatchesCrash(t *testing.T) {
	l := lab.Open(t)
	root := filepath.Join(l.Dir, "trixie", "root")
	ld := filepath.Join(root, "usr/lib64/ld-linux-x86-64.so.2")
	if _, err := os.Stat(ld); err != nil {
		t.Skip("the lab has no trixie crash")
	}
	n := 0
	for _, name := range []string{"q510-panic-elf", "q61-panic-elf", "q612-panic-elf"} {
		d := l.Dump(name)
		if d == nil {
			continue
		}
		n++
		t.Run(name, func(t *testing.T) {
			s, done := labSession(t, d)
			defer done()
			hex := func(expr string) uint64 {
				out, _ := runLine(t, s, "p/x", expr)
				_, v, _ := strings.Cut(strings.TrimSpace(out), " = ")
				x, err := strconv.ParseUint(strings.TrimPrefix(v, "0x"), 16, 64)
				if err != nil {
					t.Fatalf("p/x %s: %q", expr, out)
				}
				return x
			}
			pob, vmb := hex("page_offset_base"), hex("vmemmap_base")
			cmds := []string{"set", "foreach RU set",
				"kmem 3e001010",
				fmt.Sprintf("kmem %#x", pob+0x3e002000),
				fmt.Sprintf("kmem %#x", vmb+0x3e003*64),
				"kmem -f 3e001010",
				fmt.Sprintf("kmem -f %#x", pob+0x3e002000),
				fmt.Sprintf("kmem -s %#x", pob+0x3e001000)}
			in := filepath.Join(t.TempDir(), "cmds")
			if err := os.WriteFile(in, []byte(strings.Join(cmds, "\n")+"\nquit\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(ld, "--library-path", filepath.Join(root, "usr/lib/x86_64-linux-gnu"), filepath.Join(root, "usr/bin/crash"),
				"-s", "-i", in, d.Vmlinux, d.Files[0])
			want, err := cmd.Output()
			if err != nil {
				t.Fatalf("crash: %v", err)
			}
			var got bytes.Buffer
			for _, c := range cmds {
				lp := &Loop{Session: s, Out: &got, Err: &got}
				lp.RunLine(c)
			}
			if diff := cmp.Diff(string(want), got.String()); diff != "" {
				t.Errorf("(-crash +ours):\n%s", diff)
			}
			if !strings.Contains(got.String(), "(SYSRQ)") {
				t.Error("the panic task is not (SYSRQ)")
			}
		})
	}
	if n == 0 {
		t.Skip("no QEMU panic dump in the lab")
	}
}
