package amd64

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/vmcoretools/vmcore/arch"
	"github.com/vmcoretools/vmcore/elfcore"
	"github.com/vmcoretools/vmcore/physmem"
	"github.com/vmcoretools/vmcore/vmcoreinfo"
)

// Arch is x86_64 behind package arch's interface: this package's
// translation (Memory) and CPU (registers, unwinding, stacks).
type Arch struct{ CPU }

var _ arch.Arch = Arch{}

func init() { arch.Register(Arch{}, "amd64") }

// Name is the kernel's name of the machine.
func (Arch) Name() string { return "x86_64" }

// KernelSpace is NewTranslator behind arch.KernelSpace.
func (Arch) KernelSpace(mem physmem.Reader, info *vmcoreinfo.Info) (arch.KernelSpace, error) {
	t, err := NewTranslator(mem, info)
	if err != nil {
		return nil, err
	}
	return Space{t}, nil
}

// Space is a Translator as an arch.KernelSpace.
type Space struct{ *Translator }

var _ arch.KernelSpace = Space{}

// ReaderAt reads kernel virtual memory as an io.ReaderAt.
func (s Space) ReaderAt() io.ReaderAt { return s.Translator.ReaderAt() }

// Walk is Trace: the entries read on the way.
func (s Space) Walk(vaddr uint64) (steps []arch.Step, paddr, size uint64, err error) {
	return s.Translator.Trace(vaddr)
}

// UserWalk walks a process's page tables from root, the kernel virtual
// address of its PGD (mm->pgd), in the kernel's paging mode.
func (s Space) UserWalk(root, vaddr uint64) (paddr, size uint64, err error) {
	pgd, _, err := s.Translator.Translate(root)
	if err != nil {
		return 0, 0, fmt.Errorf("amd64: the process's page table at %#x: %w", root, err)
	}
	return WalkFrom(s.mem, pgd, s.levels, vaddr)
}

// PageSize is 4 KiB.
func (s Space) PageSize() uint64 { return PageSize4K }

// divideErrorHandlers are the names of IDT vector 0's entry point: 5.8 and
// later, then older kernels.
var divideErrorHandlers = []string{"asm_exc_divide_error", "divide_error"}

// LayoutFromCPU finds the KASLR offset from IDT vector 0 (the divide-error
// gate, whose handler the vmlinux names), phys_base from a walk of _stext
// from CR3, and 5-level paging from CR4.LA57, as crash does for a QEMU
// dump without VMCOREINFO.
func (Arch) LayoutFromCPU(mem physmem.Reader, q *elfcore.QEMUCPUState, symbol func(string) (uint64, bool)) (*arch.Layout, error) {
	if q == nil {
		return nil, errors.New("no QEMU CPU state")
	}
	levels := 4
	if q.CR[4]&CR4LA57 != 0 {
		levels = 5
	}
	pgd := CR3Table(q.CR[3])
	if pgd == 0 {
		return nil, errors.New("CR3 is 0")
	}
	var handler uint64
	found := false
	for _, name := range divideErrorHandlers {
		if a, ok := symbol(name); ok {
			handler, found = a, true
			break
		}
	}
	if !found {
		return nil, fmt.Errorf("the vmlinux has none of %v", divideErrorHandlers)
	}
	stext, ok := symbol("_stext")
	if !ok {
		return nil, errors.New("the vmlinux has no _stext")
	}
	var pgtSym string
	var pgt uint64
	for _, name := range []string{"init_top_pgt", "swapper_pg_dir", "init_level4_pgt"} {
		if a, ok := symbol(name); ok {
			pgtSym, pgt = name, a
			break
		}
	}
	if pgtSym == "" {
		return nil, errors.New("the vmlinux has no init_top_pgt")
	}
	// With page-table isolation, a CPU in user mode has the user PGD (the
	// kernel's with bit 12 set), which maps the IDT but not the kernel
	// text; the kernel PGD is tried after it.
	pgds := []uint64{pgd}
	if pgd&(1<<12) != 0 {
		pgds = append(pgds, pgd&^(1<<12))
	}
	var errs []error
	for _, root := range pgds {
		kaslr, err := kaslrFromIDT(mem, root, levels, q.IDT.Base, handler)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		p, _, err := WalkFrom(mem, root, levels, stext+kaslr)
		if err != nil {
			errs = append(errs, fmt.Errorf("translating _stext %#x: %v", stext+kaslr, err))
			continue
		}
		physBase := int64(p) - int64(stext+kaslr-StartKernelMap)
		l := &arch.Layout{KASLR: kaslr}
		l.VMCOREINFO = append(l.VMCOREINFO, fmt.Sprintf("SYMBOL(%s)=%x", pgtSym, pgt+kaslr))
		if pgtSym != "swapper_pg_dir" {
			if a, ok := symbol("swapper_pg_dir"); ok {
				l.VMCOREINFO = append(l.VMCOREINFO, fmt.Sprintf("SYMBOL(swapper_pg_dir)=%x", a+kaslr))
			}
		}
		l.VMCOREINFO = append(l.VMCOREINFO, fmt.Sprintf("NUMBER(phys_base)=%d", physBase), fmt.Sprintf("KERNELOFFSET=%x", kaslr))
		if levels == 5 {
			l.VMCOREINFO = append(l.VMCOREINFO, "NUMBER(pgtable_l5_enabled)=1")
		}
		return l, nil
	}
	return nil, errors.Join(errs...)
}

// kaslrFromIDT reads IDT gate 0 and returns its handler's distance from
// the vmlinux's divide-error handler.
func kaslrFromIDT(mem physmem.Reader, pgd uint64, levels int, idtBase, handler uint64) (uint64, error) {
	if idtBase == 0 {
		return 0, errors.New("IDTR base is 0 (the CPU had not set up interrupts)")
	}
	p, _, err := WalkFrom(mem, pgd, levels, idtBase)
	if err != nil {
		return 0, fmt.Errorf("translating the IDT at %#x: %v", idtBase, err)
	}
	var gate [16]byte
	if _, err := mem.ReadAt(gate[:], int64(p)); err != nil {
		return 0, fmt.Errorf("reading the IDT: %v", err)
	}
	le := binary.LittleEndian
	entry := uint64(le.Uint16(gate[0:])) | uint64(le.Uint16(gate[6:]))<<16 | uint64(le.Uint32(gate[8:]))<<32
	kaslr := entry - handler
	if entry < handler || kaslr%PageSize4K != 0 || kaslr >= 1<<30 {
		return 0, fmt.Errorf("IDT vector 0 points to %#x, not a page-aligned KASLR shift of the divide-error handler %#x", entry, handler)
	}
	return kaslr, nil
}
