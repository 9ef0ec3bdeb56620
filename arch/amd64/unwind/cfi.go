package unwind

import (
	"debug/elf"
	"encoding/binary"
	"fmt"

	"github.com/go-delve/delve/pkg/dwarf/frame"
)

// CFI is a vmlinux's .debug_frame call frame information, the fallback
// for code objtool leaves without ORC (files marked
// OBJECT_FILES_NON_STANDARD, such as kexec_core.c with __crash_kexec).
// Addresses are link-time ones.
type CFI struct {
	fdes frame.FrameDescriptionEntries
}

// maxCFISize bounds the .debug_frame read (kernels have a few MiB).
const maxCFISize = 256 << 20

// LoadCFI reads .debug_frame with delve's parser. Its FDEs come in file
// order; they are sorted (Append sorts) for lookups by address.
func LoadCFI(f *elf.File) (c *CFI, err error) {
	s := f.Section(".debug_frame")
	if s == nil || s.Type == elf.SHT_NOBITS {
		return nil, fmt.Errorf("unwind: the vmlinux has no .debug_frame")
	}
	if s.Size > maxCFISize {
		return nil, &FormatError{fmt.Sprintf(".debug_frame is %d bytes", s.Size)}
	}
	data, err := s.Data()
	if err != nil {
		return nil, fmt.Errorf("unwind: reading .debug_frame: %w", err)
	}
	return ParseCFI(data)
}

// ParseCFI parses the bytes of a .debug_frame section (64-bit,
// little-endian).
func ParseCFI(data []byte) (c *CFI, err error) {
	defer func() {
		if r := recover(); r != nil {
			c, err = nil, &FormatError{fmt.Sprintf(".debug_frame: %v", r)}
		}
	}()
	fdes, err := frame.Parse(data, binary.LittleEndian, 0, 8, 0)
	if err != nil {
		return nil, &FormatError{".debug_frame: " + err.Error()}
	}
	return &CFI{fdes: frame.FrameDescriptionEntries(nil).Append(fdes)}, nil
}

// DWARF register numbers of x86_64.
const (
	dwarfRBP = 6
	dwarfRSP = 7
	dwarfRA  = 16
)

// rule is what CFI says at one address, reduced to what the kernel's
// code uses: CFA = RSP or RBP + offset; return address and RBP saved at
// CFA + offset.
type rule struct {
	cfaReg           uint64
	cfaOff           int64
	raOff, bpOff     int64
	bpSaved, knownRA bool
}

func (c *CFI) rule(pc uint64) (r rule, err error) {
	defer func() {
		if x := recover(); x != nil {
			err = fmt.Errorf("CFI at %#x: %v", pc, x)
		}
	}()
	fde, err := c.fdes.FDEForPC(pc)
	if err != nil {
		return r, err
	}
	fc, err := fde.EstablishFrame(pc)
	if err != nil {
		return r, err
	}
	if fc.CFA.Rule != frame.RuleCFA || (fc.CFA.Reg != dwarfRSP && fc.CFA.Reg != dwarfRBP) {
		return r, fmt.Errorf("CFI at %#x: a CFA rule this unwinder does not follow", pc)
	}
	r.cfaReg, r.cfaOff = fc.CFA.Reg, fc.CFA.Offset
	if ra, ok := fc.Regs[dwarfRA]; ok && ra.Rule == frame.RuleOffset {
		r.raOff, r.knownRA = ra.Offset, true
	} else {
		r.raOff, r.knownRA = -8, true
	}
	if bp, ok := fc.Regs[dwarfRBP]; ok && bp.Rule == frame.RuleOffset {
		r.bpOff, r.bpSaved = bp.Offset, true
	}
	return r, nil
}
