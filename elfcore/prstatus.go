package elfcore

import (
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
)

// PRStatus is a decoded NT_PRSTATUS note: the registers of one CPU at the
// time of the crash, as the kernel's crash_save_cpu (or QEMU) wrote them.
type PRStatus struct {
	Machine elf.Machine
	CurSig  int16 // pr_cursig: the signal being delivered, usually 0
	Pid     int32 // pr_pid: the task running on the CPU (QEMU: the CPU index)
	PPid    int32
	// Regs is pr_reg, the elf_gregset_t, one word per element in the
	// architecture's order, widened to uint64 on 32-bit machines. The
	// accessors AMD64, I386 and ARM64 name the elements.
	Regs []uint64
}

// Layout of struct elf_prstatus: pr_info (12 bytes), pr_cursig (2, padded),
// pr_sigpend, pr_sighold (unsigned long each), pr_pid, pr_ppid, pr_pgrp,
// pr_sid (int32 each), four struct timevals (two longs each), pr_reg, and
// pr_fpvalid (int32, padded to the word size).
const (
	prCursigOff = 12
	prPid64     = 32  // pr_pid with 8-byte longs
	prReg64     = 112 // pr_reg with 8-byte longs
	prPid32     = 24  // pr_pid with 4-byte longs
	prReg32     = 72  // pr_reg with 4-byte longs
)

// Register counts (ELF_NGREG) and desc sizes of the machines decoded by name.
const (
	amd64NGReg    = 27
	amd64DescSize = prReg64 + amd64NGReg*8 + 8 // 336
	i386NGReg     = 17
	i386DescSize  = prReg32 + i386NGReg*4 + 4 // 144
	arm64NGReg    = 34
	arm64DescSize = prReg64 + arm64NGReg*8 + 8 // 392
)

// wordSize is the size of unsigned long in the dumped kernel. QEMU writes
// EM_386 notes into ELF64 files when a 32-bit guest has memory above 4 GiB,
// so known machines decide before the ELF class does.
func wordSize(m elf.Machine, class elf.Class) int {
	switch m {
	case elf.EM_X86_64, elf.EM_AARCH64, elf.EM_PPC64, elf.EM_LOONGARCH, elf.EM_IA_64, elf.EM_ALPHA, elf.EM_SPARCV9:
		return 8
	case elf.EM_386, elf.EM_ARM, elf.EM_PPC:
		return 4
	}
	if class == elf.ELFCLASS32 {
		return 4
	}
	return 8
}

// DecodePRStatus decodes the desc of an NT_PRSTATUS note written for machine
// m in byte order order; class (the dump's ELF class) decides the word size
// for machines it does not know. x86_64, i386 and aarch64 descs must have
// their exact kernel size; for other machines pr_reg is taken as the words
// between the fixed prefix and pr_fpvalid.
func DecodePRStatus(desc []byte, m elf.Machine, class elf.Class, order binary.ByteOrder) (PRStatus, error) {
	want := 0
	switch m {
	case elf.EM_X86_64:
		want = amd64DescSize
	case elf.EM_386:
		want = i386DescSize
	case elf.EM_AARCH64:
		want = arm64DescSize
	}
	if want != 0 && len(desc) != want {
		return PRStatus{}, fmt.Errorf("elfcore: %v NT_PRSTATUS desc is %d bytes, want %d", m, len(desc), want)
	}
	word := wordSize(m, class)
	pidOff, regOff := prPid64, prReg64
	if word == 4 {
		pidOff, regOff = prPid32, prReg32
	}
	trailer := word // pr_fpvalid padded to the word size
	if len(desc) < regOff+trailer {
		return PRStatus{}, fmt.Errorf("elfcore: %v NT_PRSTATUS desc of %d bytes is shorter than its fixed part (%d)", m, len(desc), regOff+trailer)
	}
	nreg := (len(desc) - regOff - trailer) / word
	p := PRStatus{
		Machine: m,
		CurSig:  int16(order.Uint16(desc[prCursigOff:])),
		Pid:     int32(order.Uint32(desc[pidOff:])),
		PPid:    int32(order.Uint32(desc[pidOff+4:])),
		Regs:    make([]uint64, nreg),
	}
	for i := range p.Regs {
		o := regOff + i*word
		if word == 8 {
			p.Regs[i] = order.Uint64(desc[o:])
		} else {
			p.Regs[i] = uint64(order.Uint32(desc[o:]))
		}
	}
	return p, nil
}

// PRStatus decodes every NT_PRSTATUS note named "CORE", in note order: one
// per CPU. Notes that do not decode are skipped and reported in the error,
// which joins one error per bad note; the good ones are still returned.
func (f *File) PRStatus() ([]PRStatus, error) {
	var out []PRStatus
	var errs []error
	for i, n := range f.Notes {
		if n.Type != uint32(elf.NT_PRSTATUS) || n.Name != "CORE" {
			continue
		}
		p, err := DecodePRStatus(n.Desc, f.Machine, f.Class, f.ByteOrder)
		if err != nil {
			errs = append(errs, fmt.Errorf("note %d: %w", i, err))
			continue
		}
		out = append(out, p)
	}
	return out, errors.Join(errs...)
}

// AMD64Regs is the x86_64 elf_gregset_t (struct user_regs_struct).
type AMD64Regs struct {
	R15, R14, R13, R12, RBP, RBX, R11, R10 uint64
	R9, R8, RAX, RCX, RDX, RSI, RDI        uint64
	OrigRAX, RIP, CS, EFlags, RSP, SS      uint64
	FSBase, GSBase, DS, ES, FS, GS         uint64
}

// AMD64 names the registers of an x86_64 NT_PRSTATUS; ok is false for
// another machine.
func (p PRStatus) AMD64() (r AMD64Regs, ok bool) {
	if p.Machine != elf.EM_X86_64 || len(p.Regs) != amd64NGReg {
		return r, false
	}
	g := p.Regs
	r = AMD64Regs{
		R15: g[0], R14: g[1], R13: g[2], R12: g[3], RBP: g[4], RBX: g[5], R11: g[6], R10: g[7],
		R9: g[8], R8: g[9], RAX: g[10], RCX: g[11], RDX: g[12], RSI: g[13], RDI: g[14],
		OrigRAX: g[15], RIP: g[16], CS: g[17], EFlags: g[18], RSP: g[19], SS: g[20],
		FSBase: g[21], GSBase: g[22], DS: g[23], ES: g[24], FS: g[25], GS: g[26],
	}
	return r, true
}

// I386Regs is the i386 elf_gregset_t (struct user_regs_struct); segment
// registers are the 16-bit selectors.
type I386Regs struct {
	EBX, ECX, EDX, ESI, EDI, EBP, EAX uint32
	DS, ES, FS, GS                    uint32
	OrigEAX, EIP, CS, EFlags, ESP, SS uint32
}

// I386 names the registers of an i386 NT_PRSTATUS; ok is false for another
// machine.
func (p PRStatus) I386() (r I386Regs, ok bool) {
	if p.Machine != elf.EM_386 || len(p.Regs) != i386NGReg {
		return r, false
	}
	var g [i386NGReg]uint32
	for i, v := range p.Regs {
		g[i] = uint32(v)
	}
	r = I386Regs{
		EBX: g[0], ECX: g[1], EDX: g[2], ESI: g[3], EDI: g[4], EBP: g[5], EAX: g[6],
		DS: g[7] & 0xffff, ES: g[8] & 0xffff, FS: g[9] & 0xffff, GS: g[10] & 0xffff,
		OrigEAX: g[11], EIP: g[12], CS: g[13] & 0xffff, EFlags: g[14], ESP: g[15], SS: g[16] & 0xffff,
	}
	return r, true
}

// ARM64Regs is the aarch64 elf_gregset_t (struct user_pt_regs).
type ARM64Regs struct {
	X      [31]uint64 // x0..x30; x29 is the frame pointer, x30 the link register
	SP     uint64
	PC     uint64
	PState uint64
}

// ARM64 names the registers of an aarch64 NT_PRSTATUS; ok is false for
// another machine.
func (p PRStatus) ARM64() (r ARM64Regs, ok bool) {
	if p.Machine != elf.EM_AARCH64 || len(p.Regs) != arm64NGReg {
		return r, false
	}
	copy(r.X[:], p.Regs[:31])
	r.SP, r.PC, r.PState = p.Regs[31], p.Regs[32], p.Regs[33]
	return r, true
}

// PC returns the program counter for the machines decoded by name (x86_64,
// i386, aarch64).
func (p PRStatus) PC() (uint64, bool) {
	if r, ok := p.AMD64(); ok {
		return r.RIP, true
	}
	if r, ok := p.I386(); ok {
		return uint64(r.EIP), true
	}
	if r, ok := p.ARM64(); ok {
		return r.PC, true
	}
	return 0, false
}

// SP returns the stack pointer for the machines decoded by name (x86_64,
// i386, aarch64).
func (p PRStatus) SP() (uint64, bool) {
	if r, ok := p.AMD64(); ok {
		return r.RSP, true
	}
	if r, ok := p.I386(); ok {
		return uint64(r.ESP), true
	}
	if r, ok := p.ARM64(); ok {
		return r.SP, true
	}
	return 0, false
}
