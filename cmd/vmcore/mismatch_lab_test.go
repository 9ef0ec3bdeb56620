package main

import (
	"bytes"
	"debug/elf"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vmcoretools/vmcore/internal/lab"
)

// TestLabMismatchRefused gives every face a vmlinux that is not the dump's
// kernel: the other lab kernel's (6.1 dump with the 6.12 vmlinux and back),
// and another build of the same release (the matching vmlinux with its
// build ID changed). Each is refused before any value is printed, naming
// both kernels and the ways out; --force opens it and marks every output.
func TestLabMismatchRefused(t *testing.T) {
	l := lab.Open(t)
	d61, d612 := l.Dump("k61-kdump-zlib-d31"), l.Dump("k612-elf")
	if d61 == nil || d612 == nil {
		t.Fatal("the lab lacks k61-kdump-zlib-d31 or k612-elf")
	}
	rebuilt := otherBuild(t, d61.Vmlinux)
	pairs := []struct {
		name, vmlinux string
		dump          []string
		want          []string // in the refusal
	}{
		{"6.1-dump-6.12-vmlinux", d612.Vmlinux, d61.Files, []string{"the dump ran 6.1.", "the vmlinux is 6.12.", "-dbg", "debuginfod-find debuginfo", "--force", "own BTF and kallsyms", "--no-vmlinux"}},
		{"6.12-dump-6.1-vmlinux", d61.Vmlinux, d612.Files, []string{"the dump ran 6.12.", "the vmlinux is 6.1.", "-dbg", "--force", "own BTF and kallsyms", "--no-vmlinux"}},
		{"other-build-same-release", rebuilt, d61.Files, []string{"build ID", "(dump) vs", "--force", "--no-vmlinux"}},
	}
	forms := [][]string{{"-c", "sys"}, {"-c", "ps"}, {"ps"}, {"ps", "-json"}, {"bt"}, {"bt", "-json"}, {"log"}, {"-c", "mod"}, {"rd", "jiffies"}}
	for _, p := range pairs {
		t.Run(p.name, func(t *testing.T) {
			for _, f := range forms {
				args := append(append(append([]string{}, f...), p.vmlinux), p.dump...)
				code, out, errOut := runCmd(args...)
				json := len(f) > 1 && f[1] == "-json"
				if code != 1 {
					t.Errorf("vmcore %s: exit %d, want 1", strings.Join(f, " "), code)
				}
				if json {
					if !strings.Contains(out, `"schema":"vmcore.error/1"`) || strings.Count(out, "\n") != 1 {
						t.Errorf("vmcore %s: stdout is not one error record:\n%s", strings.Join(f, " "), out)
					}
				} else if out != "" {
					t.Errorf("vmcore %s printed values for a mismatched pair:\n%s", strings.Join(f, " "), out)
				}
				for _, w := range append(p.want, "do not match") {
					if !strings.Contains(errOut, w) {
						t.Errorf("vmcore %s: the refusal lacks %q:\n%s", strings.Join(f, " "), w, errOut)
					}
				}
				if strings.Contains(errOut, "vmcore: vmcore:") {
					t.Errorf("vmcore %s: a prefix repeats: %s", strings.Join(f, " "), errOut)
				}
			}
			// --no-vmlinux: the dump's own BTF and kallsyms, which give what
			// the matching vmlinux gives.
			right := d61.Vmlinux
			if strings.HasPrefix(p.name, "6.12-dump") {
				right = d612.Vmlinux
			}
			for _, cmd := range []string{"ps", "bt -a", "mod", "struct task_struct.comm,pid init_task"} {
				code, out, errOut := runCmd(append(append([]string{"--no-vmlinux", "-c", cmd}, p.vmlinux), p.dump...)...)
				_, want, _ := runCmd(append([]string{"-c", cmd, right}, p.dump...)...)
				if code != 0 || out != want || !strings.Contains(errOut, "is not used") {
					t.Errorf("--no-vmlinux -c %s: exit %d, stderr %q, stdout equal to the matching vmlinux's: %v", cmd, code, errOut, out == want)
				}
			}
			// At a terminal the session offers the dump's own types; on
			// yes it opens without the vmlinux.
			for _, answer := range []string{"\n", "y\n", "n\n", ""} {
				offerOwnTypes = func(err error) bool {
					return askOwnTypes(err, strings.NewReader(answer), io.Discard)
				}
				s, closeFn, err := openSession(append([]string{p.vmlinux}, p.dump...), io.Discard)
				offerOwnTypes = nil
				yes := answer == "\n" || answer == "y\n"
				switch {
				case yes && (err != nil || s.Debug != nil || s.VMLinux != ""):
					t.Errorf("answer %q: want a session without the vmlinux, got error %v", answer, err)
				case !yes && (err == nil || !strings.Contains(err.Error(), "do not match")):
					t.Errorf("answer %q: want the refusal, got %v", answer, err)
				}
				if err == nil {
					closeFn()
				}
			}
			// --force, anywhere on the line: the session opens and every
			// output says the vmlinux is wrong.
			code, _, errOut := runCmd(append(append([]string{"-c", "sys", "--force"}, p.vmlinux), p.dump...)...)
			if code != 0 || !strings.Contains(errOut, "WARNING: --force:") || !strings.Contains(errOut, "do not match") {
				t.Errorf("-c sys --force: exit %d, stderr:\n%s", code, errOut)
			}
			code, out, _ := runCmd(append(append([]string{"ps", "-json"}, p.vmlinux), append(p.dump, "--force")...)...)
			for i, line := range strings.Split(strings.TrimSpace(out), "\n") {
				if line != "" && !strings.Contains(line, `"vmlinux_mismatch":"`) {
					t.Errorf("ps -json --force: exit %d, record %d is not marked: %.200s", code, i, line)
					break
				}
			}
		})
	}
	// The matching pair still opens, unmarked.
	code, out, errOut := runCmd(append([]string{"ps", "-json", d61.Vmlinux}, d61.Files...)...)
	if code != 0 || strings.Contains(out, "vmlinux_mismatch") || strings.Contains(errOut, "WARNING") {
		t.Errorf("the matching pair: exit %d, stderr %s", code, errOut)
	}
}

// otherBuild copies vmlinux with the bytes of its GNU build ID inverted:
// the same release and banner, another build.
func otherBuild(t *testing.T, vmlinux string) string {
	f, err := elf.Open(vmlinux)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sec := f.Section(".notes")
	if sec == nil {
		sec = f.Section(".note.gnu.build-id")
	}
	if sec == nil {
		t.Fatal("the vmlinux has no note section")
	}
	data, err := sec.Data()
	if err != nil {
		t.Fatal(err)
	}
	// The build-ID note: namesz 4, descsz, type 3, "GNU\0", desc.
	i := bytes.Index(data, []byte("GNU\x00"))
	for i >= 12 && f.ByteOrder.Uint32(data[i-4:]) != 3 {
		j := bytes.Index(data[i+4:], []byte("GNU\x00"))
		if j < 0 {
			i = -1
			break
		}
		i += 4 + j
	}
	if i < 12 {
		t.Fatal("no GNU build-ID note")
	}
	descsz := int(f.ByteOrder.Uint32(data[i-8:]))
	at := int64(sec.Offset) + int64(i) + 4
	t.Logf("build ID %s at file offset %#x", hex.EncodeToString(data[i+4:i+4+descsz]), at)

	out := filepath.Join(t.TempDir(), "vmlinux-other-build")
	src, err := os.Open(vmlinux)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	id := make([]byte, descsz)
	for k := range id {
		id[k] = ^data[i+4+k]
	}
	if _, err := dst.WriteAt(id, at); err != nil {
		t.Fatal(err)
	}
	return out
}
