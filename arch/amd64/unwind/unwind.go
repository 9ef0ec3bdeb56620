package unwind

import (
	"encoding/binary"
	"fmt"
	"io"

	"github.com/vmcoretools/vmcore/arch"
)

// Regs is struct pt_regs of x86_64, as the entry code saves it.
type Regs struct {
	R15, R14, R13, R12, BP, BX, R11, R10, R9, R8      uint64
	AX, CX, DX, SI, DI, OrigAX, IP, CS, Flags, SP, SS uint64
}

// PtRegsSize is sizeof(struct pt_regs) on x86_64.
const PtRegsSize = 21 * 8

// ipOffset is offsetof(struct pt_regs, ip): where an iret frame starts.
const ipOffset = 16 * 8

// UserMode reports registers saved while the CPU ran user code.
func (r *Regs) UserMode() bool { return r.CS&3 != 0 }

// DecodeRegs decodes a struct pt_regs.
func DecodeRegs(b []byte) *Regs {
	if len(b) < PtRegsSize {
		return nil
	}
	var w [21]uint64
	for i := range w {
		w[i] = binary.LittleEndian.Uint64(b[8*i:])
	}
	return &Regs{w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7], w[8], w[9],
		w[10], w[11], w[12], w[13], w[14], w[15], w[16], w[17], w[18], w[19], w[20]}
}

// Frame is one frame of a trace.
type Frame struct {
	// Slot is where the frame's PC was read from: the stack word holding
	// the return address (what crash prints in brackets).
	Slot uint64
	// PC is the return address, or the interrupted IP of a frame reached
	// through an exception frame.
	PC uint64
	// Regs, when set, is the exception frame (struct pt_regs) found above
	// this frame, at RegsAddr; PC of the next frame is Regs.IP.
	Regs     *Regs
	RegsAddr uint64
	// Partial marks an iret frame: only IP, CS, Flags, SP and SS of Regs
	// are valid.
	Partial bool
	// Interrupted marks a frame whose PC is the IP an exception frame
	// saved (the interrupted instruction), not a return address; Slot is
	// then the interrupted stack pointer.
	Interrupted bool
	// By says how the frame was found: arch.MethodStart for the first,
	// MethodORC, MethodCFI or MethodFP for a caller, MethodRegs for the
	// instruction an exception frame interrupted.
	By arch.Method
}

// Start is where a walk begins: a PC, the stack pointer just above the
// word the PC was read from (or the CPU's SP), and the frame pointer.
type Start struct {
	PC, SP, BP uint64
	// Slot is where PC was read from, 0 when it came from registers.
	Slot uint64
	// Signal says PC is an interrupted instruction, not a return address.
	Signal bool
}

// Walker unwinds with an ORC table.
type Walker struct {
	ORC *Table
	// Reloc is the KASLR offset: runtime address - link-time address.
	Reloc uint64
	// Mem reads kernel virtual memory.
	Mem io.ReaderAt
	// CFI, when set, unwinds code ORC has no entry for (before frame
	// pointers are tried).
	CFI *CFI
	// Text, when set, gives the machine code of the function holding a
	// PC (its start, and its bytes up to at least the PC): code neither
	// ORC nor CFI covers is then unwound by reading the function's
	// prologue (arch.MethodPrologue), before frame pointers are tried.
	Text func(pc uint64) (start uint64, code []byte, ok bool)
	// InText, with Text, reports whether an address is in a kernel
	// function: each return address prologue analysis finds must be.
	InText func(pc uint64) bool
	// MaxFrames bounds a walk (default 256).
	MaxFrames int
	// NoFP leaves frame pointers out: code neither ORC nor CFI covers
	// ends the walk.
	NoFP bool
}

// frameFP is the frame-pointer rule, used where ORC has no entry, as the
// kernel's orc_fp_entry: CFA = BP+16, caller's BP at CFA-16.
var frameFP = Entry{SPReg: RegBP, SPOffset: 16, BPReg: RegPrevSP, BPOffset: -16, Kind: KindCall}

// StackError ends a walk: memory that could not be read or an unwind rule
// that does not apply.
type StackError struct {
	Addr uint64 // stack address, or PC for a missing rule
	Msg  string
	Err  error
}

func (e *StackError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s at %#x: %v", e.Msg, e.Addr, e.Err)
	}
	return fmt.Sprintf("%s at %#x", e.Msg, e.Addr)
}

func (e *StackError) Unwrap() error { return e.Err }

func (w *Walker) word(addr uint64) (uint64, error) {
	var b [8]byte
	n, err := w.Mem.ReadAt(b[:], int64(addr))
	if n != 8 {
		if err == nil {
			err = io.ErrUnexpectedEOF
		}
		return 0, &StackError{Addr: addr, Msg: "cannot read the stack", Err: err}
	}
	return binary.LittleEndian.Uint64(b[:]), nil
}

// Walk unwinds from s. It returns the frames found, the first being s
// itself; the error says why the walk ended early (nil when it reached
// the outermost frame or user mode). inStack reports whether an address
// is on a stack the walk may read (the task's, or an IRQ or exception
// stack of its CPU); nil accepts every address.
func (w *Walker) Walk(s Start, inStack func(uint64) bool) ([]Frame, error) {
	maxFrames := w.MaxFrames
	if maxFrames <= 0 {
		maxFrames = 256
	}
	frames := []Frame{{Slot: s.Slot, PC: s.PC, By: arch.MethodStart}}
	pc, sp, bp, signal := s.PC, s.SP, s.BP, s.Signal
	var regs *Regs // the last full pt_regs, for R10/R13/DI/DX rules
	for len(frames) < maxFrames {
		look := pc - 1
		if signal {
			look = pc
		}
		e, ok := w.ORC.Lookup(look - w.Reloc)
		byFP := false
		if !ok || pc < w.Reloc || e.Kind == KindUndefined {
			if r, by, found := w.fallbackRule(look, pc); found {
				f, nsp, nbp, err := w.cfiStep(r, sp, bp)
				if err != nil {
					return frames, err
				}
				f.By = by
				if f.PC == 0 {
					return frames, nil
				}
				// Check what prologue analysis found: a return into a
				// known function, on the stack.
				if by == arch.MethodPrologue && w.InText != nil && !w.InText(f.PC-1) {
					return frames, &StackError{Addr: f.Slot, Msg: fmt.Sprintf("no unwind information at %#x (prologue analysis found no return address)", pc)}
				}
				if nsp <= sp && nsp>>14 == sp>>14 {
					return frames, &StackError{Addr: nsp, Msg: "the stack pointer does not move up"}
				}
				if by == arch.MethodPrologue && inStack != nil && !inStack(f.Slot) {
					return frames, &StackError{Addr: f.Slot, Msg: "the frame leaves the stack"}
				}
				frames = append(frames, f)
				pc, sp, bp, signal, regs = f.PC, nsp, nbp, false, nil
				continue
			}
			if e.Kind == KindUndefined && ok {
				return frames, &StackError{Addr: pc, Msg: "no unwind information (neither ORC nor CFI)"}
			}
			if w.NoFP {
				return frames, &StackError{Addr: pc, Msg: "no unwind information (neither ORC nor CFI; frame pointers not used)"}
			}
			if bp == 0 {
				// A zero frame pointer ends a frame-pointer chain.
				return frames, nil
			}
			e, byFP = frameFP, true
		}
		switch e.Kind {
		case KindEnd:
			return frames, nil
		case KindUndefined:
			return frames, &StackError{Addr: pc, Msg: "no unwind information (ORC undefined)"}
		}
		var cfa uint64
		indirect := false
		switch e.SPReg {
		case RegSP:
			cfa = sp + uint64(int64(e.SPOffset))
		case RegBP:
			cfa = bp + uint64(int64(e.SPOffset))
		case RegSPIndirect:
			cfa, indirect = sp, true
		case RegBPIndirect:
			cfa, indirect = bp+uint64(int64(e.SPOffset)), true
		case RegR10, RegR13, RegDI, RegDX:
			if regs == nil {
				return frames, &StackError{Addr: pc, Msg: fmt.Sprintf("ORC needs register %d, which no exception frame saved", e.SPReg)}
			}
			cfa = map[uint8]uint64{RegR10: regs.R10, RegR13: regs.R13, RegDI: regs.DI, RegDX: regs.DX}[e.SPReg]
		default:
			return frames, &StackError{Addr: pc, Msg: fmt.Sprintf("unknown ORC SP register %d", e.SPReg)}
		}
		if indirect {
			v, err := w.word(cfa)
			if err != nil {
				return frames, err
			}
			cfa = v
			if e.SPReg == RegSPIndirect {
				cfa += uint64(int64(e.SPOffset))
			}
		}
		if inStack != nil && !inStack(cfa-8) {
			return frames, &StackError{Addr: cfa, Msg: "the frame leaves the stack"}
		}
		switch e.Kind {
		case KindCall:
			ret, err := w.word(cfa - 8)
			if err != nil {
				return frames, err
			}
			switch e.BPReg {
			case RegPrevSP:
				if bp, err = w.word(cfa + uint64(int64(e.BPOffset))); err != nil {
					return frames, err
				}
			case RegBP:
				if bp, err = w.word(bp + uint64(int64(e.BPOffset))); err != nil {
					return frames, err
				}
			}
			// Within one stack (stacks are 16 KiB aligned) each caller's
			// frame lies above its callee's; a switch of stacks may go down.
			if cfa <= sp && cfa>>14 == sp>>14 {
				return frames, &StackError{Addr: cfa, Msg: "the stack pointer does not move up"}
			}
			if ret == 0 {
				return frames, nil
			}
			by := arch.MethodORC
			if byFP {
				by = arch.MethodFP
			}
			frames = append(frames, Frame{Slot: cfa - 8, PC: ret, By: by})
			pc, sp, signal, regs = ret, cfa, false, nil
		case KindRegs, KindRegsPartial:
			base := cfa
			if e.Kind == KindRegsPartial {
				base = cfa - ipOffset
			}
			buf := make([]byte, PtRegsSize)
			if n, err := w.Mem.ReadAt(buf, int64(base)); n != len(buf) {
				if e.Kind == KindRegsPartial {
					// Only the iret part need be readable.
					if n2, err2 := w.Mem.ReadAt(buf[ipOffset:], int64(cfa)); n2 != PtRegsSize-ipOffset {
						return frames, &StackError{Addr: cfa, Msg: "cannot read the exception frame", Err: err2}
					}
				} else {
					return frames, &StackError{Addr: base, Msg: "cannot read the exception frame", Err: err}
				}
			}
			r := DecodeRegs(buf)
			last := &frames[len(frames)-1]
			last.Regs, last.RegsAddr, last.Partial = r, base, e.Kind == KindRegsPartial
			if r.UserMode() || r.IP == 0 {
				return frames, nil
			}
			if e.Kind == KindRegs {
				regs = r
				bp = r.BP
			} else {
				regs = nil
			}
			frames = append(frames, Frame{PC: r.IP, Slot: r.SP, Interrupted: true, By: arch.MethodRegs})
			pc, sp, signal = r.IP, r.SP, true
		}
	}
	return frames, &StackError{Addr: sp, Msg: fmt.Sprintf("more than %d frames", maxFrames)}
}

// fallbackRule is the rule for code ORC does not cover: the vmlinux's
// CFI, else prologue analysis of the function's code (Text).
func (w *Walker) fallbackRule(look, pc uint64) (rule, arch.Method, bool) {
	if w.CFI != nil {
		if r, err := w.CFI.rule(look - w.Reloc); err == nil {
			return r, arch.MethodCFI, true
		}
	}
	if w.Text != nil {
		if start, code, ok := w.Text(look); ok {
			if r, err := prologueRule(start, code, pc); err == nil {
				return r, arch.MethodPrologue, true
			}
		}
	}
	return rule{}, "", false
}

// cfiStep unwinds one frame by a CFI rule.
func (w *Walker) cfiStep(r rule, sp, bp uint64) (Frame, uint64, uint64, error) {
	base := sp
	if r.cfaReg == dwarfRBP {
		base = bp
	}
	cfa := base + uint64(r.cfaOff)
	slot := cfa + uint64(r.raOff)
	ret, err := w.word(slot)
	if err != nil {
		return Frame{}, 0, 0, err
	}
	if r.bpSaved {
		if bp, err = w.word(cfa + uint64(r.bpOff)); err != nil {
			return Frame{}, 0, 0, err
		}
	}
	return Frame{Slot: slot, PC: ret, By: arch.MethodCFI}, cfa, bp, nil
}
