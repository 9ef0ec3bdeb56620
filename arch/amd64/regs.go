package amd64

import (
	"fmt"

	"github.com/vmcoretools/vmcore/arch"
	"github.com/vmcoretools/vmcore/arch/amd64/unwind"
	"github.com/vmcoretools/vmcore/elfcore"
)

// Register names, as gdb and drgn spell them, in crash's display order.
var regNames = [...]string{"rip", "rsp", "rflags", "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp",
	"r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "orig_rax", "cs", "ss"}

// ptRegsValues lists r's registers in regNames' order.
func ptRegsValues(r *unwind.Regs) [len(regNames)]uint64 {
	return [...]uint64{r.IP, r.SP, r.Flags, r.AX, r.BX, r.CX, r.DX, r.SI, r.DI, r.BP,
		r.R8, r.R9, r.R10, r.R11, r.R12, r.R13, r.R14, r.R15, r.OrigAX, r.CS, r.SS}
}

// ArchRegs turns a struct pt_regs into the architecture-neutral value;
// partial keeps only what an iret frame saves (rip, rsp, rflags, cs, ss).
func ArchRegs(r *unwind.Regs, partial bool) *arch.Regs {
	if r == nil {
		return nil
	}
	v := ptRegsValues(r)
	out := &arch.Regs{PC: arch.Word(r.IP), SP: arch.Word(r.SP), FP: arch.Word(r.BP), User: r.UserMode(), Partial: partial}
	for i, n := range regNames {
		if partial && n != "rip" && n != "rsp" && n != "rflags" && n != "cs" && n != "ss" {
			continue
		}
		out.Regs = append(out.Regs, arch.Reg{Name: n, Value: arch.Word(v[i])})
	}
	if partial {
		out.FP = 0
	}
	return out
}

// PtRegs turns the architecture-neutral value back into a struct pt_regs
// (registers it does not list are 0).
func PtRegs(r *arch.Regs) *unwind.Regs {
	if r == nil {
		return nil
	}
	var p unwind.Regs
	dst := [...]*uint64{&p.IP, &p.SP, &p.Flags, &p.AX, &p.BX, &p.CX, &p.DX, &p.SI, &p.DI, &p.BP,
		&p.R8, &p.R9, &p.R10, &p.R11, &p.R12, &p.R13, &p.R14, &p.R15, &p.OrigAX, &p.CS, &p.SS}
	for i, n := range regNames {
		if v, ok := r.Get(n); ok {
			*dst[i] = v
		}
	}
	return &p
}

// DumpRegs decodes the registers a dump saved for one CPU: NT_PRSTATUS's
// elf_gregset_t, else the general registers of QEMU's CPU state (which
// has no orig_rax).
func (CPU) DumpRegs(pr *elfcore.PRStatus, q *elfcore.QEMUCPUState) (*arch.Regs, bool) {
	if pr != nil {
		if r, ok := pr.AMD64(); ok {
			return ArchRegs(&unwind.Regs{R15: r.R15, R14: r.R14, R13: r.R13, R12: r.R12, BP: r.RBP, BX: r.RBX,
				R11: r.R11, R10: r.R10, R9: r.R9, R8: r.R8, AX: r.RAX, CX: r.RCX, DX: r.RDX, SI: r.RSI, DI: r.RDI,
				OrigAX: r.OrigRAX, IP: r.RIP, CS: r.CS, Flags: r.EFlags, SP: r.RSP, SS: r.SS}, false), true
		}
	}
	if q != nil {
		return ArchRegs(&unwind.Regs{R15: q.R15, R14: q.R14, R13: q.R13, R12: q.R12, BP: q.RBP, BX: q.RBX,
			R11: q.R11, R10: q.R10, R9: q.R9, R8: q.R8, AX: q.RAX, CX: q.RCX, DX: q.RDX, SI: q.RSI, DI: q.RDI,
			IP: q.RIP, CS: uint64(q.CS.Selector), Flags: q.RFlags, SP: q.RSP, SS: uint64(q.SS.Selector)}, false), true
	}
	return nil, false
}

// RegsText prints registers as crash does: "[exception RIP: where]"
// for kernel-mode registers, then a full exception frame ending with
// ORIG_RAX, CS and SS; an iret frame shows RIP, RSP, RFLAGS, CS and SS;
// a CPU's saved registers end with CS and SS.
func (CPU) RegsText(r *arch.Regs, form arch.RegsForm, where string) []string {
	p := PtRegs(r)
	var out []string
	if where != "" && !r.User {
		out = append(out, "    [exception RIP: "+where+"]")
	}
	if r.Partial {
		return append(out,
			fmt.Sprintf("    RIP: %016x  RSP: %016x  RFLAGS: %08x", p.IP, p.SP, p.Flags),
			fmt.Sprintf("    CS: %04x  SS: %04x", p.CS, p.SS))
	}
	out = append(out,
		fmt.Sprintf("    RIP: %016x  RSP: %016x  RFLAGS: %08x", p.IP, p.SP, p.Flags),
		fmt.Sprintf("    RAX: %016x  RBX: %016x  RCX: %016x", p.AX, p.BX, p.CX),
		fmt.Sprintf("    RDX: %016x  RSI: %016x  RDI: %016x", p.DX, p.SI, p.DI),
		fmt.Sprintf("    RBP: %016x   R8: %016x   R9: %016x", p.BP, p.R8, p.R9),
		fmt.Sprintf("    R10: %016x  R11: %016x  R12: %016x", p.R10, p.R11, p.R12),
		fmt.Sprintf("    R13: %016x  R14: %016x  R15: %016x", p.R13, p.R14, p.R15))
	if form == arch.FormCPU {
		return append(out, fmt.Sprintf("    CS: %04x  SS: %04x", p.CS, p.SS))
	}
	return append(out, fmt.Sprintf("    ORIG_RAX: %016x  CS: %04x  SS: %04x", p.OrigAX, p.CS, p.SS))
}

// ThreadFlags are x86's TIF_ bits (arch/x86/include/asm/thread_info.h).
func (CPU) ThreadFlags() arch.ThreadFlags { return arch.ThreadFlags{SigPending: 1 << 2} }
