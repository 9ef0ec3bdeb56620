package main

import (
	"bytes"
	"debug/dwarf"
	"debug/elf"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vmcoretools/vmcore/arch/amd64"
	"github.com/vmcoretools/vmcore/internal/lab"
	"github.com/vmcoretools/vmcore/printk"
	"github.com/vmcoretools/vmcore/vmcore"
)

// TestDmesgLab runs `vmcore dmesg` on every lab dump and compares it with the
// reference tools' outputs for the same crash:
//   - kexec-tools vmcore-dmesg on the ELF dump (this dump's ELF twin):
//     byte for byte;
//   - drgn's dmesg on this dump: byte for byte;
//   - makedumpfile --dump-dmesg on this dump: every record's timestamp and
//     text, ignoring its caller-id column and continuation indent;
//   - crash `log` on this dump: byte for byte against printk.StyleCrash;
//   - crash `log -T`: byte for byte where crash knows the kernel's HZ (see
//     compareCrashTime for where it does not).
func TestDmesgLab(t *testing.T) {
	l := lab.Open(t)
	for _, d := range l.Dumps {
		t.Run(d.Name, func(t *testing.T) {
			code, out, errOut := runCmd(append([]string{"dmesg"}, d.Files...)...)
			if strings.HasPrefix(d.Format, "qemu") && code != 0 {
				// A QEMU dump without -device vmcoreinfo must say how to fix it.
				if !strings.Contains(errOut, "vmcoreinfo") {
					t.Errorf("exit %d without naming the fix: %s", code, errOut)
				}
				return
			}
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			twin := d
			if d.ELFTwin != "" {
				if tw := l.Dump(d.ELFTwin); tw != nil {
					twin = tw
				}
			}
			compared := 0
			if ref, err := os.ReadFile(twin.RefFile("", "vmcore-dmesg.txt")); err == nil && len(ref) > 0 {
				compared++
				if out != string(ref) {
					t.Errorf("differs from vmcore-dmesg on %s:\n%s", twin.Name, firstDiff(string(ref), out))
				}
			}
			// drgn prints vmcore-dmesg's layout and reads the dumps
			// vmcore-dmesg cannot (QEMU's, without virtual addresses).
			if ref, err := os.ReadFile(d.RefFile("drgn", "dmesg.txt")); err == nil && bytes.HasPrefix(ref, []byte("DRGN-ERROR")) {
				lines := strings.Split(strings.TrimSpace(string(ref)), "\n")
				t.Logf("drgn could not read this dump (%s); we could", lines[len(lines)-1])
			} else if err == nil && len(ref) > 0 {
				compared++
				if out != string(ref) {
					t.Errorf("differs from drgn's dmesg:\n%s", firstDiff(string(ref), out))
				}
			}
			if ref, err := os.ReadFile(d.RefFile("", "makedumpfile-dump-dmesg.txt")); err == nil && len(ref) > 0 {
				compared++
				if a, b := normalizeDmesg(string(ref)), normalizeDmesg(out); a != b {
					t.Errorf("timestamps or texts differ from makedumpfile --dump-dmesg:\n%s", firstDiff(a, b))
				}
			}
			crashLog, _ := os.ReadFile(d.RefFile("crash-8.0.6", "log.txt"))
			crashLogT, _ := os.ReadFile(d.RefFile("crash-8.0.6", "log-T.txt"))
			if len(crashLog) > 0 || len(crashLogT) > 0 {
				dump, err := vmcore.Open(d.Files...)
				if err != nil {
					t.Fatal(err)
				}
				recs, _, err := dump.KernelLog()
				if err != nil {
					t.Fatal(err)
				}
				if len(crashLog) > 0 {
					compared++
					var b bytes.Buffer
					(&printk.Formatter{Style: printk.StyleCrash}).Write(&b, recs)
					if b.String() != string(crashLog) {
						t.Errorf("StyleCrash differs from crash log:\n%s", firstDiff(string(crashLog), b.String()))
					}
				}
				if len(crashLogT) > 0 {
					compared++
					compareCrashTime(t, d, "dmesg -T", string(crashLogT), "-T")
				}
				dump.Close()
			}
			if compared == 0 {
				t.Skipf("no reference outputs recorded for %s yet", d.Name)
			}
		})
	}
}

// TestDmesgCallerLab compares -caller, alone and with -T and -level, with
// crash's log -c, log -T -c, log -m -c and log -T -m -c (the dmesg command
// group, recorded by testdata/lab/record_groups.sh dmesg): the caller
// column's width comes from the kernel's pid_max, read through kallsyms.
func TestDmesgCallerLab(t *testing.T) {
	l := lab.Open(t)
	recorded := 0
	for _, d := range l.Dumps {
		dir := d.RefFile("crash-8.0.6-groups", "dmesg")
		if _, err := os.Stat(filepath.Join(dir, "commands.txt")); err != nil {
			continue
		}
		recorded++
		t.Run(d.Name, func(t *testing.T) {
			for _, c := range []struct{ ref, flags string }{
				{"log-c", "-caller"},
				{"log-m-c", "-level -caller"},
				{"log-T-c", "-T -caller"},
				{"log-T-m-c", "-T -level -caller"},
			} {
				ref, err := os.ReadFile(filepath.Join(dir, c.ref+".txt"))
				if err != nil || len(ref) == 0 {
					t.Errorf("%s: no reference (%v)", c.ref, err)
					continue
				}
				compareCrashTime(t, d, "dmesg "+c.flags, string(ref), strings.Fields(c.flags)...)
			}
		})
	}
	if recorded == 0 {
		t.Skip("the dmesg crash group is not recorded (bash testdata/lab/record_groups.sh dmesg)")
	}
}

// compareCrashTime runs `vmcore dmesg FLAGS` on d and compares it byte for
// byte with crash's output ref, in UTC as crash ran. With -T both print the
// boot time plus each record's whole seconds, the boot time being the date
// minus the uptime from jiffies_64; crash divides the counter by its HZ.
// crash 8.0.6 finds HZ through DWARF (mq-deadline's write_expire) and falls
// back to 1000 when that fails, as on 6.12, whose CONFIG_HZ is 250: there
// its uptime and every stamp are wrong. So where crash's UPTIME (its
// sys.txt) is not ours, the test checks that crash's figure is exactly
// jiffies_64 read with HZ=1000, that ours is jiffies_64 read with the
// kernel config's CONFIG_HZ, and then compares with crash's stamps moved by
// the difference.
func compareCrashTime(t *testing.T, d *lab.Dump, what, ref string, flags ...string) {
	t.Helper()
	defer func(loc *time.Location) { time.Local = loc }(time.Local)
	time.Local = time.UTC
	code, out, errOut := runCmd(append(append([]string{"dmesg"}, flags...), d.Files...)...)
	if code != 0 {
		t.Errorf("%s: exit %d: %s", what, code, errOut)
		return
	}
	if !slices.Contains(flags, "-T") {
		if out != ref {
			t.Errorf("%s differs from crash:\n%s", what, firstDiff(ref, out))
		}
		return
	}
	if strings.Contains(errOut, "-T:") {
		t.Errorf("%s: %s", what, strings.TrimSpace(errOut))
	}
	dump, err := vmcore.Open(d.Files...)
	if err != nil {
		t.Fatal(err)
	}
	defer dump.Close()
	syms, err := dump.Kallsyms()
	if err != nil {
		t.Fatal(err)
	}
	up, err := dump.JiffiesUptime(syms, 0)
	if err != nil {
		t.Fatal(err)
	}
	crashUp, ok := crashUptime(d)
	if !ok {
		t.Fatalf("no UPTIME in crash's sys.txt for %s", d.Name)
	}
	if crashUp == up.Seconds {
		if out != ref {
			t.Errorf("%s differs from crash (same uptime, %d s):\n%s", what, up.Seconds, firstDiff(ref, out))
		}
		return
	}
	configHZ := kernelConfigHZ(t, d)
	if want := (up.Jiffies - initialJiffies(1000)) / 1000; crashUp != want {
		t.Fatalf("crash's uptime %d s is not jiffies_64 %d read with HZ=1000 (%d s); ours is %d s", crashUp, up.Jiffies, want, up.Seconds)
	}
	if up.HZ != configHZ || up.Seconds != (up.Jiffies-initialJiffies(configHZ))/uint64(configHZ) {
		t.Fatalf("our uptime %d s at HZ=%d (from %s) is not jiffies_64 %d read with CONFIG_HZ=%d", up.Seconds, up.HZ, up.HZFrom, up.Jiffies, configHZ)
	}
	shifted := shiftStamps(t, ref, time.Duration(int64(crashUp)-int64(up.Seconds))*time.Second)
	if out != shifted {
		t.Errorf("%s differs from crash's output moved by its HZ error:\n%s", what, firstDiff(shifted, out))
	}
	t.Logf("%s: crash assumed HZ=1000 (uptime %d s); CONFIG_HZ is %d and jiffies_64 %d gives %d s, as we print: equal to crash's output with its stamps moved by %d s",
		what, crashUp, configHZ, up.Jiffies, up.Seconds, crashUp-up.Seconds)
}

// initialJiffies is the kernel's INITIAL_JIFFIES on 64 bits:
// (unsigned long)(unsigned int)(-300*HZ).
func initialJiffies(hz int) uint64 { return uint64(uint32(-300 * int32(hz))) }

// crashUptime is the UPTIME crash printed for d (its sys.txt).
func crashUptime(d *lab.Dump) (uint64, bool) {
	text, err := os.ReadFile(d.RefFile("crash-8.0.6", "sys.txt"))
	if err != nil {
		return 0, false
	}
	m := regexp.MustCompile(`UPTIME: (\d+):(\d\d):(\d\d)`).FindStringSubmatch(string(text))
	if m == nil {
		return 0, false
	}
	h, _ := strconv.ParseUint(m[1], 10, 64)
	min, _ := strconv.ParseUint(m[2], 10, 64)
	sec, _ := strconv.ParseUint(m[3], 10, 64)
	return h*3600 + min*60 + sec, true
}

// kernelConfigHZ reads CONFIG_HZ from the config the lab keeps beside the
// kernel's vmlinux.
func kernelConfigHZ(t *testing.T, d *lab.Dump) int {
	text, err := os.ReadFile(filepath.Join(filepath.Dir(d.Vmlinux), "config"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^CONFIG_HZ=(\d+)$`).FindStringSubmatch(string(text))
	if m == nil {
		t.Fatalf("no CONFIG_HZ in the config of %s", d.Vmlinux)
	}
	hz, _ := strconv.Atoi(m[1])
	return hz
}

// shiftStamps moves every "[Mon Jan _2 15:04:05 MST 2006] " stamp of
// crash's log -T output by delta.
func shiftStamps(t *testing.T, s string, delta time.Duration) string {
	const layout = "Mon Jan _2 15:04:05 MST 2006"
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if !strings.HasPrefix(l, "[") || len(l) < len(layout)+2 || l[len(layout)+1] != ']' {
			continue
		}
		ts, err := time.Parse(layout, l[1:len(layout)+1])
		if err != nil {
			t.Fatalf("crash stamp %q: %v", l[:len(layout)+2], err)
		}
		lines[i] = "[" + ts.Add(delta).UTC().Format(layout) + l[len(layout)+1:]
	}
	return strings.Join(lines, "\n")
}

// TestTranslateLab checks the VMCOREINFO-only address translation that
// dmesg rests on against crash with the vmlinux: every 64-bit word crash's
// `rd` printed at a kernel virtual address must read the same through the
// page tables, and every word `rd -p` printed at a physical address must
// read the same through the direct map at the page_offset_base found
// without the vmlinux.
func TestTranslateLab(t *testing.T) {
	l := lab.Open(t)
	for _, d := range l.Dumps {
		t.Run(d.Name, func(t *testing.T) {
			// The ELF twin holds the same memory; a filtered dump may lack
			// some of the pages crash read there.
			files, _ := filepath.Glob(filepath.Join(d.RefFile("crash-8.0.6", ""), "rd-*.txt"))
			if tw := l.Dump(d.ELFTwin); len(files) == 0 && tw != nil {
				files, _ = filepath.Glob(filepath.Join(tw.RefFile("crash-8.0.6", ""), "rd-*.txt"))
			}
			if len(files) == 0 {
				t.Skipf("no crash rd references for %s", d.Name)
			}
			dump, err := vmcore.Open(d.Files...)
			if err != nil {
				t.Fatal(err)
			}
			defer dump.Close()
			info, err := dump.VMCOREINFO()
			if err != nil {
				t.Skipf("no VMCOREINFO: %v", err)
			}
			tr, err := amd64.NewTranslator(dump.Phys(), info)
			if err != nil {
				t.Fatal(err)
			}
			base, ok := tr.PageOffset()
			if !ok {
				t.Fatal("direct map not found")
			}
			words, excluded := 0, 0
			for _, f := range files {
				phys := strings.HasPrefix(filepath.Base(f), "rd-p-")
				if strings.HasPrefix(filepath.Base(f), "rd-a-") {
					continue // ASCII dump, no words
				}
				text, _ := os.ReadFile(f)
				for _, line := range strings.Split(string(text), "\n") {
					addrText, rest, ok := strings.Cut(line, ":")
					if !ok {
						continue
					}
					addr, err := strconv.ParseUint(strings.TrimSpace(addrText), 16, 64)
					if err != nil {
						continue
					}
					if phys {
						addr += base
					}
					for i, w := range strings.Fields(rest) {
						want, err := strconv.ParseUint(w, 16, 64)
						if err != nil || len(w) != 16 {
							break // the ASCII column
						}
						var b [8]byte
						va := addr + uint64(8*i)
						if _, err := tr.ReadVirt(b[:], va); err != nil {
							if errors.Is(err, vmcore.ErrExcluded) && d.DumpLevel != 0 {
								excluded++
								continue
							}
							t.Errorf("%s: %#x: %v", filepath.Base(f), va, err)
							continue
						}
						if got := binary.LittleEndian.Uint64(b[:]); got != want {
							t.Errorf("%s: %#x holds %#016x, crash read %#016x", filepath.Base(f), va, got, want)
						}
						words++
					}
				}
			}
			if words == 0 {
				t.Fatal("no words compared")
			}
			t.Logf("%d words agree, %d on pages the dump level excluded; page_offset_base %#x", words, excluded, base)
		})
	}
}

// TestLevelOffsetsLab checks the level and facility offsets that printk
// derives for 5.10+ kernels (VMCOREINFO does not export them) against the
// DWARF of the lab kernels' vmlinux: struct printk_info's facility byte and
// the byte and bit position of its level:3 bitfield.
func TestLevelOffsetsLab(t *testing.T) {
	l := lab.Open(t)
	seen := map[string]bool{}
	for _, d := range l.Dumps {
		if d.Vmlinux == "" || seen[d.Vmlinux] || strings.HasPrefix(d.Name, "q") {
			continue
		}
		seen[d.Vmlinux] = true
		t.Run(d.Kernel, func(t *testing.T) {
			dump, err := vmcore.Open(d.Files...)
			if err != nil {
				t.Fatal(err)
			}
			layout, err := printk.LayoutFromVMCOREINFO(dump.Info())
			dump.Close()
			if err != nil {
				t.Fatal(err)
			}
			facility, levelBit := printkInfoFromDWARF(t, d.Vmlinux)
			k := layout.Lockless
			t.Logf("DWARF: facility at byte %d, level:3 at bit %d; derived: bytes %d and %d", facility, levelBit, k.InfoFacility, k.InfoLevel)
			if k.InfoFacility != facility {
				t.Errorf("facility at %d, DWARF says %d", k.InfoFacility, facility)
			}
			// printk reads the level as the top 3 bits of byte InfoLevel.
			if want := k.InfoLevel*8 + 5; levelBit != want {
				t.Errorf("level:3 at bit %d, printk reads bit %d", levelBit, want)
			}
		})
	}
}

// printkInfoFromDWARF returns the byte offset of printk_info.facility and
// the bit offset of printk_info.level, from the vmlinux's DWARF. Only the
// compilation unit of kernel/printk/printk_ringbuffer.c is read.
func printkInfoFromDWARF(t *testing.T, vmlinux string) (facility, levelBit int) {
	f, err := elf.Open(vmlinux)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dw, err := f.DWARF()
	if err != nil {
		t.Fatal(err)
	}
	r := dw.Reader()
	for {
		cu, err := r.Next()
		if err != nil || cu == nil {
			t.Fatalf("no struct printk_info in %s (%v)", vmlinux, err)
		}
		name, _ := cu.Val(dwarf.AttrName).(string)
		if cu.Tag != dwarf.TagCompileUnit || !strings.HasSuffix(name, "kernel/printk/printk_ringbuffer.c") {
			r.SkipChildren()
			continue
		}
		for {
			e, err := r.Next()
			if err != nil || e == nil || e.Tag == 0 && e.Offset == 0 {
				t.Fatalf("no struct printk_info in %s", name)
			}
			if e.Tag != dwarf.TagStructType || e.Val(dwarf.AttrName) != "printk_info" || !e.Children {
				if e.Children {
					r.SkipChildren()
				}
				continue
			}
			facility, levelBit = -1, -1
			for {
				m, err := r.Next()
				if err != nil || m == nil || m.Tag == 0 {
					break
				}
				off, _ := m.Val(dwarf.AttrDataMemberLoc).(int64)
				switch m.Val(dwarf.AttrName) {
				case "facility":
					facility = int(off)
				case "level":
					if b, ok := m.Val(dwarf.AttrDataBitOffset).(int64); ok {
						levelBit = int(b)
					} else if b, ok := m.Val(dwarf.AttrBitOffset).(int64); ok {
						// DWARF 2-3's form (gcc 10's DWARF 4, as for
						// 5.10): bits from the top of the storage unit.
						unit, _ := m.Val(dwarf.AttrByteSize).(int64)
						size, _ := m.Val(dwarf.AttrBitSize).(int64)
						levelBit = int(off*8 + unit*8 - b - size)
					}
				}
			}
			if facility < 0 || levelBit < 0 {
				t.Fatalf("struct printk_info in %s lacks facility or level", name)
			}
			return facility, levelBit
		}
	}
}

// normalizeDmesg drops what makedumpfile adds to vmcore-dmesg's layout: the
// "[ T123] " caller column after the timestamp and the indentation of
// continuation lines.
func normalizeDmesg(s string) string {
	caller := regexp.MustCompile(`(?m)^(\[ *[0-9]+\.[0-9]{6}\] )\[ *[TC][0-9]+\] `)
	s = caller.ReplaceAllString(s, "$1")
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimLeft(l, " ")
	}
	return strings.Join(lines, "\n")
}

// firstDiff shows the first differing line of want and got.
func firstDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		var a, b string
		if i < len(w) {
			a = w[i]
		}
		if i < len(g) {
			b = g[i]
		}
		if a != b {
			return "line " + strconv.Itoa(i+1) + ":\n want " + quoteLine(a) + "\n  got " + quoteLine(b)
		}
	}
	return "(same lines)"
}

func quoteLine(s string) string {
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return strconv.Quote(s)
}
