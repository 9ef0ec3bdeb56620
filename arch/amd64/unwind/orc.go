package unwind

import (
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sort"
)

// ORC register numbers (arch/x86/include/asm/orc_types.h up to 7.0).
// Entries of LayoutV3, which numbers the registers otherwise, are decoded
// into these.
const (
	RegUndefined  = 0
	RegPrevSP     = 1
	RegDX         = 2
	RegDI         = 3
	RegBP         = 4
	RegSP         = 5
	RegR10        = 6
	RegR13        = 7
	RegBPIndirect = 8
	RegSPIndirect = 9
)

// Kind says what an ORC entry describes, normalised over the two layouts
// the kernel has used.
type Kind uint8

const (
	KindUndefined   Kind = iota // no unwind information: the walk fails here
	KindEnd                     // the outermost frame: the walk ends here
	KindCall                    // a function's frame: return address at CFA-8
	KindRegs                    // a full struct pt_regs at the CFA
	KindRegsPartial             // an iret frame (pt_regs.ip onwards) at the CFA
)

func (k Kind) String() string {
	switch k {
	case KindUndefined:
		return "undefined"
	case KindEnd:
		return "end"
	case KindCall:
		return "call"
	case KindRegs:
		return "regs"
	case KindRegsPartial:
		return "regs-partial"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Entry is one ORC entry: how to find the caller's stack pointer (the
// CFA, from SPReg+SPOffset) and frame pointer at a range of addresses.
type Entry struct {
	SPOffset, BPOffset int16
	SPReg, BPReg       uint8
	Kind               Kind
	// Signal marks a frame interrupted at its IP rather than a return
	// address: the next lookup uses the IP itself, not IP-1.
	Signal bool
}

// Layout is the bit layout of struct orc_entry's third 16-bit word.
type Layout int

const (
	// LayoutV1 is used up to 6.2: sp_reg:4 bp_reg:4 type:2 end:1, with
	// types CALL=0 REGS=1 REGS_PARTIAL=2.
	LayoutV1 Layout = 1
	// LayoutV2 is used since 6.3 (and marked by .orc_header since 6.5):
	// sp_reg:4 bp_reg:4 type:3 signal:1, with types UNDEFINED=0
	// END_OF_STACK=1 CALL=2 REGS=3 REGS_PARTIAL=4.
	LayoutV2 Layout = 2
	// LayoutV3 is used since 7.1: V2's bits, with the registers numbered
	// anew (SP 3, PREV_SP 8, BP_INDIRECT 10; BP, DX, R10, R13 and
	// SP_INDIRECT keep their numbers). Entries decode into the Reg*
	// constants above.
	LayoutV3 Layout = 3
)

// v3Regs maps LayoutV3's register numbers to the Reg* constants; numbers
// no 7.x kernel was seen to use map to an invalid register (regUnknown),
// which the unwinder reports rather than guesses.
var v3Regs = [16]uint8{
	0: RegUndefined, 1: regUnknown, 2: RegDX, 3: RegSP, 4: RegBP, 5: regUnknown,
	6: RegR10, 7: RegR13, 8: RegPrevSP, 9: RegSPIndirect, 10: RegBPIndirect,
	11: regUnknown, 12: regUnknown, 13: regUnknown, 14: regUnknown, 15: regUnknown,
}

// regUnknown stands for a register number the decoder does not know.
const regUnknown = 15

const entrySize = 6

// maxEntries bounds the tables read from a file: a kernel has a few
// hundred thousand; a corrupt size must not allocate gigabytes.
const maxEntries = 1 << 24

// Table is a vmlinux's ORC table, sorted by address. Addresses are the
// link-time ones of the vmlinux (before KASLR relocation).
type Table struct {
	ips     []uint64
	entries []Entry
	layout  Layout
}

// ErrNoORC is returned by LoadORC for a vmlinux built without ORC.
var ErrNoORC = errors.New("unwind: the vmlinux has no .orc_unwind_ip/.orc_unwind sections (built without CONFIG_UNWINDER_ORC)")

// FormatError reports ORC sections that cannot be decoded.
type FormatError struct{ Msg string }

func (e *FormatError) Error() string { return "unwind: bad ORC data: " + e.Msg }

// LoadORC reads the ORC tables of a vmlinux. The layout is V2 when the
// file has an .orc_header section, else V1.
func LoadORC(f *elf.File) (*Table, error) {
	ipSec, orcSec := f.Section(".orc_unwind_ip"), f.Section(".orc_unwind")
	if ipSec == nil || orcSec == nil {
		return nil, ErrNoORC
	}
	if ipSec.Type == elf.SHT_NOBITS || orcSec.Type == elf.SHT_NOBITS {
		return nil, &FormatError{"ORC sections hold no data in this file"}
	}
	if ipSec.Size/4 > maxEntries || orcSec.Size/entrySize > maxEntries {
		return nil, &FormatError{fmt.Sprintf("implausible sizes %d and %d", ipSec.Size, orcSec.Size)}
	}
	ipData, err := ipSec.Data()
	if err != nil {
		return nil, fmt.Errorf("unwind: reading .orc_unwind_ip: %w", err)
	}
	orcData, err := orcSec.Data()
	if err != nil {
		return nil, fmt.Errorf("unwind: reading .orc_unwind: %w", err)
	}
	layout := DetectLayout(orcData)
	if f.Section(".orc_header") != nil && layout == LayoutV1 {
		layout = LayoutV2
	}
	return ParseORC(ipData, ipSec.Addr, orcData, layout)
}

// DetectLayout tells the entry layout from the entries themselves. Most
// entries are call frames, whose type field (bits 8-10 of the third word)
// reads 0 in V1 (CALL, end 0) and 2 in V2 and V3 (CALL); this tells V1 for
// a kernel without .orc_header (before 6.5; 6.3 and 6.4 have the new layout
// without it). Most call frames' CFA is the SP plus an offset, whose
// register number (bits 0-3) is 5 in V2 and 3 in V3, where 3 was DI, which
// no function's frame uses.
func DetectLayout(orcData []byte) Layout {
	var types, spRegs [16]int
	for i := 0; i+entrySize <= len(orcData); i += entrySize {
		w := binary.LittleEndian.Uint16(orcData[i+4:])
		types[w>>8&7]++
		spRegs[w&0xf]++
	}
	if types[2] <= types[0] {
		return LayoutV1
	}
	if spRegs[3] > spRegs[5] {
		return LayoutV3
	}
	return LayoutV2
}

// ReadORC reads the kernel's ORC tables from its memory, where the
// linker's symbols bound them (__start_orc_unwind_ip, __stop_orc_unwind_ip,
// __start_orc_unwind, __stop_orc_unwind, and __start_orc_header for the
// new layout), for a kernel without its vmlinux. symbol gives a symbol's
// running address; reloc is the KASLR offset, taken off so that the
// table's addresses are link-time ones as LoadORC's.
func ReadORC(mem io.ReaderAt, symbol func(string) (uint64, bool), reloc uint64) (*Table, error) {
	bounds := func(name string) (uint64, uint64, error) {
		a, ok1 := symbol("__start_" + name)
		b, ok2 := symbol("__stop_" + name)
		switch {
		case !ok1 || !ok2:
			return 0, 0, ErrNoORCSymbols
		case b < a || b-a > maxEntries*entrySize:
			return 0, 0, &FormatError{fmt.Sprintf("%s from %#x to %#x", name, a, b)}
		}
		return a, b, nil
	}
	ipStart, ipStop, err := bounds("orc_unwind_ip")
	if err != nil {
		return nil, err
	}
	orcStart, orcStop, err := bounds("orc_unwind")
	if err != nil {
		return nil, err
	}
	ipData := make([]byte, ipStop-ipStart)
	if _, err := mem.ReadAt(ipData, int64(ipStart)); err != nil {
		return nil, fmt.Errorf("unwind: reading orc_unwind_ip at %#x: %w", ipStart, err)
	}
	orcData := make([]byte, orcStop-orcStart)
	if _, err := mem.ReadAt(orcData, int64(orcStart)); err != nil {
		return nil, fmt.Errorf("unwind: reading orc_unwind at %#x: %w", orcStart, err)
	}
	layout := DetectLayout(orcData)
	if _, ok := symbol("__start_orc_header"); ok && layout == LayoutV1 {
		layout = LayoutV2
	}
	return ParseORC(ipData, ipStart-reloc, orcData, layout)
}

// ErrNoORCSymbols is returned by ReadORC for a kernel whose symbols do not
// bound ORC tables (built without CONFIG_UNWINDER_ORC).
var ErrNoORCSymbols = errors.New("unwind: the kernel's symbols have no __start_orc_unwind_ip/__start_orc_unwind (built without CONFIG_UNWINDER_ORC)")

// ParseORC decodes the raw sections: ipData is .orc_unwind_ip, an array
// of 32-bit offsets each relative to its own address (ipAddr is the
// section's address), and orcData is .orc_unwind, one 6-byte entry per
// IP.
func ParseORC(ipData []byte, ipAddr uint64, orcData []byte, layout Layout) (*Table, error) {
	if len(ipData)%4 != 0 {
		return nil, &FormatError{fmt.Sprintf(".orc_unwind_ip is %d bytes, not a multiple of 4", len(ipData))}
	}
	n := len(ipData) / 4
	if len(orcData) != n*entrySize {
		return nil, &FormatError{fmt.Sprintf(".orc_unwind is %d bytes for %d addresses; want %d", len(orcData), n, n*entrySize)}
	}
	if n > maxEntries {
		return nil, &FormatError{fmt.Sprintf("%d entries", n)}
	}
	if layout != LayoutV1 && layout != LayoutV2 && layout != LayoutV3 {
		return nil, &FormatError{fmt.Sprintf("unknown layout %d", layout)}
	}
	t := &Table{ips: make([]uint64, n), entries: make([]Entry, n), layout: layout}
	for i := range n {
		rel := int32(binary.LittleEndian.Uint32(ipData[4*i:]))
		t.ips[i] = ipAddr + uint64(4*i) + uint64(int64(rel))
		t.entries[i] = decodeEntry(orcData[entrySize*i:], layout)
	}
	if !sort.SliceIsSorted(t.ips, func(i, j int) bool { return t.ips[i] < t.ips[j] }) {
		sort.Stable(byIP{t})
	}
	return t, nil
}

type byIP struct{ t *Table }

func (b byIP) Len() int           { return len(b.t.ips) }
func (b byIP) Less(i, j int) bool { return b.t.ips[i] < b.t.ips[j] }
func (b byIP) Swap(i, j int) {
	b.t.ips[i], b.t.ips[j] = b.t.ips[j], b.t.ips[i]
	b.t.entries[i], b.t.entries[j] = b.t.entries[j], b.t.entries[i]
}

func decodeEntry(b []byte, layout Layout) Entry {
	e := Entry{
		SPOffset: int16(binary.LittleEndian.Uint16(b)),
		BPOffset: int16(binary.LittleEndian.Uint16(b[2:])),
	}
	w := binary.LittleEndian.Uint16(b[4:])
	e.SPReg = uint8(w & 0xf)
	e.BPReg = uint8(w >> 4 & 0xf)
	if layout == LayoutV1 {
		switch w >> 8 & 3 {
		case 0:
			e.Kind = KindCall
		case 1:
			e.Kind = KindRegs
		case 2:
			e.Kind = KindRegsPartial
		default:
			e.Kind = KindUndefined
		}
		// V1 marks the end of the stack with an undefined SP register
		// and the end bit; undefined SP without it is no information.
		if e.SPReg == RegUndefined {
			if w>>10&1 != 0 {
				e.Kind = KindEnd
			} else {
				e.Kind = KindUndefined
			}
		}
	} else {
		switch w >> 8 & 7 {
		case 0:
			e.Kind = KindUndefined
		case 1:
			e.Kind = KindEnd
		case 2:
			e.Kind = KindCall
		case 3:
			e.Kind = KindRegs
		case 4:
			e.Kind = KindRegsPartial
		default:
			e.Kind = KindUndefined
		}
		e.Signal = w>>11&1 != 0
		if layout == LayoutV3 {
			e.SPReg, e.BPReg = v3Regs[e.SPReg], v3Regs[e.BPReg]
		}
	}
	if e.Kind == KindRegs || e.Kind == KindRegsPartial {
		e.Signal = true
	}
	return e
}

// Merge adds the entries of other (a module's table, at addresses no
// entry of t covers) to t's.
func (t *Table) Merge(other *Table) {
	if other == nil || len(other.ips) == 0 {
		return
	}
	t.ips = append(t.ips, other.ips...)
	t.entries = append(t.entries, other.entries...)
	if !sort.SliceIsSorted(t.ips, func(i, j int) bool { return t.ips[i] < t.ips[j] }) {
		sort.Stable(byIP{t})
	}
}

// Keep drops the entries whose (link-time) address keep refuses.
func (t *Table) Keep(keep func(ip uint64) bool) {
	n := 0
	for i, ip := range t.ips {
		if keep(ip) {
			t.ips[n], t.entries[n] = ip, t.entries[i]
			n++
		}
	}
	t.ips, t.entries = t.ips[:n], t.entries[:n]
}

// Layout is the entry layout the table was decoded with (0 for an empty
// table made without ParseORC).
func (t *Table) Layout() Layout { return t.layout }

// Len is the number of entries.
func (t *Table) Len() int { return len(t.ips) }

// Lookup returns the entry covering the link-time address pc: the last
// entry at or below it. ok is false below the first entry.
func (t *Table) Lookup(pc uint64) (Entry, bool) {
	i := sort.Search(len(t.ips), func(i int) bool { return t.ips[i] > pc })
	if i == 0 {
		return Entry{}, false
	}
	return t.entries[i-1], true
}
