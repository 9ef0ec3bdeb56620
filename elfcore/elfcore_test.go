package elfcore

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vmcoretools/vmcore/physmem"
)

// memByte is the content of physical address a in the synthetic dumps, so
// that any two segments holding an address agree on its byte.
func memByte(a uint64) byte { return byte(a*7 + a>>8 + a>>16) }

func memRange(paddr, n uint64) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = memByte(paddr + uint64(i))
	}
	return b
}

func load(paddr, filesz, memsz uint64) loadSpec {
	return loadSpec{paddr: paddr, vaddr: paddr + 0xffff888000000000, data: memRange(paddr, filesz), memsz: memsz}
}

func mustOpen(t testing.TB, b []byte) *File {
	t.Helper()
	f, err := NewFile(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("NewFile: %v", err)
	}
	return f
}

// wantPhysErr checks that a read failed after n bytes with the given kind at
// the given address.
func wantPhysErr(t *testing.T, f *File, off, length uint64, wantN int, kind physmem.Kind, addr uint64) {
	t.Helper()
	p := make([]byte, length)
	n, err := f.ReadAt(p, int64(off))
	var pe *physmem.Error
	if !errors.As(err, &pe) {
		t.Fatalf("ReadAt(%#x, %#x) = %d, %v; want *physmem.Error %v", off, length, n, err, kind)
	}
	if n != wantN || pe.Kind != kind || pe.Addr != addr {
		t.Errorf("ReadAt(%#x, %#x) = %d, %v (kind %v at %#x); want %d, %v at %#x", off, length, n, err, pe.Kind, pe.Addr, wantN, kind, addr)
	}
}

func wantRead(t *testing.T, f *File, off uint64, want []byte) {
	t.Helper()
	p := make([]byte, len(want))
	n, err := f.ReadAt(p, int64(off))
	if err != nil || n != len(want) {
		t.Fatalf("ReadAt(%#x, %#x) = %d, %v", off, len(want), n, err)
	}
	if !bytes.Equal(p, want) {
		t.Errorf("ReadAt(%#x, %#x): wrong bytes", off, len(want))
	}
}

func amd64Regs() []uint64 {
	r := make([]uint64, amd64NGReg)
	for i := range r {
		r[i] = 0x1111111100000000 + uint64(i)
	}
	return r
}

func qemuStateDesc(order binary.ByteOrder, size int, seed uint64) []byte {
	d := make([]byte, size)
	order.PutUint32(d[0:], 1)
	order.PutUint32(d[4:], uint32(size))
	for off := 8; off+8 <= size; off += 8 {
		order.PutUint64(d[off:], seed+uint64(off))
	}
	return d
}

func TestELF64LittleEndian(t *testing.T) {
	le := binary.LittleEndian
	vmci := []byte("OSRELEASE=6.1.0-test\nPAGESIZE=4096\n")
	spec := coreSpec{
		machine: elf.EM_X86_64,
		loads: []loadSpec{
			load(0x10000, 0x800, 0),      // highest, listed first: sorting is tested
			load(0x1000, 0x2000, 0x3000), // zero tail [0x3000,0x4000)
			load(0x4000, 0x1000, 0),      // adjacent to the previous
			load(0x1800, 0x800, 0),       // the kernel-text PT_LOAD inside RAM
		},
		noteSegs: [][]Note{
			{
				{Name: "CORE", Type: uint32(elf.NT_PRSTATUS), Desc: prstatusDesc(le, 8, amd64DescSize, 101, 1, 0, amd64Regs())},
				{Name: "QEMU", Type: 0, Desc: qemuStateDesc(le, qemuStateGSSize, 0x1000)},
			},
			{
				{Name: "CORE", Type: uint32(elf.NT_PRSTATUS), Desc: prstatusDesc(le, 8, amd64DescSize, 202, 2, 11, amd64Regs())},
				{Name: "VMCOREINFO", Type: 0, Desc: vmci},
			},
		},
	}
	b := spec.bytes()
	f := mustOpen(t, b)
	if f.Class != elf.ELFCLASS64 || f.Data != elf.ELFDATA2LSB || f.ByteOrder != binary.ByteOrder(binary.LittleEndian) || f.Machine != elf.EM_X86_64 {
		t.Errorf("header: %v %v %v %v", f.Class, f.Data, f.ByteOrder, f.Machine)
	}
	if f.Incomplete() || len(f.Warnings) != 0 {
		t.Errorf("Incomplete %v, Warnings %q", f.Incomplete(), f.Warnings)
	}
	var gotPAddrs []uint64
	for _, s := range f.Segments {
		gotPAddrs = append(gotPAddrs, s.PAddr)
	}
	if diff := cmp.Diff([]uint64{0x1000, 0x1800, 0x4000, 0x10000}, gotPAddrs); diff != "" {
		t.Errorf("segment order (-want +got):\n%s", diff)
	}
	if s := f.Segments[0]; s.FileSize != 0x2000 || s.MemSize != 0x3000 || s.VAddr != 0xffff888000001000 {
		t.Errorf("segment 0 = %+v", s)
	}

	// Cross-check the program headers with debug/elf, which reads files
	// without PN_XNUM.
	ef, err := elf.NewFile(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	var stdSegs []Segment
	for _, p := range ef.Progs {
		if p.Type == elf.PT_LOAD {
			stdSegs = append(stdSegs, Segment{PAddr: p.Paddr, VAddr: p.Vaddr, Offset: p.Off, FileSize: p.Filesz, MemSize: p.Memsz})
		}
	}
	if diff := cmp.Diff(stdSegs, f.Segments, cmp.Transformer("sort", func(s []Segment) map[uint64]Segment {
		m := map[uint64]Segment{}
		for _, x := range s {
			m[x.PAddr] = x
		}
		return m
	})); diff != "" {
		t.Errorf("segments differ from debug/elf (-std +ours):\n%s", diff)
	}

	wantRead(t, f, 0x1000, memRange(0x1000, 0x2000))
	wantRead(t, f, 0x3000, make([]byte, 0x1000))
	// Across the zero tail into the adjacent segment.
	want := append(memRange(0x2f00, 0x100), make([]byte, 0x1000)...)
	want = append(want, memRange(0x4000, 0x1000)...)
	wantRead(t, f, 0x2f00, want)
	wantRead(t, f, 0x10000, memRange(0x10000, 0x800))
	wantRead(t, f, 0x10000, nil)

	wantPhysErr(t, f, 0, 0x10, 0, physmem.NotInDump, 0)
	wantPhysErr(t, f, 0xf00, 0x200, 0, physmem.NotInDump, 0xf00)
	wantPhysErr(t, f, 0x4f00, 0x200, 0x100, physmem.NotInDump, 0x5000)
	wantPhysErr(t, f, 0x10700, 0x200, 0x100, physmem.BeyondEnd, 0x10800)
	wantPhysErr(t, f, 0x7fffffffffff0000, 1, 0, physmem.BeyondEnd, 0x7fffffffffff0000)
	if _, err := f.ReadAt(make([]byte, 1), -1); err == nil {
		t.Error("ReadAt at a negative address succeeded")
	}
	var p [8]byte
	if _, err := f.ReadAt(p[:], 0x5000); !errors.Is(err, physmem.ErrNotInDump) {
		t.Errorf("errors.Is(%v, ErrNotInDump) = false", err)
	}

	var names []string
	for _, n := range f.Notes {
		names = append(names, n.Name)
	}
	if diff := cmp.Diff([]string{"CORE", "QEMU", "CORE", "VMCOREINFO"}, names); diff != "" {
		t.Errorf("notes (-want +got):\n%s", diff)
	}
	if !bytes.Equal(f.VMCOREINFO(), vmci) {
		t.Errorf("VMCOREINFO = %q", f.VMCOREINFO())
	}

	prs, err := f.PRStatus()
	if err != nil || len(prs) != 2 {
		t.Fatalf("PRStatus = %d, %v", len(prs), err)
	}
	if prs[0].Pid != 101 || prs[0].PPid != 1 || prs[1].Pid != 202 || prs[1].PPid != 2 || prs[1].CurSig != 11 {
		t.Errorf("PRStatus pids: %+v %+v", prs[0], prs[1])
	}
	r, ok := prs[1].AMD64()
	if !ok {
		t.Fatal("AMD64() not ok")
	}
	regs := amd64Regs()
	wantRegs := AMD64Regs{
		R15: regs[0], R14: regs[1], R13: regs[2], R12: regs[3], RBP: regs[4], RBX: regs[5], R11: regs[6], R10: regs[7],
		R9: regs[8], R8: regs[9], RAX: regs[10], RCX: regs[11], RDX: regs[12], RSI: regs[13], RDI: regs[14],
		OrigRAX: regs[15], RIP: regs[16], CS: regs[17], EFlags: regs[18], RSP: regs[19], SS: regs[20],
		FSBase: regs[21], GSBase: regs[22], DS: regs[23], ES: regs[24], FS: regs[25], GS: regs[26],
	}
	if diff := cmp.Diff(wantRegs, r); diff != "" {
		t.Errorf("AMD64 (-want +got):\n%s", diff)
	}
	if pc, _ := prs[0].PC(); pc != regs[16] {
		t.Errorf("PC = %#x", pc)
	}
	if sp, _ := prs[0].SP(); sp != regs[19] {
		t.Errorf("SP = %#x", sp)
	}
	if _, ok := prs[0].ARM64(); ok {
		t.Error("ARM64() ok on an x86_64 note")
	}

	qs, err := f.QEMUCPUStates()
	if err != nil || len(qs) != 1 {
		t.Fatalf("QEMUCPUStates = %d, %v", len(qs), err)
	}
	q := qs[0]
	// qemuStateDesc stores seed+offset in every 8-byte word from offset 8.
	if q.Version != 1 || q.Size != qemuStateGSSize || q.RAX != 0x1008 || q.R15 != 0x1000+8+15*8 ||
		q.RIP != 0x1000+8+16*8 || q.RFlags != 0x1000+8+17*8 {
		t.Errorf("QEMU registers: %+v", q)
	}
	csOff := uint64(8 + 18*8)
	if q.CS.Selector != uint32(0x1000+csOff) || q.CS.Flags != uint32(0x1000+csOff+8) || q.CS.Base != 0x1000+csOff+16 {
		t.Errorf("QEMU CS = %+v", q.CS)
	}
	idtOff := csOff + 9*qemuSegSize
	if q.IDT.Base != 0x1000+idtOff+16 || q.CR[3] != 0x1000+idtOff+qemuSegSize+24 {
		t.Errorf("QEMU IDT %+v CR %x", q.IDT, q.CR)
	}
	if !q.HasKernelGSBase || q.KernelGSBase != 0x1000+qemuStateBaseSize {
		t.Errorf("KernelGSBase %v %#x", q.HasKernelGSBase, q.KernelGSBase)
	}
}

func TestQEMUCPUStateSizes(t *testing.T) {
	le := binary.LittleEndian
	s, err := DecodeQEMUCPUState(qemuStateDesc(le, qemuStateBaseSize, 0), le)
	if err != nil || s.HasKernelGSBase {
		t.Errorf("QEMU state without kernel_gs_base: %v, HasKernelGSBase %v", err, s.HasKernelGSBase)
	}
	// A newer QEMU with more fields still decodes.
	s, err = DecodeQEMUCPUState(qemuStateDesc(le, qemuStateGSSize+200, 0), le)
	if err != nil || !s.HasKernelGSBase || s.KernelGSBase != qemuStateBaseSize {
		t.Errorf("larger QEMU state: %v %+v", err, s)
	}
	// The size field limits what is read even if the desc is longer.
	d := qemuStateDesc(le, qemuStateGSSize, 0)
	le.PutUint32(d[4:], qemuStateBaseSize)
	if s, err = DecodeQEMUCPUState(d, le); err != nil || s.HasKernelGSBase {
		t.Errorf("size field 432: %v %v", err, s.HasKernelGSBase)
	}
	for _, bad := range [][]byte{nil, make([]byte, 7), qemuStateDesc(le, 300, 0), make([]byte, qemuStateGSSize)} {
		if _, err := DecodeQEMUCPUState(bad, le); err == nil {
			t.Errorf("DecodeQEMUCPUState(%d bytes) succeeded", len(bad))
		}
	}
}

func TestELF32I386(t *testing.T) {
	le := binary.LittleEndian
	regs := make([]uint64, i386NGReg)
	for i := range regs {
		regs[i] = 0xc0000000 + uint64(i)
	}
	spec := coreSpec{
		class:   elf.ELFCLASS32,
		machine: elf.EM_386,
		loads:   []loadSpec{load(0, 0x1000, 0x2000), load(0x100000, 0x3000, 0)},
		noteSegs: [][]Note{{
			{Name: "CORE", Type: uint32(elf.NT_PRSTATUS), Desc: prstatusDesc(le, 4, i386DescSize, 7, 0, 0, regs)},
			{Name: "QEMU", Desc: qemuStateDesc(le, qemuStateBaseSize, 5)},
		}},
	}
	b := spec.bytes()
	f := mustOpen(t, b)
	if f.Class != elf.ELFCLASS32 || len(f.Segments) != 2 || len(f.Warnings) != 0 {
		t.Fatalf("class %v, %d segments, warnings %q", f.Class, len(f.Segments), f.Warnings)
	}
	wantRead(t, f, 0, append(memRange(0, 0x1000), make([]byte, 0x1000)...))
	wantRead(t, f, 0x100800, memRange(0x100800, 0x2800))
	wantPhysErr(t, f, 0x2000, 1, 0, physmem.NotInDump, 0x2000)
	wantPhysErr(t, f, 0x103000, 1, 0, physmem.BeyondEnd, 0x103000)
	prs, err := f.PRStatus()
	if err != nil || len(prs) != 1 || prs[0].Pid != 7 {
		t.Fatalf("PRStatus = %+v, %v", prs, err)
	}
	r, ok := prs[0].I386()
	if !ok || r.EBX != 0xc0000000 || r.EAX != 0xc0000006 || r.DS != 0x7 || r.EIP != 0xc000000c || r.ESP != 0xc000000f || r.SS != 0x10 {
		t.Errorf("I386 = %+v, %v", r, ok)
	}
	if pc, ok := prs[0].PC(); !ok || pc != 0xc000000c {
		t.Errorf("PC = %#x %v", pc, ok)
	}
	if qs, err := f.QEMUCPUStates(); err != nil || len(qs) != 1 || qs[0].RAX != 5+8 {
		t.Errorf("QEMUCPUStates = %+v, %v", qs, err)
	}
}

func TestBigEndian(t *testing.T) {
	be := binary.BigEndian
	// 32-bit PowerPC: ELF_NGREG 48, read through the generic layout.
	ppcRegs := make([]uint64, 48)
	for i := range ppcRegs {
		ppcRegs[i] = uint64(0x100 + i)
	}
	f32 := mustOpen(t, coreSpec{
		class: elf.ELFCLASS32, order: be, machine: elf.EM_PPC,
		loads: []loadSpec{load(0x2000, 0x1000, 0)},
		noteSegs: [][]Note{{{Name: "CORE", Type: uint32(elf.NT_PRSTATUS),
			Desc: prstatusDesc(be, 4, prReg32+48*4+4, 33, 1, 0, ppcRegs)}}},
	}.bytes())
	if f32.Data != elf.ELFDATA2MSB || f32.ByteOrder != binary.ByteOrder(binary.BigEndian) {
		t.Errorf("data %v", f32.Data)
	}
	wantRead(t, f32, 0x2000, memRange(0x2000, 0x1000))
	prs, err := f32.PRStatus()
	if err != nil || len(prs) != 1 || prs[0].Pid != 33 {
		t.Fatalf("ppc PRStatus %+v %v", prs, err)
	}
	if diff := cmp.Diff(ppcRegs, prs[0].Regs); diff != "" {
		t.Errorf("ppc regs (-want +got):\n%s", diff)
	}
	if _, ok := prs[0].PC(); ok {
		t.Error("PC ok for ppc")
	}

	// 64-bit s390x-like: 8-byte words.
	sRegs := []uint64{0x0705000180000000, 0x12345678, 1, 2, 3}
	f64 := mustOpen(t, coreSpec{
		class: elf.ELFCLASS64, order: be, machine: elf.EM_S390,
		loads: []loadSpec{load(0, 0x1000, 0), load(0x1000_0000_0000, 0x10, 0x1000)},
		noteSegs: [][]Note{{
			{Name: "CORE", Type: uint32(elf.NT_PRSTATUS), Desc: prstatusDesc(be, 8, prReg64+len(sRegs)*8+8, -1, 5, 0, sRegs)},
			{Name: "VMCOREINFO", Desc: []byte("PAGESIZE=4096\n")},
		}},
	}.bytes())
	wantRead(t, f64, 0x1000_0000_0000, append(memRange(0x1000_0000_0000, 0x10), make([]byte, 0xff0)...))
	prs, err = f64.PRStatus()
	if err != nil || len(prs) != 1 || prs[0].Pid != -1 || prs[0].PPid != 5 {
		t.Fatalf("s390 PRStatus %+v %v", prs, err)
	}
	if diff := cmp.Diff(sRegs, prs[0].Regs); diff != "" {
		t.Errorf("s390 regs (-want +got):\n%s", diff)
	}
	if string(f64.VMCOREINFO()) != "PAGESIZE=4096\n" {
		t.Errorf("VMCOREINFO %q", f64.VMCOREINFO())
	}
}

func TestARM64PRStatus(t *testing.T) {
	le := binary.LittleEndian
	regs := make([]uint64, arm64NGReg)
	for i := range regs {
		regs[i] = 0xffff800000000000 + uint64(i)
	}
	f := mustOpen(t, coreSpec{
		machine: elf.EM_AARCH64,
		loads:   []loadSpec{load(0x40000000, 0x1000, 0)},
		noteSegs: [][]Note{{
			{Name: "CORE", Type: uint32(elf.NT_PRSTATUS), Desc: prstatusDesc(le, 8, arm64DescSize, 9, 0, 0, regs)},
			{Name: "CORE", Type: uint32(elf.NT_PRSTATUS), Desc: make([]byte, 336)}, // wrong size: reported, skipped
			{Name: "LINUX", Type: uint32(elf.NT_PRSTATUS), Desc: make([]byte, 10)}, // not a CORE note: ignored
		}},
	}.bytes())
	prs, err := f.PRStatus()
	if len(prs) != 1 || err == nil || !strings.Contains(err.Error(), "336 bytes, want 392") {
		t.Fatalf("PRStatus = %d, %v", len(prs), err)
	}
	r, ok := prs[0].ARM64()
	if !ok || r.X[0] != regs[0] || r.X[29] != regs[29] || r.X[30] != regs[30] || r.SP != regs[31] || r.PC != regs[32] || r.PState != regs[33] {
		t.Errorf("ARM64 = %+v %v", r, ok)
	}
	if sp, _ := prs[0].SP(); sp != regs[31] {
		t.Errorf("SP = %#x", sp)
	}
}

func TestDecodePRStatusErrors(t *testing.T) {
	le := binary.LittleEndian
	for _, c := range []struct {
		m    elf.Machine
		cl   elf.Class
		size int
	}{
		{elf.EM_X86_64, elf.ELFCLASS64, 335},
		{elf.EM_386, elf.ELFCLASS32, 148},
		{elf.EM_RISCV, elf.ELFCLASS64, 119},
		{elf.EM_MIPS, elf.ELFCLASS32, 10},
	} {
		if _, err := DecodePRStatus(make([]byte, c.size), c.m, c.cl, le); err == nil {
			t.Errorf("DecodePRStatus(%v, %d bytes) succeeded", c.m, c.size)
		}
	}
	// QEMU writes i386 notes into ELF64 files: the machine decides.
	p, err := DecodePRStatus(make([]byte, i386DescSize), elf.EM_386, elf.ELFCLASS64, le)
	if err != nil || len(p.Regs) != i386NGReg {
		t.Errorf("i386 in ELF64: %v, %d regs", err, len(p.Regs))
	}
}

func TestPNXNUM(t *testing.T) {
	const nseg = 70000
	spec := coreSpec{machine: elf.EM_X86_64}
	for i := range nseg {
		// Every segment: 16 stored bytes, 0x1000 in memory, a 0x1000 gap after.
		spec.loads = append(spec.loads, load(uint64(i)*0x2000, 16, 0x1000))
	}
	spec.noteSegs = [][]Note{{{Name: "VMCOREINFO", Desc: []byte("X=1\n")}}}
	b := spec.bytes()
	if got := binary.LittleEndian.Uint16(b[56:]); got != 0xffff {
		t.Fatalf("writer did not use PN_XNUM: e_phnum %#x", got)
	}
	f := mustOpen(t, b)
	if len(f.Segments) != nseg {
		t.Fatalf("%d segments, want %d", len(f.Segments), nseg)
	}
	for _, i := range []uint64{0, 1, 65534, 65535, 65536, nseg - 1} {
		a := i * 0x2000
		wantRead(t, f, a, append(memRange(a, 16), make([]byte, 0x1000-16)...))
		kind := physmem.NotInDump
		if i == nseg-1 {
			kind = physmem.BeyondEnd
		}
		wantPhysErr(t, f, a+0xff0, 0x20, 0x10, kind, a+0x1000)
	}
	wantPhysErr(t, f, nseg*0x2000-0x1000, 1, 0, physmem.BeyondEnd, nseg*0x2000-0x1000)
	if string(f.VMCOREINFO()) != "X=1\n" {
		t.Errorf("VMCOREINFO %q", f.VMCOREINFO())
	}

	// ELF32 with PN_XNUM forced on a small file.
	f32 := mustOpen(t, coreSpec{class: elf.ELFCLASS32, machine: elf.EM_386, xnum: true,
		loads: []loadSpec{load(0x1000, 0x100, 0), load(0x3000, 0x100, 0)}}.bytes())
	if len(f32.Segments) != 2 || f32.Segments[1].PAddr != 0x3000 {
		t.Errorf("ELF32 PN_XNUM segments %+v", f32.Segments)
	}
}

func TestLargePhentsize(t *testing.T) {
	// e_phentsize may exceed the structure size; headers are read at that
	// stride, in several chunks when there are many.
	for _, class := range []elf.Class{elf.ELFCLASS32, elf.ELFCLASS64} {
		spec := coreSpec{class: class, machine: elf.EM_386, phpad: 4000}
		for i := range 200 {
			spec.loads = append(spec.loads, load(uint64(i)*0x1000, 0x10, 0))
		}
		f := mustOpen(t, spec.bytes())
		if len(f.Segments) != 200 || f.Segments[199].PAddr != 199*0x1000 {
			t.Fatalf("%v: %d segments", class, len(f.Segments))
		}
		wantRead(t, f, 199*0x1000, memRange(199*0x1000, 0x10))
	}
}

func TestTruncatedFile(t *testing.T) {
	spec := coreSpec{
		machine: elf.EM_X86_64,
		flags:   flagIncomplete,
		loads:   []loadSpec{load(0x1000, 0x1000, 0), load(0x10000, 0x2000, 0x4000), load(0x20000, 0x1000, 0)},
	}
	full := spec.bytes()
	// Cut inside the second segment's data, 0x800 bytes in.
	cut := len(full) - 0x1000 - 0x2000 + 0x800
	f := mustOpen(t, full[:cut])
	if !f.Incomplete() {
		t.Error("Incomplete() = false")
	}
	if len(f.Warnings) != 2 || !strings.Contains(f.Warnings[1], "truncated") ||
		!strings.Contains(f.Warnings[1], "2 PT_LOAD segment(s) lack 10240 bytes") || !strings.Contains(f.Warnings[1], "0x10800") {
		t.Errorf("warnings %q", f.Warnings)
	}
	wantRead(t, f, 0x1000, memRange(0x1000, 0x1000))
	wantRead(t, f, 0x10000, memRange(0x10000, 0x800))
	wantPhysErr(t, f, 0x10700, 0x200, 0x100, physmem.Lost, 0x10800)
	wantPhysErr(t, f, 0x11000, 8, 0, physmem.Lost, 0x11000)
	wantRead(t, f, 0x12000, make([]byte, 0x2000)) // p_memsz beyond p_filesz is zeros, not lost
	wantPhysErr(t, f, 0x20000, 8, 0, physmem.Lost, 0x20000)
	var p [4]byte
	if _, err := f.ReadAt(p[:], 0x20000); !errors.Is(err, physmem.ErrLost) {
		t.Errorf("errors.Is(%v, ErrLost) = false", err)
	}

	// A reader that shrinks after NewFile: the read reports lost data.
	r := &shrinkingReader{b: full}
	g, err := NewFile(r, int64(len(full)))
	if err != nil {
		t.Fatal(err)
	}
	r.b = full[:cut]
	wantPhysErr(t, g, 0x10000, 0x1000, 0x800, physmem.Lost, 0x10800)
}

type shrinkingReader struct{ b []byte }

func (r *shrinkingReader) ReadAt(p []byte, off int64) (int, error) {
	return bytes.NewReader(r.b).ReadAt(p, off)
}

func TestTruncatedNotes(t *testing.T) {
	spec := coreSpec{machine: elf.EM_X86_64, noteSegs: [][]Note{{
		{Name: "VMCOREINFO", Desc: []byte("A=1\n")},
		{Name: "CORE", Type: 1, Desc: make([]byte, 336)},
	}}}
	b := spec.bytes()
	f := mustOpen(t, b[:len(b)-100])
	if len(f.Notes) != 1 || f.Notes[0].Name != "VMCOREINFO" {
		t.Errorf("notes %+v", f.Notes)
	}
	if len(f.Warnings) != 2 || !strings.Contains(f.Warnings[1], "PT_NOTE at file offset 0x78: file truncated: 284 of 384 bytes") {
		t.Errorf("warnings %q", f.Warnings)
	}
}

func TestOverlapAndPadding(t *testing.T) {
	// A segment wholly inside another, one overlapping the end of another,
	// and an empty one: each byte is served once and correctly.
	f := mustOpen(t, coreSpec{machine: elf.EM_X86_64, loads: []loadSpec{
		load(0x1000, 0x4000, 0),
		load(0x2000, 0x1000, 0),
		load(0x4000, 0x3000, 0),
		load(0x9000, 0, 0),
		load(0xa000, 0x1000, 0x1000),
	}}.bytes())
	wantRead(t, f, 0x1000, memRange(0x1000, 0x6000))
	wantPhysErr(t, f, 0x6ff0, 0x20, 0x10, physmem.NotInDump, 0x7000)
	wantPhysErr(t, f, 0x9000, 1, 0, physmem.NotInDump, 0x9000)
	wantRead(t, f, 0xa000, memRange(0xa000, 0x1000))
}

func TestBadFiles(t *testing.T) {
	good := coreSpec{machine: elf.EM_X86_64, loads: []loadSpec{load(0x1000, 0x100, 0)}}.bytes()
	le := binary.LittleEndian
	patch := func(f func(b []byte)) []byte {
		b := bytes.Clone(good)
		f(b)
		return b
	}
	xnum := func(shinfo uint32) []byte {
		b := coreSpec{machine: elf.EM_X86_64, xnum: true, loads: []loadSpec{load(0x1000, 0x100, 0)}}.bytes()
		le.PutUint32(b[64+44:], shinfo)
		return b
	}
	for _, c := range []struct {
		name string
		data []byte
		want string // substring of the error, or "" for ErrNotELF
	}{
		{"empty", nil, ""},
		{"text", []byte("hello, world, this is not ELF at all"), ""},
		{"short magic", []byte("\x7fEL"), ""},
		{"ident only", good[:10], "too short for the ELF identification"},
		{"short header", good[:40], "too short for an ELF64 header"},
		{"bad class", patch(func(b []byte) { b[elf.EI_CLASS] = 9 }), "unknown ELF class 9"},
		{"bad data", patch(func(b []byte) { b[elf.EI_DATA] = 0 }), "unknown ELF data encoding"},
		{"bad version", patch(func(b []byte) { b[elf.EI_VERSION] = 2 }), "unknown ELF version"},
		{"small phentsize", patch(func(b []byte) { le.PutUint16(b[54:], 40) }), "e_phentsize 40"},
		{"phoff past EOF", patch(func(b []byte) { le.PutUint64(b[32:], 1<<40) }), "run past the end"},
		{"phnum past EOF", patch(func(b []byte) { le.PutUint16(b[56:], 0xfffe) }), "65534 program headers"},
		{"xnum without shdr", patch(func(b []byte) { le.PutUint16(b[56:], 0xffff) }), "no section header"},
		{"xnum shdr past EOF", patch(func(b []byte) { le.PutUint16(b[56:], 0xffff); le.PutUint64(b[40:], 1<<40) }), "section header 0"},
		{"xnum small shentsize", patch(func(b []byte) { le.PutUint16(b[56:], 0xffff); le.PutUint64(b[40:], 64); le.PutUint16(b[58:], 10) }), "e_shentsize 10"},
		{"xnum 2^32-1 segments", xnum(0xffffffff), "exceed the limit"},
		{"xnum 2^24 segments", xnum(1 << 24), "run past the end"},
		{"paddr overflow", patch(func(b []byte) { le.PutUint64(b[64+24:], 1<<64-0x10) }), "physical range"},
		{"offset overflow", patch(func(b []byte) { le.PutUint64(b[64+8:], 1<<64-0x10) }), "file range"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f, err := NewFile(bytes.NewReader(c.data), int64(len(c.data)))
			if err == nil {
				t.Fatalf("NewFile succeeded: %d segments", len(f.Segments))
			}
			if c.want == "" {
				if err != ErrNotELF {
					t.Errorf("err = %v, want ErrNotELF", err)
				}
				return
			}
			var fe *FormatError
			if !errors.As(err, &fe) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %v, want a *FormatError containing %q", err, c.want)
			}
		})
	}

	// No program headers and e_phentsize 0: a valid, empty core.
	empty := patch(func(b []byte) { le.PutUint16(b[54:], 0); le.PutUint16(b[56:], 0) })
	if f, err := NewFile(bytes.NewReader(empty), int64(len(empty))); err != nil || len(f.Segments) != 0 || len(f.Warnings) != 1 {
		t.Errorf("core without program headers: %v", err)
	}

	exec := patch(func(b []byte) { le.PutUint16(b[16:], uint16(elf.ET_EXEC)) })
	if _, err := NewFile(bytes.NewReader(exec), int64(len(exec))); !errors.Is(err, ErrNotCore) {
		t.Errorf("ET_EXEC: err = %v, want ErrNotCore", err)
	}
}

func TestHostileSizes(t *testing.T) {
	le := binary.LittleEndian
	// A note claiming a 4 GiB desc.
	b := coreSpec{machine: elf.EM_X86_64, noteSegs: [][]Note{{
		{Name: "VMCOREINFO", Desc: []byte("A=1\n")},
		{Name: "CORE", Type: 1, Desc: make([]byte, 16)},
	}}}.bytes()
	noteStart := 64 + 56
	second := noteStart + 12 + 12 + 4 // header, "VMCOREINFO\0" padded to 12, desc 4
	le.PutUint32(b[second+4:], 0xffffffff)
	// The dump opens: the notes before the damaged one are kept, and a
	// warning names the note, its offset and its claim.
	allocs := testing.AllocsPerRun(10, func() {
		f, err := NewFile(bytes.NewReader(b), int64(len(b)))
		if err != nil || string(f.VMCOREINFO()) != "A=1\n" || len(f.Warnings) != 2 ||
			!strings.Contains(f.Warnings[1], "4294967295") || !strings.Contains(f.Warnings[1], fmt.Sprintf("%#x", second)) {
			t.Fatalf("4 GiB note: err = %v, warnings %q", err, f.Warnings)
		}
	})
	if allocs > 50 {
		t.Errorf("rejecting a 4 GiB note took %v allocations", allocs)
	}

	// Damage in the first note: the notes after it are found again.
	b = coreSpec{machine: elf.EM_X86_64, noteSegs: [][]Note{{
		{Name: "CORE", Type: 1, Desc: make([]byte, 16)},
		{Name: "VMCOREINFO", Desc: []byte("B=2\n")},
	}}}.bytes()
	le.PutUint32(b[noteStart:], 0x7fffffff) // the first note's name size
	if f, err := NewFile(bytes.NewReader(b), int64(len(b))); err != nil || string(f.VMCOREINFO()) != "B=2\n" ||
		!strings.Contains(strings.Join(f.Warnings, "\n"), "notes found again at file offset") {
		t.Errorf("a damaged first note: err %v, VMCOREINFO %q, warnings %q", err, f.VMCOREINFO(), f.Warnings)
	}

	// A PT_NOTE and a PT_LOAD claiming 2^40 bytes of a small file: the
	// file is treated as truncated, nothing of that size is allocated.
	b = coreSpec{machine: elf.EM_X86_64, noteSegs: [][]Note{{{Name: "VMCOREINFO", Desc: []byte("A=1\n")}}},
		loads: []loadSpec{load(0x1000, 0x10, 0)}}.bytes()
	le.PutUint64(b[64+32:], 1<<40)       // PT_NOTE p_filesz
	le.PutUint64(b[64+56+32:], 1<<40)    // PT_LOAD p_filesz
	le.PutUint64(b[64+56+40:], 1<<40+16) // PT_LOAD p_memsz
	var f *File
	allocs = testing.AllocsPerRun(10, func() {
		var err error
		if f, err = NewFile(bytes.NewReader(b), int64(len(b))); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 50 {
		t.Errorf("opening a file with 2^40-byte segments took %v allocations", allocs)
	}
	if string(f.VMCOREINFO()) != "A=1\n" || len(f.Warnings) != 2 {
		t.Errorf("VMCOREINFO %q, warnings %q", f.VMCOREINFO(), f.Warnings)
	}
	wantRead(t, f, 0x1000, memRange(0x1000, 0x10))
	wantPhysErr(t, f, 0x1000, 0x20, 0x10, physmem.Lost, 0x1010)
	wantPhysErr(t, f, 1<<40+0xfff, 2, 0, physmem.Lost, 1<<40+0xfff)
	wantRead(t, f, 1<<40+0x1000, make([]byte, 0x10))
	wantPhysErr(t, f, 1<<40+0x1010, 1, 0, physmem.BeyondEnd, 1<<40+0x1010)

	// Total note data over MaxNoteBytes is refused even if the file holds it.
	big := &sparseReader{size: MaxNoteBytes * 2, head: coreSpec{machine: elf.EM_X86_64, noteSegs: [][]Note{{}}}.bytes()}
	le.PutUint64(big.head[64+8:], 4096)
	le.PutUint64(big.head[64+32:], MaxNoteBytes+1)
	if _, err := NewFile(big, big.size); err == nil || !strings.Contains(err.Error(), "exceeds the limit") {
		t.Errorf("oversized PT_NOTE: err = %v", err)
	}
}

// sparseReader is a large file of zeros after a header.
type sparseReader struct {
	size int64
	head []byte
}

func (r *sparseReader) ReadAt(p []byte, off int64) (int, error) {
	clear(p)
	if off < int64(len(r.head)) {
		copy(p, r.head[off:])
	}
	return len(p), nil
}

// TestReadAtModel compares ReadAt with a byte-by-byte model on random
// layouts: gaps, zero tails, adjacent segments and truncation.
func TestReadAtModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for iter := range 200 {
		var spec coreSpec
		spec.machine = elf.EM_X86_64
		if iter%3 == 1 {
			spec.class = elf.ELFCLASS32
		}
		if iter%4 == 2 {
			spec.order = binary.BigEndian
		}
		addr := uint64(rng.IntN(3)) * 0x100
		for range 1 + rng.IntN(8) {
			fs := uint64(rng.IntN(0x300))
			ms := fs + uint64(rng.IntN(3))*uint64(rng.IntN(0x200))
			if ms == 0 {
				ms = 1
			}
			spec.loads = append(spec.loads, load(addr, fs, ms))
			addr += ms + uint64(rng.IntN(2))*uint64(rng.IntN(0x100)) // adjacent or a gap
		}
		rng.Shuffle(len(spec.loads), func(i, j int) { spec.loads[i], spec.loads[j] = spec.loads[j], spec.loads[i] })
		b := spec.bytes()
		if rng.IntN(2) == 0 {
			b = b[:len(b)-rng.IntN(min(len(b), 0x400))]
		}
		f, err := NewFile(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			var fe *FormatError
			if errors.As(err, &fe) && len(b) < 64+8*56 {
				continue // cut into the headers
			}
			t.Fatalf("iter %d: %v", iter, err)
		}
		// The model: segment by segment, from the file's own headers.
		var end uint64
		for _, s := range f.Segments {
			end = max(end, s.PAddr+s.MemSize)
		}
		model := func(a uint64) (byte, physmem.Kind) {
			for _, s := range f.Segments {
				if a >= s.PAddr && a < s.PAddr+s.MemSize {
					if a-s.PAddr >= s.FileSize {
						return 0, 0
					}
					if s.Offset+(a-s.PAddr) >= uint64(len(b)) {
						return 0, physmem.Lost
					}
					return memByte(a), 0
				}
			}
			if a >= end {
				return 0, physmem.BeyondEnd
			}
			return 0, physmem.NotInDump
		}
		for range 50 {
			off := uint64(rng.IntN(int(end + 0x100)))
			p := make([]byte, rng.IntN(0x500))
			n, err := f.ReadAt(p, int64(off))
			wantN, wantKind := len(p), physmem.Kind(0)
			for i := range p {
				v, k := model(off + uint64(i))
				if k != 0 {
					wantN, wantKind = i, k
					break
				}
				if p[i] != v {
					t.Fatalf("iter %d: byte at %#x = %#x, want %#x", iter, off+uint64(i), p[i], v)
				}
			}
			var pe *physmem.Error
			switch {
			case wantKind == 0 && err != nil:
				t.Fatalf("iter %d: ReadAt(%#x, %#x) = %d, %v; want no error", iter, off, len(p), n, err)
			case wantKind != 0 && (!errors.As(err, &pe) || pe.Kind != wantKind || pe.Addr != off+uint64(wantN)):
				t.Fatalf("iter %d: ReadAt(%#x, %#x) = %d, %v; want %v at %#x", iter, off, len(p), n, err, wantKind, off+uint64(wantN))
			case n != wantN:
				t.Fatalf("iter %d: ReadAt(%#x, %#x) n = %d, want %d", iter, off, len(p), n, wantN)
			}
		}
	}
}

func TestConcurrentReads(t *testing.T) {
	spec := coreSpec{machine: elf.EM_X86_64}
	for i := range 64 {
		spec.loads = append(spec.loads, load(uint64(i)*0x20000, 0x10000, 0x18000))
	}
	f := mustOpen(t, spec.bytes())
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 9))
			p := make([]byte, 0x800)
			for range 2000 {
				seg := uint64(rng.IntN(64)) * 0x20000
				off := uint64(rng.IntN(0x10000 - len(p)))
				if _, err := f.ReadAt(p, int64(seg+off)); err != nil {
					t.Error(err)
					return
				}
				if !bytes.Equal(p, memRange(seg+off, uint64(len(p)))) {
					t.Errorf("wrong bytes at %#x", seg+off)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	core := filepath.Join(dir, "vmcore")
	b := coreSpec{machine: elf.EM_X86_64, loads: []loadSpec{load(0x1000, 0x1000, 0)}}.bytes()
	if err := os.WriteFile(core, b, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := Open(core)
	if err != nil {
		t.Fatal(err)
	}
	if f.Size() != int64(len(b)) {
		t.Errorf("Size = %d", f.Size())
	}
	wantRead(t, f, 0x1000, memRange(0x1000, 0x1000))
	if err := f.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := f.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}

	text := filepath.Join(dir, "text")
	os.WriteFile(text, []byte("not a dump\n"), 0o600)
	if _, err := Open(text); !errors.Is(err, ErrNotELF) || !strings.Contains(err.Error(), text) {
		t.Errorf("Open(text) = %v", err)
	}
	if _, err := Open(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Open(missing) = %v", err)
	}
}

func TestReadAtDoesNotAllocate(t *testing.T) {
	spec := coreSpec{machine: elf.EM_X86_64}
	for i := range 16 {
		spec.loads = append(spec.loads, load(uint64(i)*0x10000, 0x8000, 0x10000))
	}
	f := mustOpen(t, spec.bytes())
	p := make([]byte, 4096)
	allocs := testing.AllocsPerRun(1000, func() {
		if _, err := f.ReadAt(p, 0x57000); err != nil { // zero tail and file data
			t.Fatal(err)
		}
		if _, err := f.ReadAt(p, 0x53000); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("ReadAt allocates %v times per call", allocs)
	}
}

// eofAtEndReader returns io.EOF with a complete read that reaches the end
// of the data, as io.ReaderAt permits.
type eofAtEndReader struct{ b []byte }

func (r eofAtEndReader) ReadAt(p []byte, off int64) (int, error) {
	n, err := bytes.NewReader(r.b).ReadAt(p, off)
	if err == nil && off+int64(n) == int64(len(r.b)) {
		err = io.EOF
	}
	return n, err
}

func TestReaderEOFAtEnd(t *testing.T) {
	// Notes last in the file, and a segment ending at the end of the file.
	for _, b := range [][]byte{
		coreSpec{machine: elf.EM_X86_64, noteSegs: [][]Note{{{Name: "VMCOREINFO", Desc: []byte("A=1\n")}}}}.bytes(),
		coreSpec{machine: elf.EM_X86_64, loads: []loadSpec{load(0x1000, 0x100, 0)}}.bytes(),
	} {
		f, err := NewFile(eofAtEndReader{b}, int64(len(b)))
		if err != nil {
			t.Fatal(err)
		}
		if len(f.Segments) > 0 {
			wantRead(t, f, 0x1000, memRange(0x1000, 0x100))
		} else if string(f.VMCOREINFO()) != "A=1\n" {
			t.Errorf("VMCOREINFO %q", f.VMCOREINFO())
		}
	}
}
