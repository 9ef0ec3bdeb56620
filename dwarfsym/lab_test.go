package dwarfsym

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vmcoretools/vmcore/internal/lab"
	"github.com/vmcoretools/vmcore/vmcoreinfo"
)

func labVmlinux(t *testing.T, kernel string) *File {
	t.Helper()
	l := lab.Open(t)
	p := filepath.Join(l.Dir, "kernel", kernel, "vmlinux")
	f, err := Open(p)
	if err != nil {
		t.Skipf("no %s vmlinux in the lab: %v", kernel, err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// TestLabSymbolsLikeNm checks every symbol nm(1) lists (the reference
// for System.map, which Debian ships only as a stub), both ways: name to
// address, and address to a symbol at that address.
func TestLabSymbolsLikeNm(t *testing.T) {
	f := labVmlinux(t, "6.1")
	nm, err := exec.LookPath("nm")
	if err != nil {
		t.Skip("nm (binutils) not installed")
	}
	out, err := exec.Command(nm, f.Path()).Output()
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	n, bad := 0, 0
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) != 3 {
			continue
		}
		addr, err := strconv.ParseUint(fs[0], 16, 64)
		if err != nil || strings.ContainsAny(fs[1], "aAuUwWvVN") {
			continue
		}
		all := f.LookupAll(fs[2])
		match := false
		for _, x := range all {
			if x.Addr == addr {
				match = true
				if x.Kind() != fs[1][0] {
					if bad++; bad < 10 {
						t.Errorf("%s: kind %c, nm says %s", fs[2], x.Kind(), fs[1])
					}
				}
			}
		}
		if !match {
			if bad++; bad < 10 {
				t.Errorf("nm: %s at %#x; LookupAll finds %d of that name elsewhere", fs[2], addr, len(all))
			}
			continue
		}
		if addr >= 0xffffffff80000000 {
			got, off, ok := f.SymbolAt(addr)
			if !ok || off != 0 || got.Addr != addr {
				if bad++; bad < 10 {
					t.Errorf("SymbolAt(%#x) = %s+%#x %v, nm says %s", addr, got.Name, off, ok, fs[2])
				}
			}
		}
		n++
	}
	if n < 100000 {
		t.Errorf("only %d symbols checked", n)
	}
	t.Logf("%d symbols checked against nm, %d bad", n, bad)
}

// TestLabVMCOREINFO checks every SIZE() and OFFSET() the kernel exported
// in VMCOREINFO (the kernel's own sizeof and offsetof) against DWARF.
func TestLabVMCOREINFO(t *testing.T) {
	f := labVmlinux(t, "6.1")
	raw, err := os.ReadFile("../printk/testdata/vmcoreinfo-6.1.0-56-cloud-amd64.txt")
	if err != nil {
		t.Skip(err)
	}
	info, err := vmcoreinfo.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	if id, _ := f.BuildID(); id != info.BuildID() {
		t.Skipf("VMCOREINFO of build %s, vmlinux %s", info.BuildID(), id)
	}
	n := 0
	for _, k := range info.Keys() {
		v, _ := info.Get(k)
		want, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			continue
		}
		switch {
		case strings.HasPrefix(k, "SIZE("):
			name := strings.TrimSuffix(strings.TrimPrefix(k, "SIZE("), ")")
			got, err := f.Sizeof(name)
			if err != nil {
				got, err = f.Sizeof("struct " + name)
			}
			if err != nil || got != want {
				t.Errorf("%s = %d; DWARF says %d (%v)", k, want, got, err)
			}
			n++
		case strings.HasPrefix(k, "OFFSET("):
			typ, member, _ := strings.Cut(strings.TrimSuffix(strings.TrimPrefix(k, "OFFSET("), ")"), ".")
			got, err := f.Offset(typ, member)
			if err != nil {
				got, err = f.Offset("struct "+typ, member)
			}
			if err != nil || got != want {
				t.Errorf("%s = %d; DWARF says %d (%v)", k, want, got, err)
			}
			n++
		}
	}
	if n < 40 {
		t.Errorf("only %d SIZE/OFFSET entries checked", n)
	}
	t.Logf("%d SIZE/OFFSET entries agree", n)
}

// TestLabLayoutLikeCrash compares struct -o task_struct with crash 8.0.6's
// output for the same vmlinux, line by line.
func TestLabLayoutLikeCrash(t *testing.T) {
	f := labVmlinux(t, "6.1")
	want, err := os.ReadFile("testdata/crash-8.0.6-struct-o-task_struct-6.1.0-56-cloud-amd64.txt")
	if err != nil {
		t.Fatal(err)
	}
	if r, _ := f.Release(); r != "6.1.0-56-cloud-amd64" {
		t.Skipf("lab vmlinux is %s", r)
	}
	ts, err := f.Type("struct task_struct")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	WriteLayout(&b, ts, false)
	if diff := cmp.Diff(strings.Split(string(want), "\n"), strings.Split(b.String(), "\n")); diff != "" {
		t.Errorf("struct -o task_struct (-crash +ours):\n%s", diff)
	}
}

// TestLabInlinedLines: schedule+5 in the 6.1 kernel is get_current()
// inlined into schedule (arch/x86/include/asm/current.h, called from
// kernel/sched/core.c), per the unit's line table and inlined-subroutine
// entries (as addr2line -i reports).
func TestLabInlinedLines(t *testing.T) {
	f := labVmlinux(t, "6.1")
	s, ok := f.Lookup("schedule")
	if !ok {
		t.Fatal("no schedule")
	}
	fr, err := f.Lines(s.Addr)
	if err != nil || len(fr) != 1 || fr[0].Function != "schedule" || !strings.HasSuffix(fr[0].File, "kernel/sched/core.c") {
		t.Fatalf("Lines(schedule) = %+v, %v", fr, err)
	}
	a2l, err := exec.LookPath("addr2line")
	if err != nil {
		t.Fatal("no addr2line (binutils; test.sh installs it)")
	}
	// One addr2line run for all addresses: -a prints each address before
	// its function and file:line pairs (innermost first).
	args := []string{"-a", "-i", "-f", "-e", f.Path()}
	for off := uint64(1); off < 48; off++ {
		args = append(args, strconv.FormatUint(s.Addr+off, 16))
	}
	out, err := exec.Command(a2l, args...).Output()
	if err != nil {
		t.Fatal(err)
	}
	want := map[uint64][]string{}
	var cur uint64
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	for i := 0; i < len(lines); i++ {
		if strings.HasPrefix(lines[i], "0x") {
			cur, _ = strconv.ParseUint(strings.TrimPrefix(lines[i], "0x"), 16, 64)
			continue
		}
		if i+1 >= len(lines) {
			break
		}
		fl := lines[i+1]
		if j := strings.Index(fl, " (discriminator"); j >= 0 {
			fl = fl[:j]
		}
		want[cur] = append(want[cur], lines[i]+" "+filepath.Base(fl))
		i++
	}
	// The innermost line is gdb's, as crash shows it (sym, bt -l): where
	// a row that is not a statement shares its address with one that is,
	// gdb's find_pc_line takes the statement row and addr2line the last
	// row; at schedule+5 and +6 addr2line says core.c:6654 and gdb (and
	// so crash) current.h:15. With gdb at hand its `info line` replaces
	// addr2line's innermost file:line.
	gdb, err := exec.LookPath("gdb")
	if err != nil {
		t.Fatal("no gdb, whose line choice crash shows (test.sh installs it)")
	}
	gargs := []string{"-batch", "-nx"}
	for off := uint64(1); off < 48; off++ {
		gargs = append(gargs, "-ex", fmt.Sprintf("info line *%#x", s.Addr+off))
	}
	gout, err := exec.Command(gdb, append(gargs, f.Path())...).Output()
	if err != nil {
		t.Fatalf("gdb: %v", err)
	}
	lineRE := regexp.MustCompile(`^Line (\d+) of "([^"]+)"\s+(?:starts at|is at) address (0x[0-9a-f]+)`)
	off := uint64(1)
	for _, l := range strings.Split(string(gout), "\n") {
		if !strings.HasPrefix(l, "Line ") && !strings.HasPrefix(l, "No line") {
			continue
		}
		if m := lineRE.FindStringSubmatch(l); m != nil && len(want[s.Addr+off]) > 0 {
			w := want[s.Addr+off]
			fn, _, _ := strings.Cut(w[0], " ")
			w[0] = fn + " " + filepath.Base(m[2]) + ":" + m[1]
		}
		off++
	}
	if off != 48 {
		t.Fatalf("gdb answered %d of 47 info line queries:\n%s", off-1, gout)
	}
	inlined := 0
	for off := uint64(1); off < 48; off++ {
		fr, err := f.Lines(s.Addr + off)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, x := range fr {
			got = append(got, x.Function+" "+filepath.Base(x.File)+":"+strconv.Itoa(x.Line))
		}
		if len(fr) > 1 {
			inlined++
		}
		if diff := cmp.Diff(want[s.Addr+off], got); diff != "" {
			t.Errorf("schedule+%d (-addr2line +ours):\n%s", off, diff)
		}
	}
	if inlined == 0 {
		t.Error("no inlined frames in schedule's first 48 bytes")
	}
}
