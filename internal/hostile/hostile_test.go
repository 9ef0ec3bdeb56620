package hostile

import (
	"context"
	"debug/elf"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vmcoretools/vmcore/internal/lab"
	"github.com/vmcoretools/vmcore/repl/synthdump"
	"github.com/vmcoretools/vmcore/vmcore"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// vmcoreBinary builds cmd/vmcore once.
func vmcoreBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "hostile-bin")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "vmcore")
		out, err := exec.Command("go", "build", "-o", binPath, "github.com/vmcoretools/vmcore/cmd/vmcore").CombinedOutput()
		if err != nil {
			binErr = err
			t.Logf("%s", out)
		}
	})
	if binErr != nil {
		t.Fatalf("building vmcore: %v", binErr)
	}
	return binPath
}

// Commands that read a dump without a vmlinux, and with one.
var (
	dumpOnly = []Command{
		{"info", "{}"},
		{"info", "-json", "{}"},
		{"dmesg", "{}"},
		{"dmesg", "-json", "{}"},
		{"dmesg", "-T", "-level", "-caller", "{}"},
		{"-c", "sys; log -T | tail -3; rd -p 0 8; vtop ffffffff81000000", "{}"},
		{"triage", "-json", "-no-vmlinux", "{}"},
	}
	convertCmd = Command{"convert", "-c", "zstd", "-f", "{}", "{out}"}
)

func withVmlinux(vmlinux string) []Command {
	return []Command{
		{"-c", "sys; log | tail -3; ps; ps -G; bt -a; foreach bt; mod; runq; files 1; vm 1; sig 1; kmem -i; kmem -V; kmem -z; kmem -s; " +
			"list task_struct.tasks -h init_task -s task_struct.pid; list -H modules -o module.list -s module.name; " +
			"kmem -f; kmem -h; kmem -v; kmem -g 4000; kmem -p 1000000; kmem 1000000; " +
			"tree -t rbtree -o vmap_area.rb_node vmap_area_root -p; tree -t x -r pid_namespace.idr init_pid_ns -s pid.level; " +
			"search -s init_task -l 65536 init_task; search -p -s 1000000 -l 4000000 -c Linux", vmlinux, "{}"},
		{"kmem", "-json", vmlinux, "{}", "-i"},
		{"ps", "-json", vmlinux, "{}"},
		{"bt", "-json", "-a", vmlinux, "{}"},
		{"triage", "-json", vmlinux, "{}"},
	}
}

// commandsFor says which commands run on a variant: every command that
// reads a dump alone; with the vmlinux, the session on every variant and
// the JSON forms on damaged memory; convert where the damage is in the
// data it copies (truncations, pages, VMCOREINFO, memory). Convert is
// left out of header damage: a header claiming a terabyte of memory
// makes it write descriptors for every page claimed, which is work in
// proportion to the claim, not a hang, and takes minutes.
func commandsFor(vmlinux []Command) func(Variant) []Command {
	return func(v Variant) []Command {
		cmds := append([]Command(nil), dumpOnly...)
		if v.Path != "" { // a device: nothing to convert or pair
			return cmds
		}
		if len(vmlinux) > 0 {
			cmds = append(cmds, vmlinux[0])
			if v.Class == "tasks" || v.Class == "runq" || v.Class == "modules" || v.Class == "printk" {
				cmds = append(cmds, vmlinux[1:]...)
			}
		}
		switch v.Class {
		case "truncate", "pages", "vmcoreinfo", "tasks", "runq", "modules", "printk", "endless":
			cmds = append(cmds, convertCmd)
		}
		return cmds
	}
}

// check runs the variants and fails the test on any panic, hang, input
// change or run over maxRSS; it logs the table of classes.
func check(t *testing.T, variants []Variant, cmds func(Variant) []Command, timeout time.Duration, maxRSS int64) []ClassSummary {
	t.Helper()
	r := &Runner{Bin: vmcoreBinary(t), Dir: t.TempDir(), Timeout: timeout}
	var all []Result
	for _, v := range variants {
		res, err := r.Run(context.Background(), v, cmds(v))
		if err != nil {
			t.Errorf("%s/%s: %v", v.Class, v.Name, err)
			continue
		}
		for _, x := range res {
			if why := x.Failed(maxRSS); why != "" {
				t.Errorf("%s: %s: vmcore %s %s (exit %d, %v):\n%s", x.Variant.Class, x.Variant.Name, strings.Join(x.Command, " "), why, x.Exit, x.Elapsed.Round(time.Millisecond), x.Stderr)
			}
		}
		all = append(all, res...)
	}
	sum := Summarize(all, maxRSS)
	var b strings.Builder
	Table(&b, sum)
	t.Logf("%d variants, %d runs:\n%s", len(variants), len(all), b.String())
	return sum
}

// TestHostileSynthetic damages the synthetic ELF dump and its conversions
// to the compressed and flattened kdump formats in every way the
// generators know, and runs every command that reads a dump alone.
func TestHostileSynthetic(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("runs the binary with /dev/zero and rusage: Linux")
	}
	if testing.Short() {
		t.Skip("builds and runs the binary a few thousand times")
	}
	bin := vmcoreBinary(t)
	dir := t.TempDir()
	raw := filepath.Join(dir, "synth.raw")
	if err := synthdump.Write(raw); err != nil {
		t.Fatal(err)
	}
	elfBase := filepath.Join(dir, "synth.elf")
	writeELF(t, raw, elfBase)
	kdumpBase, flatBase := filepath.Join(dir, "synth.kdump"), filepath.Join(dir, "synth.flat")
	for _, args := range [][]string{{"convert", "-c", "zlib", raw, kdumpBase}, {"convert", "-c", "lzo", "-F", raw, flatBase}} {
		if out, err := exec.Command(bin, args...).CombinedOutput(); err != nil {
			t.Fatalf("vmcore %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	var vs []Variant
	for _, g := range []struct {
		base string
		gen  func(string) ([]Variant, error)
	}{{elfBase, ELFVariants}, {kdumpBase, KdumpVariants}, {flatBase, FlatVariants}} {
		v, err := g.gen(g.base)
		if err != nil {
			t.Fatalf("%s: %v", g.base, err)
		}
		if len(v) < 5 {
			t.Fatalf("%s: only %d variants", g.base, len(v))
		}
		vs = append(vs, v...)
	}
	vs = append(vs, Endless()...)
	sum := check(t, vs, commandsFor(nil), 30*time.Second, 512<<20)
	classes := map[string]bool{}
	for _, c := range sum {
		classes[c.Class] = true
	}
	for _, want := range []string{"truncate", "header", "sparse", "pages", "vmcoreinfo", "endless"} {
		if !classes[want] {
			t.Errorf("no variant of class %s", want)
		}
	}
}

// TestLabHostile damages real dumps: the 6.1 kdump's compressed and
// flattened forms (format damage, without and with the vmlinux), and its
// ELF form's memory (the printk ring, task list, run queue and module
// list broken), with the vmlinux.
func TestLabHostile(t *testing.T) {
	l := lab.Open(t)
	kd, flat, el := l.Dump("k61-kdump-zlib-d31"), l.Dump("k61-flat-zlib-d31"), l.Dump("k61-elf-d31")
	if kd == nil || flat == nil || el == nil {
		t.Fatal("the lab lacks k61-kdump-zlib-d31, k61-flat-zlib-d31 or k61-elf-d31")
	}
	var vs []Variant
	v, err := KdumpVariants(kd.Files[0])
	if err != nil {
		t.Fatal(err)
	}
	vs = append(vs, v...)
	if v, err = FlatVariants(flat.Files[0]); err != nil {
		t.Fatal(err)
	}
	vs = append(vs, v...)
	k, err := vmcore.Load(el.Vmlinux, el.Files...)
	if err != nil {
		t.Fatal(err)
	}
	mem, problems, err := MemoryVariants(k, el.Files[0])
	k.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(mem) < 15 || len(problems) > 0 {
		t.Errorf("%d memory variants; structures not damaged: %q", len(mem), problems)
	}
	vs = append(vs, mem...)
	check(t, vs, commandsFor(withVmlinux(kd.Vmlinux)), 120*time.Second, 2<<30)
}

// writeELF writes the dump at from as an ELF core: a note segment with its
// VMCOREINFO, and its physical memory as one load segment.
func writeELF(t *testing.T, from, to string) {
	d, err := vmcore.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	mem := make([]byte, 4<<20)
	for pa := 0; pa < len(mem); pa += 4096 {
		d.ReadPhys(mem[pa:pa+4096], uint64(pa)) // excluded pages stay zero
	}
	info := d.Info().Raw()
	le := binary.LittleEndian
	note := make([]byte, 12, 12+12+len(info)+4)
	le.PutUint32(note[0:], 11) // "VMCOREINFO\0"
	le.PutUint32(note[4:], uint32(len(info)))
	note = append(note, "VMCOREINFO\x00\x00"...)
	note = append(note, info...)
	for len(note)%4 != 0 {
		note = append(note, 0)
	}
	const phnum = 2
	hdr := 64 + 56*phnum
	out := make([]byte, hdr)
	copy(out, elf.ELFMAG)
	out[4], out[5], out[6] = byte(elf.ELFCLASS64), byte(elf.ELFDATA2LSB), byte(elf.EV_CURRENT)
	le.PutUint16(out[16:], uint16(elf.ET_CORE))
	le.PutUint16(out[18:], uint16(elf.EM_X86_64))
	le.PutUint32(out[20:], 1)
	le.PutUint64(out[32:], 64)
	le.PutUint16(out[52:], 64)
	le.PutUint16(out[54:], 56)
	le.PutUint16(out[56:], phnum)
	ph := func(i int, typ elf.ProgType, off, vaddr, paddr, size uint64) {
		b := out[64+56*i:]
		le.PutUint32(b[0:], uint32(typ))
		le.PutUint64(b[8:], off)
		le.PutUint64(b[16:], vaddr)
		le.PutUint64(b[24:], paddr)
		le.PutUint64(b[32:], size)
		le.PutUint64(b[40:], size)
	}
	ph(0, elf.PT_NOTE, uint64(hdr), 0, 0, uint64(len(note)))
	ph(1, elf.PT_LOAD, uint64(hdr+len(note)), synthdump.DirectMap, 0, uint64(len(mem)))
	out = append(out, note...)
	out = append(out, mem...)
	if err := os.WriteFile(to, out, 0o644); err != nil {
		t.Fatal(err)
	}
}
