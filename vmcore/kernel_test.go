package vmcore

import (
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/vmcoretools/vmcore/physmem"
	"github.com/vmcoretools/vmcore/vmcoreinfo"
)

const (
	tinyVmlinux = "../dwarfsym/testdata/tiny.elf"
	tinyBuildID = "f841270601c4a7c606ea3ca434fc0c14d8b99348"
	testKASLR   = 0x2a00000
	startKernel = 0xffffffff80000000
)

// sparseMem is physical memory made of 4 KiB pages; absent pages are holes.
type sparseMem map[uint64][]byte

func (m sparseMem) ReadAt(p []byte, off int64) (int, error) {
	n := 0
	for n < len(p) {
		a := uint64(off) + uint64(n)
		pg, ok := m[a&^0xfff]
		if !ok {
			return n, &physmem.Error{Addr: a, Kind: physmem.NotInDump}
		}
		n += copy(p[n:], pg[a&0xfff:])
	}
	return n, nil
}

func (m sparseMem) write(addr uint64, b []byte) {
	for len(b) > 0 {
		pg, ok := m[addr&^0xfff]
		if !ok {
			pg = make([]byte, 4096)
			m[addr&^0xfff] = pg
		}
		n := copy(pg[addr&0xfff:], b)
		b, addr = b[n:], addr+uint64(n)
	}
}

func (m sparseMem) put64(addr, v uint64) {
	b := make([]byte, 8)
	binary.LittleEndian.PutUint64(b, v)
	m.write(addr, b)
}

// fakeDump lays tiny.elf's image out in physical memory the way a booted
// x86_64 kernel is: the text mapping (__START_KERNEL_map + phys, phys_base
// 0) moved by the KASLR offset, with 4-level page tables of 2 MiB pages.
func fakeDump(t *testing.T, release, buildID string, banner string) *Dump {
	t.Helper()
	m := sparseMem{}
	const pgd, pud, pmd = 0x100000, 0x101000, 0x102000
	m.put64(pgd+511*8, pud|3)
	m.put64(pud+510*8, pmd|3)
	for i := uint64(0); i < 512; i++ {
		m.put64(pmd+i*8, i<<21|0x83) // present, writable, 2 MiB
	}
	ef, err := elf.Open(tinyVmlinux)
	if err != nil {
		t.Fatal(err)
	}
	defer ef.Close()
	for _, s := range ef.Sections {
		if s.Flags&elf.SHF_ALLOC == 0 || s.Type == elf.SHT_NOBITS || s.Addr < startKernel {
			continue
		}
		b, err := s.Data()
		if err != nil {
			t.Fatal(err)
		}
		m.write(s.Addr+testKASLR-startKernel, b)
	}
	if banner != "" {
		syms, _ := ef.Symbols()
		for _, s := range syms {
			if s.Name == "linux_banner" {
				m.write(s.Value+testKASLR-startKernel, append([]byte(banner), 0))
			}
		}
	}
	text := fmt.Sprintf("OSRELEASE=%s\nBUILD-ID=%s\nPAGESIZE=4096\nSYMBOL(_stext)=%x\nSYMBOL(init_top_pgt)=%x\nNUMBER(phys_base)=0\nKERNELOFFSET=%x\n",
		release, buildID, uint64(0xffffffff81000000+testKASLR), uint64(startKernel+pgd), testKASLR)
	info, err := vmcoreinfo.Parse([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return &Dump{phys: m, info: info, paths: []string{"fake-vmcore"}, format: FormatELF}
}

func TestKernelMatch(t *testing.T) {
	d := fakeDump(t, "6.1.0-tiny", tinyBuildID, "")
	k, err := OpenKernel(d, tinyVmlinux, KernelOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	if k.KASLROffset() != testKASLR {
		t.Errorf("KASLR offset %#x", k.KASLROffset())
	}
	s, ok := k.Lookup("second_task")
	ef, _ := elf.Open(tinyVmlinux)
	syms, _ := ef.Symbols()
	ef.Close()
	var link uint64
	for _, x := range syms {
		if x.Name == "second_task" {
			link = x.Value
		}
	}
	if !ok || s.Addr != link+testKASLR {
		t.Errorf("second_task at %#x, want %#x", s.Addr, link+testKASLR)
	}
	if got, off, ok := k.SymbolAt(link + testKASLR + 12); !ok || got.Name != "second_task" || off != 12 {
		t.Errorf("SymbolAt = %s+%d", got.Name, off)
	}
	v, err := k.Var("second_task")
	if err != nil {
		t.Fatal(err)
	}
	comm, err := v.Member("comm")
	if err != nil {
		t.Fatal(err)
	}
	if s, err := comm.CString(0); err != nil || s != "kworker/0:1" {
		t.Errorf("second_task.comm = %q, %v", s, err)
	}
	// parent points at the link-time address in this unrelocated image:
	// reading through it must fail naming the address.
	_, err = v.Member("parent.pid")
	if err == nil {
		if p, _ := v.Member("parent.pid"); p.Addr != 0 {
			if _, err := p.Int(); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("%#x", p.Addr)) {
				t.Errorf("read through a stale pointer: %v", err)
			}
		}
	}
	if !strings.HasPrefix(k.Banner(), "Linux version 6.1.0-tiny ") {
		t.Errorf("Banner = %q", k.Banner())
	}
}

func TestKernelMismatch(t *testing.T) {
	otherID := strings.Repeat("ab", 20)
	for _, tc := range []struct {
		name, release, id, banner string
		want                      []string
	}{
		{"build-id", "6.1.0-tiny", otherID, "", []string{"build ID " + otherID + " (dump) vs " + tinyBuildID + " (vmlinux)"}},
		{"other-kernel", "6.12.38+deb13-cloud-amd64", otherID, "Linux version 6.12.38+deb13-cloud-amd64 (debian-kernel@lists.debian.org) #1 SMP\n",
			[]string{"the dump ran 6.12.38+deb13-cloud-amd64, the vmlinux is 6.1.0-tiny", "release 6.12.38+deb13-cloud-amd64 (dump) vs 6.1.0-tiny (vmlinux)",
				"linux-image-6.12.38+deb13-cloud-amd64-dbg", "debuginfod-find debuginfo " + otherID}},
		// Another build of the same release, without a build ID in the
		// dump: the banner tells them apart.
		{"banner-only", "6.1.0-tiny", "", "Linux version 6.1.0-tiny (other@host) #2 SMP\n", []string{"linux_banner differs"}},
		{"garbage-banner", "6.1.0-tiny", tinyBuildID, "\x01\x02garbage", []string{`linux_banner at 0xffffffff83a00060 in the dump reads "\x01\x02garbage"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := fakeDump(t, tc.release, tc.id, tc.banner)
			_, err := OpenKernel(d, tinyVmlinux, KernelOptions{})
			var me *MismatchError
			if !errors.As(err, &me) || !errors.Is(err, ErrMismatch) {
				t.Fatalf("err = %v, want a MismatchError", err)
			}
			msg := err.Error()
			if !strings.Contains(msg, "do not match") {
				t.Errorf("message lacks \"do not match\": %s", msg)
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("message lacks %q:\n%s", w, msg)
				}
			}
			k, err := OpenKernel(d, tinyVmlinux, KernelOptions{IgnoreMismatch: true})
			if err != nil {
				t.Fatalf("IgnoreMismatch: %v", err)
			}
			defer k.Close()
			if len(k.Warnings()) != 1 || !strings.Contains(k.Warnings()[0], "do not match") {
				t.Errorf("warnings = %q", k.Warnings())
			}
		})
	}
}

func TestKernelUnalignedStext(t *testing.T) {
	d := fakeDump(t, "6.1.0-tiny", tinyBuildID, "")
	text := strings.Replace(string(d.info.Raw()), fmt.Sprintf("SYMBOL(_stext)=%x", uint64(0xffffffff81000000+testKASLR)), "SYMBOL(_stext)=ffffffff83a00010", 1)
	d.info, _ = vmcoreinfo.Parse([]byte(text))
	_, err := OpenKernel(d, tinyVmlinux, KernelOptions{})
	if err == nil || !strings.Contains(err.Error(), "not a page-aligned KASLR offset apart") {
		t.Fatalf("err = %v", err)
	}
	off := uint64(testKASLR)
	k, err := OpenKernel(d, tinyVmlinux, KernelOptions{KASLROffset: &off})
	if err != nil {
		t.Fatalf("explicit KASLR offset: %v", err)
	}
	k.Close()
}

func TestKernelNoVMCOREINFO(t *testing.T) {
	d := &Dump{phys: sparseMem{}, paths: []string{"x"}}
	if _, err := OpenKernel(d, tinyVmlinux, KernelOptions{}); !errors.Is(err, ErrNoVMCOREINFO) {
		t.Fatalf("err = %v", err)
	}
}
