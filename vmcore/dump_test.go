package vmcore

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vmcoretools/vmcore/elfcore"
	"github.com/vmcoretools/vmcore/kdumpfmt"
)

const testVMCOREINFO = "OSRELEASE=6.1.0-test-amd64\nBUILD-ID=0123456789abcdef0123456789abcdef01234567\n" +
	"PAGESIZE=4096\nSYMBOL(_stext)=ffffffff81000000\nNUMBER(phys_base)=16777216\nCRASHTIME=1764111600\n"

type testSeg struct {
	paddr, filesz, memsz uint64
}

// memByte is the byte a synthetic dump holds at physical address a.
func memByte(a uint64) byte { return byte(a*13 + a>>12) }

// prstatus builds an x86_64 NT_PRSTATUS desc for pid with rip set.
func prstatus(pid int32, rip uint64) []byte {
	d := make([]byte, 336)
	binary.LittleEndian.PutUint32(d[32:], uint32(pid))
	binary.LittleEndian.PutUint64(d[112+16*8:], rip) // RIP is the 17th register
	return d
}

// writeELFCore writes a little-endian ELF64 x86_64 core with the given
// segments (data from memByte) and notes, returning its path.
func writeELFCore(t *testing.T, segs []testSeg, notes []elfcore.Note) string {
	t.Helper()
	noteData := encodeNotes(notes, binary.LittleEndian)
	phnum := 1 + len(segs)
	hdrEnd := uint64(64 + 56*phnum)
	var out bytes.Buffer
	eh := make([]byte, 64)
	copy(eh, elf.ELFMAG)
	eh[4], eh[5], eh[6] = byte(elf.ELFCLASS64), byte(elf.ELFDATA2LSB), byte(elf.EV_CURRENT)
	le := binary.LittleEndian
	le.PutUint16(eh[16:], uint16(elf.ET_CORE))
	le.PutUint16(eh[18:], uint16(elf.EM_X86_64))
	le.PutUint32(eh[20:], 1)
	le.PutUint64(eh[32:], 64)
	le.PutUint16(eh[52:], 64)
	le.PutUint16(eh[54:], 56)
	le.PutUint16(eh[56:], uint16(phnum))
	out.Write(eh)
	ph := func(typ elf.ProgType, off, paddr, filesz, memsz uint64) {
		b := make([]byte, 56)
		le.PutUint32(b[0:], uint32(typ))
		le.PutUint64(b[8:], off)
		le.PutUint64(b[16:], paddr+0xffff888000000000)
		le.PutUint64(b[24:], paddr)
		le.PutUint64(b[32:], filesz)
		le.PutUint64(b[40:], memsz)
		out.Write(b)
	}
	off := hdrEnd
	ph(elf.PT_NOTE, off, 0, uint64(len(noteData)), 0)
	off += uint64(len(noteData))
	for _, s := range segs {
		ph(elf.PT_LOAD, off, s.paddr, s.filesz, s.memsz)
		off += s.filesz
	}
	out.Write(noteData)
	for _, s := range segs {
		for a := s.paddr; a < s.paddr+s.filesz; a++ {
			out.WriteByte(memByte(a))
		}
	}
	path := filepath.Join(t.TempDir(), "vmcore.elf")
	if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func testNotes() []elfcore.Note {
	return []elfcore.Note{
		{Name: "CORE", Type: uint32(elf.NT_PRSTATUS), Desc: prstatus(0, 0xffffffff81001000)},
		{Name: "CORE", Type: uint32(elf.NT_PRSTATUS), Desc: prstatus(1234, 0xffffffff81002000)},
		{Name: "VMCOREINFO", Type: 0, Desc: []byte(testVMCOREINFO)},
	}
}

var testSegs = []testSeg{
	{paddr: 0x1000, filesz: 0x9f000, memsz: 0x9f000},
	{paddr: 0x100000, filesz: 0x200000, memsz: 0x300000}, // last MiB reads as zeros
}

func TestOpenELF(t *testing.T) {
	path := writeELFCore(t, testSegs, testNotes())
	d, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if d.Format() != FormatELF || d.Arch() != "x86_64" || d.PageSize() != 4096 {
		t.Errorf("format %s arch %s page size %d", d.Format(), d.Arch(), d.PageSize())
	}
	if d.Release() != "6.1.0-test-amd64" || d.BuildID() != "0123456789abcdef0123456789abcdef01234567" {
		t.Errorf("release %q build-id %q", d.Release(), d.BuildID())
	}
	if d.NumCPUs() != 2 || d.CPUs()[1].PID() != 1234 {
		t.Errorf("cpus %d, %+v", d.NumCPUs(), d.CPUs())
	}
	if r, ok := d.CPUs()[1].PRStatus.AMD64(); !ok || r.RIP != 0xffffffff81002000 {
		t.Errorf("cpu 1 rip %#x ok %v", r.RIP, ok)
	}
	if ct, ok := d.CrashTime(); !ok || ct.Unix() != 1764111600 {
		t.Errorf("crash time %v %v", ct, ok)
	}
	if d.DumpLevel() != -1 {
		t.Errorf("dump level %d, want -1 (unknown for ELF)", d.DumpLevel())
	}
	buf := make([]byte, 64)
	if _, err := d.ReadPhys(buf, 0x1ff0); err != nil {
		t.Fatal(err)
	}
	for i, b := range buf {
		if b != memByte(0x1ff0+uint64(i)) {
			t.Fatalf("byte %d: %#x", i, b)
		}
	}
	if _, err := d.ReadPhys(buf, 0x350000); err != nil || !bytes.Equal(buf, make([]byte, 64)) {
		t.Errorf("zero-fill region: %v", err)
	}
	for _, c := range []struct {
		addr uint64
		want error
	}{{0x0, ErrNotInDump}, {0xa0000, ErrNotInDump}, {0x400000, ErrBeyondEnd}, {1 << 63, ErrBeyondEnd}} {
		if _, err := d.ReadPhys(buf, c.addr); !errors.Is(err, c.want) {
			t.Errorf("read %#x: %v, want %v", c.addr, err, c.want)
		}
	}
	st, err := d.PageStats()
	if err != nil {
		t.Fatal(err)
	}
	want := PageStats{PageSize: 4096, MemoryBytes: 0x39f000, Present: 0x39f, Zero: 0x100, Compressions: []string{"none"}}
	if diff := cmp.Diff(want, st); diff != "" {
		t.Errorf("PageStats (-want +got):\n%s", diff)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, b, 0o644)
		return p
	}
	cases := map[string]struct {
		path string
		want string
	}{
		"text":      {write("text", []byte("hello, this is not a dump\n")), "not a crash dump"},
		"empty":     {write("empty", nil), "empty file"},
		"missing":   {filepath.Join(dir, "nope"), "no such file"},
		"dir":       {dir, "is a directory"},
		"truncELF":  {write("trunc", []byte("\x7fELF\x02\x01\x01")), ""},
		"kdumpHead": {write("kd", []byte("KDUMP   \x06\x00\x00\x00")), ""},
	}
	for name, c := range cases {
		d, err := Open(c.path)
		if err == nil {
			d.Close()
			t.Errorf("%s: opened", name)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %q lacks %q", name, err, c.want)
		}
	}
}

func TestNoVMCOREINFO(t *testing.T) {
	path := writeELFCore(t, testSegs, testNotes()[:2])
	d, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := d.VMCOREINFO(); !errors.Is(err, ErrNoVMCOREINFO) {
		t.Errorf("VMCOREINFO err %v", err)
	}
	if d.Release() != "" || len(d.Warnings()) == 0 || !strings.Contains(strings.Join(d.Warnings(), "\n"), "no VMCOREINFO") {
		t.Errorf("release %q warnings %q", d.Release(), d.Warnings())
	}
}

// TestConvertELFToKdump converts an ELF dump with every compression and
// checks that every byte of memory reads the same from the copy.
func TestConvertELFToKdump(t *testing.T) {
	path := writeELFCore(t, testSegs, testNotes())
	src, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	for _, c := range []kdumpfmt.Compression{kdumpfmt.None, kdumpfmt.Zlib, kdumpfmt.LZO, kdumpfmt.Snappy, kdumpfmt.Zstd} {
		out := filepath.Join(t.TempDir(), "dump.kdump")
		f, err := os.Create(out)
		if err != nil {
			t.Fatal(err)
		}
		if err := src.WriteKdump(f, kdumpfmt.WriteOptions{Compression: c}); err != nil {
			t.Fatalf("compression %v: %v", c, err)
		}
		f.Close()
		d, err := Open(out)
		if err != nil {
			t.Fatalf("compression %v: reopen: %v", c, err)
		}
		if d.Format() != FormatKdump || d.Release() != src.Release() || d.NumCPUs() != 2 || d.CPUs()[1].PID() != 1234 {
			t.Errorf("compression %v: format %s release %q cpus %d", c, d.Format(), d.Release(), d.NumCPUs())
		}
		want, got := make([]byte, 4096), make([]byte, 4096)
		for pfn := uint64(0); pfn < 0x400; pfn++ {
			_, errA := src.ReadPhys(want, pfn*4096)
			_, errB := d.ReadPhys(got, pfn*4096)
			if (errA == nil) != (errB == nil) || (errA == nil && !bytes.Equal(want, got)) {
				t.Fatalf("compression %v pfn %#x: ELF err %v, kdump err %v, equal %v", c, pfn, errA, errB, bytes.Equal(want, got))
			}
		}
		d.Close()
	}
}
