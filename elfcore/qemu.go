package elfcore

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// QEMUSegment is a segment register or descriptor-table register as QEMU
// saves it (its SegmentCache): selector, limit, access flags and base.
type QEMUSegment struct {
	Selector uint32
	Limit    uint32
	Flags    uint32
	Base     uint64
}

// QEMUCPUState is the x86 CPU state that QEMU's dump-guest-memory writes in
// a note named "QEMU" of type 0, one per vCPU, after the CPU's NT_PRSTATUS
// (QEMUCPUState in QEMU's target/i386/arch_dump.c). Unlike NT_PRSTATUS it
// holds the control registers and descriptor tables, which a reader needs to
// walk page tables when the guest left no VMCOREINFO.
type QEMUCPUState struct {
	Version uint32 // 1 in every QEMU release so far
	Size    uint32 // sizeof the writer's struct; later fields are appended

	RAX, RBX, RCX, RDX, RSI, RDI, RSP, RBP uint64
	R8, R9, R10, R11, R12, R13, R14, R15   uint64
	RIP, RFlags                            uint64

	CS, DS, ES, FS, GS, SS QEMUSegment
	LDT, TR, GDT, IDT      QEMUSegment
	CR                     [5]uint64

	// KernelGSBase is the MSR_KERNEL_GS_BASE of x86_64 guests, present
	// when HasKernelGSBase (QEMU 2.12 and later write it; Size tells).
	KernelGSBase    uint64
	HasKernelGSBase bool
}

const (
	qemuSegSize       = 24
	qemuStateBaseSize = 8 + 18*8 + 10*qemuSegSize + 5*8 // 432: through cr[5]
	qemuStateGSSize   = qemuStateBaseSize + 8           // 440: with kernel_gs_base
)

// DecodeQEMUCPUState decodes the desc of a "QEMU" note. It reads the fields
// that both the desc and the struct's own size field cover, so states
// written by older or newer QEMUs decode as far as they agree.
func DecodeQEMUCPUState(desc []byte, order binary.ByteOrder) (QEMUCPUState, error) {
	var s QEMUCPUState
	if len(desc) < 8 {
		return s, fmt.Errorf("elfcore: QEMU CPU state of %d bytes is too short", len(desc))
	}
	s.Version = order.Uint32(desc[0:])
	s.Size = order.Uint32(desc[4:])
	if s.Version == 0 {
		return s, errors.New("elfcore: QEMU CPU state has version 0")
	}
	n := min(uint64(len(desc)), uint64(s.Size))
	if n < qemuStateBaseSize {
		return s, fmt.Errorf("elfcore: QEMU CPU state covers %d bytes (desc %d, size field %d), want at least %d",
			n, len(desc), s.Size, qemuStateBaseSize)
	}
	off := 8
	u64 := func() uint64 { v := order.Uint64(desc[off:]); off += 8; return v }
	seg := func() QEMUSegment {
		g := QEMUSegment{Selector: order.Uint32(desc[off:]), Limit: order.Uint32(desc[off+4:]),
			Flags: order.Uint32(desc[off+8:]), Base: order.Uint64(desc[off+16:])}
		off += qemuSegSize
		return g
	}
	for _, r := range []*uint64{&s.RAX, &s.RBX, &s.RCX, &s.RDX, &s.RSI, &s.RDI, &s.RSP, &s.RBP,
		&s.R8, &s.R9, &s.R10, &s.R11, &s.R12, &s.R13, &s.R14, &s.R15, &s.RIP, &s.RFlags} {
		*r = u64()
	}
	for _, g := range []*QEMUSegment{&s.CS, &s.DS, &s.ES, &s.FS, &s.GS, &s.SS, &s.LDT, &s.TR, &s.GDT, &s.IDT} {
		*g = seg()
	}
	for i := range s.CR {
		s.CR[i] = u64()
	}
	if n >= qemuStateGSSize {
		s.KernelGSBase = u64()
		s.HasKernelGSBase = true
	}
	return s, nil
}

// QEMUCPUStates decodes every "QEMU" note of type 0, in note order: one per
// vCPU in dumps written by QEMU's dump-guest-memory for x86 guests, none
// otherwise. Bad notes are skipped and reported in the joined error.
func (f *File) QEMUCPUStates() ([]QEMUCPUState, error) {
	var out []QEMUCPUState
	var errs []error
	for i, n := range f.Notes {
		if n.Name != "QEMU" || n.Type != 0 {
			continue
		}
		s, err := DecodeQEMUCPUState(n.Desc, f.ByteOrder)
		if err != nil {
			errs = append(errs, fmt.Errorf("note %d: %w", i, err))
			continue
		}
		out = append(out, s)
	}
	return out, errors.Join(errs...)
}
