package elfcore

import (
	"debug/elf"
	"testing"

	"github.com/vmcoretools/vmcore/physmem"
)

// testdata/qemu72-i386-bios-headers.core is the first 0x6f0 bytes (ELF
// header, program headers and notes, no memory) of a file written by QEMU
// 7.2's `dump-guest-memory` for a 64 MiB, 2-vCPU x86 guest stopped at the
// reset vector before the BIOS ran. It checks the decoders against QEMU's
// real layout: an ELF64 file with EM_386 notes (QEMU picks ELF64 because the
// BIOS ROM ends at 4 GiB), and CPU state at its architectural reset values.
func TestQEMURealHeaders(t *testing.T) {
	f, err := Open("testdata/qemu72-i386-bios-headers.core")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Class != elf.ELFCLASS64 || f.Machine != elf.EM_386 || len(f.Segments) != 5 || len(f.Notes) != 4 {
		t.Fatalf("%v %v, %d segments, %d notes", f.Class, f.Machine, len(f.Segments), len(f.Notes))
	}
	if s := f.Segments[4]; s.PAddr != 0xfffc0000 || s.MemSize != 0x40000 || s.Offset != 0x40006f0 {
		t.Errorf("BIOS segment %+v", s)
	}
	if len(f.Warnings) != 1 {
		t.Errorf("warnings %q", f.Warnings)
	}
	var b [16]byte
	if _, err := f.ReadAt(b[:], 0xffff0); err == nil || err.(*physmem.Error).Kind != physmem.Lost {
		t.Errorf("read of cut memory: %v", err)
	}

	prs, err := f.PRStatus()
	if err != nil || len(prs) != 2 {
		t.Fatalf("PRStatus %d, %v", len(prs), err)
	}
	for i, p := range prs {
		r, ok := p.I386()
		// QEMU stores the CPU number + 1 as pr_pid; after reset EIP is
		// 0xfff0 in CS 0xf000 and EDX holds the CPUID signature.
		if !ok || p.Pid != int32(i+1) || r.EIP != 0xfff0 || r.CS != 0xf000 || r.EFlags != 2 || r.EDX == 0 {
			t.Errorf("cpu %d: pid %d %+v", i, p.Pid, r)
		}
	}
	qs, err := f.QEMUCPUStates()
	if err != nil || len(qs) != 2 {
		t.Fatalf("QEMUCPUStates %d, %v", len(qs), err)
	}
	for i, q := range qs {
		if q.Version != 1 || q.Size != 440 || !q.HasKernelGSBase || q.RIP != 0xfff0 || q.RFlags != 2 ||
			q.CS != (QEMUSegment{Selector: 0xf000, Limit: 0xffff, Flags: 0x9b00, Base: 0xffff0000}) ||
			q.CR[0] != 0x60000010 || q.IDT.Limit != 0xffff || q.RDX != uint64(prs[i].Regs[2]) {
			t.Errorf("cpu %d: %+v", i, q)
		}
	}
}
