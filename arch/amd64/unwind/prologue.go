package unwind

import (
	"fmt"

	"golang.org/x/arch/x86/x86asm"
)

// maxPrologueCode bounds the code decoded to find one frame's size: a
// function longer than this is not analysed.
const maxPrologueCode = 64 << 10

// prologueRule finds the unwind rule at pc by reading the function's
// machine code from its start (the analysis crash makes where it has no
// unwind tables): the stack pointer's depth below the function's entry is
// followed through pushes, pops, and additions to and subtractions from
// %rsp; a conditional or direct jump carries its depth to its target, and
// code after a return or jump takes the depth a jump brought there, else
// that of the jump before it, or after a return the deepest state seen at
// a call or conditional jump (the body's, not that of the code before the
// prologue, nor of an epilogue). A frame set up with "mov %rsp,%rbp"
// is unwound from %rbp when %rsp is no longer known (realigned, or set
// from a register).
//
// code is the function's bytes from start up to at least pc.
func prologueRule(start uint64, code []byte, pc uint64) (rule, error) {
	r, _, err := prologueFrame(start, code, pc)
	return r, err
}

// prologueState is what prologue analysis knows of the frame at a PC:
// the bytes pushed below the return address (when rspKnown), and the
// depth at which %rbp was set to the frame (framed, -1 for none).
type prologueState struct {
	depth, framed int64
	rspKnown      bool
}

func prologueFrame(start uint64, code []byte, pc uint64) (rule, prologueState, error) {
	if pc < start || pc-start > uint64(len(code)) || len(code) > maxPrologueCode {
		return rule{}, prologueState{}, fmt.Errorf("%#x is not in the %d bytes of code from %#x", pc, len(code), start)
	}
	// frameState is what is known of the frame before an instruction.
	type frameState struct {
		depth    int64 // bytes pushed below the return address
		bpSave   int64 // depth just after "push %rbp", -1 when not saved
		framed   int64 // depth when "mov %rsp,%rbp" ran, -1 when %rbp is no frame
		rspKnown bool  // false once %rsp was realigned or set from a register
	}
	st := frameState{bpSave: -1, framed: -1, rspKnown: true}
	body := frameState{depth: -1}
	targets := map[uint64]frameState{}
	ended := false       // the previous instruction does not fall through
	var after frameState // the state for untargeted code after it
	for addr := start; addr < pc; {
		off := addr - start
		if t, ok := targets[addr]; ok && ended {
			st = t
		} else if ended {
			st = after
		}
		ended = false
		inst, err := x86asm.Decode(code[off:], 64)
		if err != nil || inst.Len == 0 {
			return rule{}, prologueState{}, fmt.Errorf("undecodable instruction at %#x", addr)
		}
		next := addr + uint64(inst.Len)
		reg0, _ := inst.Args[0].(x86asm.Reg)
		src, _ := inst.Args[1].(x86asm.Reg)
		switch inst.Op {
		case x86asm.PUSH, x86asm.PUSHF, x86asm.PUSHFQ:
			st.depth += 8
			if reg0 == x86asm.RBP && st.bpSave < 0 {
				st.bpSave = st.depth
			}
		case x86asm.POP, x86asm.POPF, x86asm.POPFQ:
			st.depth -= 8
			if reg0 == x86asm.RBP && st.depth < st.bpSave {
				st.bpSave, st.framed = -1, -1
			}
		case x86asm.LEAVE:
			if st.framed < 0 {
				return rule{}, prologueState{}, fmt.Errorf("leave at %#x without a frame", addr)
			}
			st.depth, st.rspKnown = st.framed-8, true
			st.bpSave, st.framed = -1, -1
		case x86asm.SUB, x86asm.ADD:
			if reg0 != x86asm.RSP {
				break
			}
			imm, ok := inst.Args[1].(x86asm.Imm)
			switch {
			case !ok:
				st.rspKnown = false
			case inst.Op == x86asm.SUB:
				st.depth += int64(imm)
			default:
				st.depth -= int64(imm)
			}
		case x86asm.LEA:
			if reg0 != x86asm.RSP {
				break
			}
			if m, ok := inst.Args[1].(x86asm.Mem); ok && m.Base == x86asm.RSP && m.Index == 0 {
				st.depth -= m.Disp
			} else if ok && m.Base == x86asm.RBP && m.Index == 0 && st.framed >= 0 {
				st.depth, st.rspKnown = st.framed-m.Disp, true
			} else {
				st.rspKnown = false
			}
		case x86asm.MOV:
			switch {
			case reg0 == x86asm.RBP && src == x86asm.RSP && st.rspKnown:
				st.framed = st.depth
			case reg0 == x86asm.RBP:
				st.framed = -1 // %rbp reused: no longer the frame
			case reg0 == x86asm.RSP && src == x86asm.RBP && st.framed >= 0:
				st.depth, st.rspKnown = st.framed, true
			case reg0 == x86asm.RSP:
				st.rspKnown = false
			}
		case x86asm.AND:
			if reg0 == x86asm.RSP {
				st.rspKnown = false
			}
		case x86asm.RET:
			// After an epilogue: the body's state.
			ended, after = true, body
			if body.depth < 0 {
				after = st
			}
		case x86asm.UD2, x86asm.INT:
			ended, after = true, st
		case x86asm.JMP:
			// A jump within the body: the code after it is the body's
			// too. A tail call (after an epilogue) is followed by the
			// body's state.
			ended, after = true, st
			if _, ok := inst.Args[0].(x86asm.Rel); (!ok || st.depth < body.depth) && body.depth >= 0 {
				after = body
			}
			fallthrough
		case x86asm.JA, x86asm.JAE, x86asm.JB, x86asm.JBE, x86asm.JE, x86asm.JG, x86asm.JGE,
			x86asm.JL, x86asm.JLE, x86asm.JNE, x86asm.JNO, x86asm.JNP, x86asm.JNS, x86asm.JO,
			x86asm.JP, x86asm.JS:
			if rel, ok := inst.Args[0].(x86asm.Rel); ok {
				t := next + uint64(int64(rel))
				if _, seen := targets[t]; !seen && t > addr {
					targets[t] = st
				}
			}
			if inst.Op != x86asm.JMP && st.depth >= body.depth {
				body = st
			}
		case x86asm.CALL:
			if st.depth >= body.depth {
				body = st
			}
		default:
			if reg0 == x86asm.RBP && inst.Op != x86asm.CMP && inst.Op != x86asm.TEST {
				st.framed = -1
			}
		}
		if st.depth < 0 && st.rspKnown {
			return rule{}, prologueState{}, fmt.Errorf("the stack pointer rises above the return address at %#x", addr)
		}
		addr = next
	}
	if t, ok := targets[pc]; ok && ended {
		st = t
	}
	var r rule
	switch {
	case st.rspKnown:
		r = rule{cfaReg: dwarfRSP, cfaOff: st.depth + 8}
	case st.framed >= 0:
		r = rule{cfaReg: dwarfRBP, cfaOff: st.framed + 8}
	default:
		return rule{}, prologueState{}, fmt.Errorf("the stack pointer at %#x is not known", pc)
	}
	r.raOff, r.knownRA = -8, true
	if st.bpSave >= 0 {
		r.bpSaved, r.bpOff = true, -8-st.bpSave
	}
	return r, prologueState{st.depth, st.framed, st.rspKnown}, nil
}
