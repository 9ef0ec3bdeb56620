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

// testdata/qemu72-x86_64-panic-headers.core holds the headers and notes of a
// QEMU 7.2 `dump-guest-memory` of a 256 MiB, 2-vCPU guest whose Debian
// 6.1.0-56-cloud-amd64 kernel (booted with nokaslr under TCG) had panicked
// early in boot: vCPU 0 sits in the panic loop's delay_loop, vCPU 1 was
// never started and is still in the BIOS.
func TestQEMURealX8664(t *testing.T) {
	f, err := Open("testdata/qemu72-x86_64-panic-headers.core")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Class != elf.ELFCLASS64 || f.Machine != elf.EM_X86_64 || len(f.Segments) != 2 || f.Segments[0].MemSize != 256<<20 {
		t.Fatalf("%v %v %+v", f.Class, f.Machine, f.Segments)
	}
	prs, err := f.PRStatus()
	if err != nil || len(prs) != 2 {
		t.Fatalf("PRStatus %d, %v", len(prs), err)
	}
	qs, err := f.QEMUCPUStates()
	if err != nil || len(qs) != 2 {
		t.Fatalf("QEMUCPUStates %d, %v", len(qs), err)
	}
	r0, ok := prs[0].AMD64()
	// delay_loop is at 0xffffffff819c3500 in this kernel's vmlinux.
	if !ok || r0.RIP < 0xffffffff819c3500 || r0.RIP >= 0xffffffff819c3600 || r0.CS != 0x10 || r0.SS != 0 ||
		r0.RSP>>32 != 0xffffffff {
		t.Errorf("cpu 0 %+v", r0)
	}
	q0 := qs[0]
	if q0.RIP != r0.RIP || q0.RSP != r0.RSP || q0.RBP != r0.RBP || q0.R15 != r0.R15 || q0.RFlags != r0.EFlags ||
		q0.CS.Selector != 0x10 || q0.CR[0]&(1<<31) == 0 || q0.CR[4]&(1<<5) == 0 || q0.CR[3] != 0x2a10000 ||
		q0.GS.Base != r0.GSBase || q0.GDT.Base>>32 != 0xfffffe00 {
		t.Errorf("cpu 0 QEMU state %+v", q0)
	}
	r1, _ := prs[1].AMD64()
	if prs[1].Pid != 2 || r1.RIP != 0xfd09a || qs[1].CR[0]&1 == 0 || qs[1].CR[0]&(1<<31) != 0 {
		t.Errorf("cpu 1 %+v %+v", r1, qs[1])
	}
}
