package main

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vmcoretools/vmcore/kdumpfmt"
)

// dmesgDump builds a small x86_64 kdump whose memory holds what `vmcore
// dmesg` needs: page tables mapping the kernel image with 2 MiB pages and
// the direct map with a 1 GiB page, and a 6.1 lockless printk ring inside
// the image (where the kernel's static ring lives). excludeText drops the
// text ring's page from the dump.
func dmesgDump(t *testing.T, excludeText, withInfo bool) string {
	t.Helper()
	return dmesgDumpWith(t, dmesgDumpOptions{excludeText: excludeText, withInfo: withInfo})
}

// dmesgDumpOptions shape the dump dmesgDumpWith builds.
type dmesgDumpOptions struct {
	excludeText, withInfo bool
	// vars, when set, are kernel variables the image holds and its
	// kallsyms tables name (with _stext), located by VMCOREINFO as from 6.0.
	vars []kernelVar
	// badKallsyms writes a kallsyms_num_syms of 0.
	badKallsyms bool
	// noCrashTime leaves CRASHTIME out of VMCOREINFO and the timestamp
	// out of the header, as QEMU does.
	noCrashTime bool
}

type kernelVar struct {
	name  string
	typ   byte
	value uint64 // stored little-endian in size bytes
	size  int
	raw   []byte // stored instead, when set
}

func dmesgDumpWith(t *testing.T, opt dmesgDumpOptions) string {
	t.Helper()
	excludeText, withInfo := opt.excludeText, opt.withInfo
	const (
		startKernelMap = 0xffffffff80000000
		kaslr          = 0x24000000
		physBase       = 0x1000000 // the image is at physical phys_base + kaslr
		image          = startKernelMap + kaslr
		pageOffset     = 0xffff9d4ec0000000
	)
	mem := map[uint64][]byte{}
	page := func(pa uint64) []byte {
		p, ok := mem[pa>>12]
		if !ok {
			p = make([]byte, 4096)
			mem[pa>>12] = p
		}
		return p
	}
	put64 := func(pa, v uint64) { binary.LittleEndian.PutUint64(page(pa)[pa&4095:], v) }
	pa := func(va uint64) uint64 { return va - startKernelMap + physBase }
	vput64 := func(va, v uint64) { put64(pa(va), v) }
	vwrite := func(va uint64, b []byte) {
		for i, c := range b {
			page(pa(va + uint64(i)))[(pa(va)+uint64(i))&4095] = c
		}
	}

	pgd := uint64(image + 0x100000)
	// Tables outside the image, at 8 MiB.
	pudK, pmdK, pudD := uint64(0x800000), uint64(0x801000), uint64(0x802000)
	put64(pa(pgd)+511*8, pudK|3)
	put64(pudK+((image>>30)&511)*8, pmdK|3)
	for i := uint64(0); i < 8; i++ { // 16 MiB of image
		put64(pmdK+(((image>>21)&511)+i)*8, (physBase+kaslr+i<<21)|0x83)
	}
	put64(pa(pgd)+((pageOffset>>39)&511)*8, pudD|3)
	put64(pudD+((pageOffset>>30)&511)*8, 0|0x83) // 1 GiB page at physical 0

	// The ring (6.1 offsets, as in VMCOREINFO below).
	prbVar, rb := uint64(image+0x200000), uint64(image+0x201000)
	descs, infos, data := uint64(image+0x210000), uint64(image+0x220000), uint64(image+0x240000)
	vput64(prbVar, rb)
	binary.LittleEndian.PutUint32(page(pa(rb))[pa(rb)&4095:], 4) // count_bits: 16 descriptors
	vput64(rb+8, descs)
	vput64(rb+16, infos)
	binary.LittleEndian.PutUint32(page(pa(rb + 40))[pa(rb+40)&4095:], 12) // size_bits: 4 KiB
	vput64(rb+48, data)
	msgs := []struct {
		ts     uint64
		level  byte
		caller uint32
		text   string
	}{
		{0, 5, 0, "Linux version 6.1.0-lab"},
		{1500000, 6, 0x80000001, "two\nlines"},
		{2000000999, 4, 77, "bad byte \x02 here"},
	}
	const firstID = 0x100
	lpos := uint64(0)
	for i, m := range msgs {
		id := uint64(firstID + i)
		slot := id % 16
		blk := (8 + uint64(len(m.text)) + 7) &^ 7
		vput64(descs+slot*24, 2<<62|id) // finalized
		vput64(descs+slot*24+8, lpos)
		vput64(descs+slot*24+16, lpos+blk)
		vput64(data+lpos, id)
		vwrite(data+lpos+8, []byte(m.text))
		lpos += blk
		in := infos + slot*88
		vput64(in, uint64(i))
		vput64(in+8, m.ts)
		vwrite(in+16, []byte{byte(len(m.text)), 0, 0, m.level << 5})
		vwrite(in+20, binary.LittleEndian.AppendUint32(nil, m.caller))
	}
	vput64(rb+24, firstID+uint64(len(msgs))-1) // head_id
	vput64(rb+32, firstID)                     // tail_id

	info := fmt.Sprintf("OSRELEASE=6.1.0-lab\nPAGESIZE=4096\nSYMBOL(init_top_pgt)=%x\nNUMBER(phys_base)=%d\nKERNELOFFSET=%x\n"+
		"NUMBER(pgtable_l5_enabled)=0\nNUMBER(sme_mask)=0\nCRASHTIME=1764111600\nSYMBOL(prb)=%x\n",
		pgd, physBase, kaslr, prbVar)
	for _, l := range []string{
		"SIZE(printk_ringbuffer)=80", "OFFSET(printk_ringbuffer.desc_ring)=0", "OFFSET(printk_ringbuffer.text_data_ring)=40",
		"OFFSET(prb_desc_ring.count_bits)=0", "OFFSET(prb_desc_ring.descs)=8", "OFFSET(prb_desc_ring.infos)=16",
		"OFFSET(prb_desc_ring.head_id)=24", "OFFSET(prb_desc_ring.tail_id)=32", "SIZE(prb_desc)=24",
		"OFFSET(prb_desc.state_var)=0", "OFFSET(prb_desc.text_blk_lpos)=8", "OFFSET(prb_data_blk_lpos.begin)=0",
		"OFFSET(prb_data_blk_lpos.next)=8", "SIZE(printk_info)=88", "OFFSET(printk_info.seq)=0",
		"OFFSET(printk_info.ts_nsec)=8", "OFFSET(printk_info.text_len)=16", "OFFSET(printk_info.caller_id)=20",
		"OFFSET(printk_info.dev_info)=24", "OFFSET(dev_printk_info.subsystem)=0", "OFFSET(dev_printk_info.device)=16",
		"OFFSET(prb_data_ring.size_bits)=0", "OFFSET(prb_data_ring.data)=8", "OFFSET(atomic_long_t.counter)=0",
	} {
		info += l + "\n"
	}
	if len(opt.vars) > 0 {
		// The kallsyms tables as scripts/kallsyms.c lays them out, with
		// one token per byte value (each byte stands for itself) and
		// absolute per-CPU offsets: _stext is the relative base, the
		// variables follow it at 0x400000 + 256*i.
		tables := uint64(image + 0x300000)
		type sym struct {
			typ  byte
			name string
			addr uint64
		}
		syms := []sym{{'T', "_stext", image}}
		for i, v := range opt.vars {
			addr := uint64(image + 0x400000 + 256*uint64(i))
			syms = append(syms, sym{v.typ, v.name, addr})
			if v.raw != nil {
				vwrite(addr, v.raw)
			} else {
				vwrite(addr, binary.LittleEndian.AppendUint64(nil, v.value)[:v.size])
			}
		}
		var names, tokenTable, tokenIndex, offsets []byte
		for _, s := range syms {
			names = append(names, byte(1+len(s.name)), s.typ)
			names = append(names, s.name...)
			// Negative offsets: relative_base - 1 - offset.
			offsets = binary.LittleEndian.AppendUint32(offsets, uint32(int32(-1-int64(s.addr-image))))
		}
		for c := 0; c < 256; c++ {
			tokenIndex = binary.LittleEndian.AppendUint16(tokenIndex, uint16(len(tokenTable)))
			tokenTable = append(tokenTable, byte(c), 0)
		}
		numSyms := uint32(len(syms))
		if opt.badKallsyms {
			numSyms = 0
		}
		at := map[string]uint64{}
		next := tables
		for _, part := range []struct {
			name string
			b    []byte
		}{
			{"kallsyms_num_syms", binary.LittleEndian.AppendUint32(nil, numSyms)},
			{"kallsyms_names", names},
			{"kallsyms_token_table", tokenTable},
			{"kallsyms_token_index", tokenIndex},
			{"kallsyms_offsets", offsets},
			{"kallsyms_relative_base", binary.LittleEndian.AppendUint64(nil, image)},
		} {
			at[part.name] = next
			vwrite(next, part.b)
			next = (next + uint64(len(part.b)) + 7) &^ 7
		}
		info += fmt.Sprintf("SYMBOL(_stext)=%x\n", uint64(image))
		for _, name := range []string{"kallsyms_names", "kallsyms_num_syms", "kallsyms_token_table", "kallsyms_token_index", "kallsyms_offsets", "kallsyms_relative_base"} {
			info += fmt.Sprintf("SYMBOL(%s)=%x\n", name, at[name])
		}
	}
	if opt.noCrashTime {
		info = strings.Replace(info, "CRASHTIME=1764111600\n", "", 1)
	}
	textPFN := pa(data) >> 12
	src := &kdumpfmt.Source{
		Utsname:      kdumpfmt.Utsname{Sysname: "Linux", Release: "6.1.0-lab", Machine: "x86_64"},
		TimestampSec: 1764111600, NrCPUs: 2, DumpLevel: 31, PageSize: 4096, PhysBase: physBase,
		MaxPFN:   (physBase + kaslr + 16<<20) >> 12,
		InRAM:    func(uint64) bool { return true },
		Dumpable: func(pfn uint64) bool { return mem[pfn] != nil && !(excludeText && pfn == textPFN) },
		ReadPage: func(pfn uint64, dst []byte) error { copy(dst, mem[pfn]); return nil },
	}
	if withInfo {
		src.VMCOREINFO = []byte(info)
	}
	if opt.noCrashTime {
		src.TimestampSec = 0
	}
	path := filepath.Join(t.TempDir(), "dmesg.kdump")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := kdumpfmt.Write(f, src, kdumpfmt.WriteOptions{Compression: kdumpfmt.Zstd}); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestDmesg(t *testing.T) {
	path := dmesgDump(t, false, true)
	code, out, errOut := runCmd("dmesg", path)
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	want := "[    0.000000] Linux version 6.1.0-lab\n" +
		"[    0.001500] two\nlines\n" +
		"[    2.000000] bad byte \\x02 here\n"
	if out != want {
		t.Errorf("vmcore-dmesg style:\n%s\nwant\n%s", out, want)
	}

	code, out, _ = runCmd("dmesg", "-level", "-caller", path)
	want = "[    0.000000] [      T0] <5>Linux version 6.1.0-lab\n" +
		"[    0.001500] [      C1] <6>two\n" +
		"                             lines\n" +
		"[    2.000000] [     T77] <4>bad byte . here\n"
	if code != 0 || out != want {
		t.Errorf("crash style:\n%s\nwant\n%s", out, want)
	}

	code, out, _ = runCmd("dmesg", "-json", path)
	if code != 0 || !strings.Contains(out, `{"schema":"vmcore.log/1","dump":["`+path+`"],"seq":1,"ts_nsec":1500000,"level":6,"facility":0,"caller":"C1","text":"two\nlines","subsystem":"","device":""}`) {
		t.Errorf("json:\n%s", out)
	}
}

func TestDmesgExcludedText(t *testing.T) {
	path := dmesgDump(t, true, true)
	code, out, errOut := runCmd("dmesg", path)
	if code != 0 || out != "" || !strings.Contains(errOut, "missing record") || !strings.Contains(errOut, "excluded") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

func TestDmesgNoVMCOREINFO(t *testing.T) {
	path := dmesgDump(t, false, false)
	code, _, errOut := runCmd("dmesg", path)
	if code != 1 || !strings.Contains(errOut, "no VMCOREINFO") || !strings.Contains(errOut, "-device vmcoreinfo") {
		t.Errorf("exit %d: %s", code, errOut)
	}
}

// initialJiffies250 is the kernel's INITIAL_JIFFIES at HZ=250.
const initialJiffies250 = 1<<32 - 300*250

// TestDmesgKallsyms: -T takes the uptime from jiffies_64 and HZ from
// tick_nsec, and -caller its width from pid_max, all found through the
// kallsyms tables of a synthetic 6.x image.
func TestDmesgKallsyms(t *testing.T) {
	defer func(loc *time.Location) { time.Local = loc }(time.Local)
	time.Local = time.UTC
	// CRASHTIME is 23:00:00; 2.5 s of jiffies at HZ=250 make the uptime
	// 2 s, so boot is 22:59:58.
	stamped := "[Tue Nov 25 22:59:58 UTC 2025] [%[1]*[2]s] Linux version 6.1.0-lab\n" +
		"[Tue Nov 25 22:59:58 UTC 2025] [%[1]*[3]s] two\n" +
		"                               %[4]s lines\n" +
		"[Tue Nov 25 23:00:00 UTC 2025] [%[1]*[5]s] bad byte . here\n"
	want := func(width int) string {
		return fmt.Sprintf(stamped, width, "T0", "C1", strings.Repeat(" ", width+2), "T77")
	}
	jiffies := kernelVar{name: "jiffies_64", typ: 'D', value: initialJiffies250 + 625, size: 8}
	tick := kernelVar{name: "tick_nsec", typ: 'B', value: 4000000, size: 8}
	for _, c := range []struct {
		name   string
		vars   []kernelVar
		width  int
		stderr string
	}{
		{"pid_max 32768", []kernelVar{jiffies, tick, {name: "pid_max", typ: 'D', value: 32768, size: 4}}, 6, ""},
		{"pid_max 200000", []kernelVar{jiffies, tick, {name: "pid_max", typ: 'D', value: 200000, size: 4}}, 7, ""},
		{"pid_max 4194304", []kernelVar{jiffies, tick, {name: "pid_max", typ: 'D', value: 4194304, size: 4}}, 8, ""},
		// No tick_nsec: HZ=250 is the only choice whose uptime (2.5 s)
		// fits the last record's 2.0 s (100: negative, 300: 52 s, 1000: 225 s).
		{"HZ from the log clock", []kernelVar{jiffies, {name: "pid_max", typ: 'D', value: 32768, size: 4}}, 6, "HZ=250 fitted to the log clock"},
		// No pid_max: crash's default width, said on stderr.
		{"no pid_max", []kernelVar{jiffies, tick}, 8, "-caller: pid_max unknown"},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := dmesgDumpWith(t, dmesgDumpOptions{withInfo: true, vars: c.vars})
			code, out, errOut := runCmd("dmesg", "-T", "-caller", path)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			if w := want(c.width); out != w {
				t.Errorf("got\n%s\nwant\n%s", out, w)
			}
			if c.stderr == "" && errOut != "" || !strings.Contains(errOut, c.stderr) {
				t.Errorf("stderr %q, want %q", errOut, c.stderr)
			}
		})
	}

	// Without CRASHTIME the date is the timekeeper's xtime_sec, here
	// 23:00:05, its monotonic clock at 2 s, so boot is 23:00:03.
	timekeeper := func(xtime, ktime, wtm int64) kernelVar {
		raw := make([]byte, 136)
		binary.LittleEndian.PutUint64(raw[112:], uint64(xtime))
		binary.LittleEndian.PutUint64(raw[120:], uint64(ktime))
		binary.LittleEndian.PutUint64(raw[128:], uint64(wtm))
		return kernelVar{name: "shadow_timekeeper", typ: 'b', raw: raw}
	}
	good := timekeeper(1764111605, 2, -1764111603)
	path := dmesgDumpWith(t, dmesgDumpOptions{withInfo: true, noCrashTime: true, vars: []kernelVar{jiffies, tick, good}})
	code, out, errOut := runCmd("dmesg", "-T", path)
	wantTK := "[Tue Nov 25 23:00:03 UTC 2025] Linux version 6.1.0-lab\n" +
		"[Tue Nov 25 23:00:03 UTC 2025] two\n" +
		"                               lines\n" +
		"[Tue Nov 25 23:00:05 UTC 2025] bad byte . here\n"
	if code != 0 || errOut != "" || out != wantTK {
		t.Errorf("date from the timekeeper: exit %d, stderr %q\n%s\nwant\n%s", code, errOut, out, wantTK)
	}
	// A timekeeper whose values disagree (ktime_sec is not xtime_sec +
	// wall_to_monotonic): refused, and -T prints seconds since boot.
	bad := timekeeper(1764111605, 9, -1764111603)
	path = dmesgDumpWith(t, dmesgDumpOptions{withInfo: true, noCrashTime: true, vars: []kernelVar{jiffies, tick, bad}})
	code, out, errOut = runCmd("dmesg", "-T", path)
	if code != 0 || !strings.Contains(errOut, "laid out as none of the known timekeepers") || !strings.HasPrefix(out, "[    0.000000] Linux version") {
		t.Errorf("inconsistent timekeeper: exit %d, stderr %q\n%s", code, errOut, out)
	}

	// Without kallsyms lines in VMCOREINFO (kernels before 6.0), -T falls
	// back to the log clock and -caller to width 8, saying so.
	path = dmesgDumpWith(t, dmesgDumpOptions{withInfo: true})
	code, out, errOut = runCmd("dmesg", "-T", "-caller", path)
	if code != 0 || out != want(8) {
		t.Errorf("without kallsyms: exit %d\n%s\nwant\n%s", code, out, want(8))
	}
	for _, w := range []string{"-T: no uptime from jiffies", "SYMBOL(kallsyms_*)", "-caller: pid_max unknown"} {
		if !strings.Contains(errOut, w) {
			t.Errorf("without kallsyms, stderr %q lacks %q", errOut, w)
		}
	}

	// Plain dmesg never decodes the tables: damaged ones do not show,
	// while -T names them.
	path = dmesgDumpWith(t, dmesgDumpOptions{withInfo: true, badKallsyms: true, vars: []kernelVar{jiffies, tick}})
	code, out, errOut = runCmd("dmesg", path)
	if code != 0 || errOut != "" || !strings.HasPrefix(out, "[    0.000000] Linux version") {
		t.Errorf("plain dmesg with damaged kallsyms: exit %d, stderr %q\n%s", code, errOut, out)
	}
	code, _, errOut = runCmd("dmesg", "-T", path)
	if code != 0 || !strings.Contains(errOut, "kallsyms_num_syms") {
		t.Errorf("-T with damaged kallsyms: exit %d, stderr %q", code, errOut)
	}
}
