package amd64

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"github.com/vmcoretools/vmcore/arch"
	"github.com/vmcoretools/vmcore/arch/amd64/unwind"
)

// CPU is the x86_64 implementation of arch.CPU: pt_regs and the
// elf_gregset_t, unwinding with ORC, then .debug_frame CFI, then frame
// pointers, the hard-IRQ stack and the exception (IST) stacks of the CPU
// entry area, and crash's rules for where a task's trace starts. The
// package's Arch embeds it.
type CPU struct{}

var _ arch.CPU = CPU{}

// NewTracer loads the vmlinux's ORC tables (without a vmlinux, those in
// the kernel's memory) (a kernel built with frame
// pointers has none: .debug_frame and frame pointers then do all the
// unwinding) and its .debug_frame, and learns THREAD_SIZE and the switch
// frame's layout from k.
func (CPU) NewTracer(k arch.Kernel, cfg arch.TraceConfig) (arch.Tracer, error) {
	img := k.Image()
	if img == nil {
		// No vmlinux: the kernel's ORC tables in its memory, no CFI.
		orc, err := unwind.ReadORC(k, k.Symbol, k.Relocation())
		if errors.Is(err, unwind.ErrNoORCSymbols) {
			orc, err = &unwind.Table{}, nil
		}
		if err != nil {
			return nil, fmt.Errorf("amd64: the kernel's ORC tables: %w", err)
		}
		if mt, _ := ReadModuleORC(k, cfg.Modules, orc.Layout()); mt != nil {
			orc.Merge(mt)
		}
		tr := newTracer(k, cfg, orc, nil)
		tr.walker.Text = func(pc uint64) (uint64, []byte, bool) { return functionCode(k, pc) }
		tr.walker.InText = func(pc uint64) bool {
			_, start, ok := k.SymbolAt(pc)
			return ok && pc-start < 1<<20
		}
		return tr, nil
	}
	orc, err := unwind.LoadORC(img)
	if errors.Is(err, unwind.ErrNoORC) {
		orc, err = &unwind.Table{}, nil
	}
	if err != nil {
		return nil, err
	}
	if mt, _ := ReadModuleORC(k, cfg.Modules, orc.Layout()); mt != nil {
		orc.Merge(mt)
	}
	// .debug_frame covers what ORC leaves out; without it the walk stops
	// there and says so.
	cfi, err := unwind.LoadCFI(img)
	if err != nil {
		cfi = nil
	}
	return newTracer(k, cfg, orc, cfi), nil
}

// newTracer makes a tracer with the given unwind tables (cfi may be nil).
func newTracer(k arch.Kernel, cfg arch.TraceConfig, orc *unwind.Table, cfi *unwind.CFI) *Tracer {
	tr := &Tracer{k: k, cfg: cfg, threadSize: 16384}
	tr.walker = unwind.Walker{ORC: orc, Reloc: k.Relocation(), Mem: k, CFI: cfi}
	// THREAD_SIZE from the linker script's init stack bounds.
	if a, ok := k.Symbol("__start_init_task"); ok {
		if b, ok := k.Symbol("__end_init_task"); ok && b > a && b-a <= 1<<20 && b-a >= 4096 {
			tr.threadSize = b - a
		}
	}
	tr.retOff, _, tr.frameErr = k.Member("struct inactive_task_frame", "ret_addr")
	if tr.frameErr == nil {
		tr.bpOff, _, tr.frameErr = k.Member("struct inactive_task_frame", "bp")
	}
	if tr.frameErr != nil {
		tr.frameErr = fmt.Errorf("amd64: the switch frame's layout: %w", tr.frameErr)
	}
	if a, ok := k.Symbol("ret_from_fork"); ok {
		tr.retFromFork = a
	}
	return tr
}

// functionCode reads the machine code of the function holding pc, from
// its start through pc and the instruction there, for the prologue
// analysis of a kernel without its vmlinux. A compiler's ".cold" part of
// a function is refused: its stack is its parent's, whose start it does
// not know.
func functionCode(k arch.Kernel, pc uint64) (uint64, []byte, bool) {
	name, start, ok := k.SymbolAt(pc)
	if !ok || strings.Contains(name, ".cold") || pc < start || pc-start > 60<<10 {
		return 0, nil, false
	}
	code := make([]byte, pc-start+16)
	n, _ := k.ReadAt(code, int64(start))
	if uint64(n) <= pc-start {
		return 0, nil, false
	}
	return start, code[:n], true
}

// maxModuleORC bounds one module's ORC entries (a large module has tens of
// thousands), and maxModulesORC all modules' together (a kernel with a few
// hundred modules has a few hundred thousand).
const (
	maxModuleORC  = 1 << 20
	maxModulesORC = 1 << 23
)

// ReadModuleORC reads the loaded modules' ORC tables: each struct
// module's arch part (struct
// mod_arch_specific) holds num_orcs entries at orc_unwind and their
// addresses at orc_unwind_ip, sorted when the module loaded, in the
// kernel's entry layout. Entries outside a module's live code (those of
// its freed init code, where another module's code may now be) are
// dropped. It returns them as one table, at link-time addresses as the
// kernel's (the KASLR offset taken off), and why any
// module's could not be read (its frames are then left to the other
// unwind methods). A kernel without ORC gives nil.
func ReadModuleORC(k arch.Kernel, mods []arch.Module, layout unwind.Layout) (*unwind.Table, []error) {
	if len(mods) == 0 || layout == 0 {
		return nil, nil
	}
	ipOff, _, err1 := k.Member("struct module", "arch.orc_unwind_ip")
	orcOff, _, err2 := k.Member("struct module", "arch.orc_unwind")
	numOff, _, err3 := k.Member("struct module", "arch.num_orcs")
	if err := errors.Join(err1, err2, err3); err != nil {
		return nil, []error{fmt.Errorf("amd64: modules' ORC: %w", err)}
	}
	all := &unwind.Table{}
	var errs []error
	var total uint64
	for _, mod := range mods {
		m := mod.Struct
		var b [8]byte
		word := func(off int64, n int) (uint64, error) {
			if _, err := k.ReadAt(b[:n], int64(m+uint64(off))); err != nil {
				return 0, err
			}
			if n == 4 {
				return uint64(binary.LittleEndian.Uint32(b[:])), nil
			}
			return binary.LittleEndian.Uint64(b[:]), nil
		}
		num, err1 := word(numOff, 4)
		ipAddr, err2 := word(ipOff, 8)
		orcAddr, err3 := word(orcOff, 8)
		if err := errors.Join(err1, err2, err3); err != nil {
			errs = append(errs, fmt.Errorf("amd64: module at %#x: its ORC tables: %w", m, err))
			continue
		}
		switch {
		case num == 0:
			continue
		case num > maxModuleORC || ipAddr == 0 || orcAddr == 0:
			errs = append(errs, fmt.Errorf("amd64: module at %#x: %d ORC entries at %#x and %#x is no ORC table", m, num, ipAddr, orcAddr))
			continue
		}
		if total += num; total > maxModulesORC {
			errs = append(errs, fmt.Errorf("amd64: module at %#x: more than %d ORC entries in all modules: the rest are left out", m, maxModulesORC))
			break
		}
		// The last entry of each array first: a table not all in the
		// dump is refused before anything is allocated for it.
		if _, err := k.ReadAt(b[:4], int64(ipAddr+4*(num-1))); err != nil {
			errs = append(errs, fmt.Errorf("amd64: module at %#x: orc_unwind_ip at %#x (%d entries): %w", m, ipAddr, num, err))
			continue
		}
		if _, err := k.ReadAt(b[:6], int64(orcAddr+6*(num-1))); err != nil {
			errs = append(errs, fmt.Errorf("amd64: module at %#x: orc_unwind at %#x (%d entries): %w", m, orcAddr, num, err))
			continue
		}
		ipData := make([]byte, 4*num)
		orcData := make([]byte, 6*num)
		if _, err := k.ReadAt(ipData, int64(ipAddr)); err != nil {
			errs = append(errs, fmt.Errorf("amd64: module at %#x: orc_unwind_ip at %#x: %w", m, ipAddr, err))
			continue
		}
		if _, err := k.ReadAt(orcData, int64(orcAddr)); err != nil {
			errs = append(errs, fmt.Errorf("amd64: module at %#x: orc_unwind at %#x: %w", m, orcAddr, err))
			continue
		}
		t, err := unwind.ParseORC(ipData, ipAddr-k.Relocation(), orcData, layout)
		if err != nil {
			errs = append(errs, fmt.Errorf("amd64: module at %#x: %w", m, err))
			continue
		}
		reloc := k.Relocation()
		t.Keep(func(ip uint64) bool {
			for _, r := range mod.Text {
				if ip+reloc >= r[0] && ip+reloc < r[1] {
					return true
				}
			}
			return false
		})
		all.Merge(t)
	}
	return all, errs
}
