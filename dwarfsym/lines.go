package dwarfsym

import (
	"debug/dwarf"
	"errors"
	"fmt"
	"sort"
)

// arange maps an address range to the compilation unit that covers it.
type arange struct {
	lo, hi uint64 // [lo, hi), link-time addresses
	unit   uint64 // offset of the unit header in .debug_info
}

// units by address, from .debug_aranges when present, else from each
// unit's DW_AT_low_pc/high_pc/ranges.
func (f *File) addrRanges() ([]arange, error) {
	if f.closed.Load() {
		return nil, ErrClosed
	}
	f.arOnce.Do(func() { f.aranges, f.arErr = f.loadARanges() })
	return f.aranges, f.arErr
}

func (f *File) loadARanges() ([]arange, error) {
	data, err := f.section(".debug_aranges")
	if err != nil {
		return nil, err
	}
	var out []arange
	if len(data) > 0 {
		out, err = parseARanges(data, f.elf.ByteOrder)
		if err != nil {
			return nil, err
		}
	} else {
		d, err := f.DWARF()
		if err != nil {
			return nil, err
		}
		r := d.Reader()
		for {
			e, err := r.Next()
			if err != nil {
				return nil, fmt.Errorf("dwarfsym: %w", err)
			}
			if e == nil {
				break
			}
			if e.Tag == dwarf.TagCompileUnit {
				rs, _ := d.Ranges(e)
				// The unit header precedes the unit entry; debug/dwarf
				// resolves lines and types from the entry offset.
				for _, rg := range rs {
					out = append(out, arange{rg[0], rg[1], uint64(e.Offset)})
				}
			}
			r.SkipChildren()
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].lo < out[j].lo })
	return out, nil
}

func parseARanges(data []byte, bo interface {
	Uint16([]byte) uint16
	Uint32([]byte) uint32
	Uint64([]byte) uint64
}) ([]arange, error) {
	var out []arange
	off := uint64(0)
	for off < uint64(len(data)) {
		if uint64(len(data))-off < 4 {
			return out, &FormatError{".debug_aranges", off, "truncated header"}
		}
		length := uint64(bo.Uint32(data[off:]))
		p := off + 4
		offSize := uint64(4)
		if length == 0xffffffff {
			if uint64(len(data))-p < 8 {
				return out, &FormatError{".debug_aranges", off, "truncated header"}
			}
			length = bo.Uint64(data[p:])
			p += 8
			offSize = 8
		}
		end := p + length
		if length > uint64(len(data))-p {
			return out, &FormatError{".debug_aranges", off, "set length runs past the end of the section"}
		}
		if end-p < 2+offSize+2 {
			return out, &FormatError{".debug_aranges", off, "set too short for its header"}
		}
		p += 2 // version
		var unit uint64
		if offSize == 8 {
			unit = bo.Uint64(data[p:])
		} else {
			unit = uint64(bo.Uint32(data[p:]))
		}
		p += offSize
		asize := uint64(data[p])
		p += 2 // address size, segment selector size
		if asize != 4 && asize != 8 {
			return out, &FormatError{".debug_aranges", off, fmt.Sprintf("unsupported address size %d", asize)}
		}
		// Tuples start at a multiple of twice the address size.
		if rem := (p - off) % (2 * asize); rem != 0 {
			p += 2*asize - rem
		}
		for p+2*asize <= end {
			var lo, n uint64
			if asize == 8 {
				lo, n = bo.Uint64(data[p:]), bo.Uint64(data[p+8:])
			} else {
				lo, n = uint64(bo.Uint32(data[p:])), uint64(bo.Uint32(data[p+4:]))
			}
			p += 2 * asize
			if lo == 0 && n == 0 {
				break
			}
			if lo+n > lo {
				out = append(out, arange{lo, lo + n, unit})
			}
		}
		off = end
	}
	return out, nil
}

// Frame is one source position of an address: the innermost is where the
// code came from; outer frames are the functions it was inlined into.
type Frame struct {
	Function string // "" when DWARF names no function
	File     string
	Line     int
	Inlined  bool // this frame's code was inlined into the next frame
}

// ErrNoLine is returned by Lines for an address no line table covers.
var ErrNoLine = errors.New("dwarfsym: no line information for this address")

// Lines returns the source positions of a (relocated) code address,
// innermost first: the line the instruction came from, then, for inlined
// code, the call sites up to the real function.
func (f *File) Lines(addr uint64) ([]Frame, error) {
	pc := addr - f.reloc.Load()
	ars, err := f.addrRanges()
	if err != nil {
		return nil, err
	}
	i := sort.Search(len(ars), func(i int) bool { return ars[i].lo > pc }) - 1
	var unit uint64
	found := false
	for ; i >= 0 && i >= len(ars)-1-1<<20; i-- {
		if pc >= ars[i].lo && pc < ars[i].hi {
			unit, found = ars[i].unit, true
			break
		}
		if ars[i].hi <= pc && pc-ars[i].hi > 1<<24 {
			break
		}
	}
	if !found {
		return nil, fmt.Errorf("%w (%#x)", ErrNoLine, addr)
	}
	d, _, _, err := f.unitDWARF(unit)
	if err != nil {
		return nil, err
	}
	r := d.Reader()
	cu, err := r.Next()
	if err != nil || cu == nil {
		return nil, fmt.Errorf("dwarfsym: unit at %#x: %v", unit, err)
	}
	if cu.Tag != dwarf.TagCompileUnit && cu.Tag != dwarf.TagPartialUnit {
		return nil, fmt.Errorf("dwarfsym: .debug_info offset %#x holds no compilation unit", unit)
	}
	lr, err := d.LineReader(cu)
	if err != nil || lr == nil {
		return nil, fmt.Errorf("%w (%#x: unit has no line table)", ErrNoLine, addr)
	}
	le, ok := seekPC(lr, pc)
	if !ok {
		return nil, fmt.Errorf("%w (%#x)", ErrNoLine, addr)
	}
	frames := []Frame{{File: fileName(le.File), Line: le.Line}}
	files := lr.Files()
	// Walk the unit's entries for the subprogram and inlined subroutines
	// that contain pc, skipping subtrees that do not.
	chain := f.inlineChain(d, r, pc)
	if len(chain) == 0 {
		return frames, nil
	}
	// chain[0] is the subprogram, chain[1:] nested inlined calls.
	for k := len(chain) - 1; k >= 0; k-- {
		frames[len(frames)-1].Function = f.entryName(d, chain[k])
		if k == 0 {
			break
		}
		callFile, _ := chain[k].Val(dwarf.AttrCallFile).(int64)
		callLine, _ := chain[k].Val(dwarf.AttrCallLine).(int64)
		fr := Frame{Line: int(callLine)}
		if callFile >= 0 && int(callFile) < len(files) && files[callFile] != nil {
			fr.File = files[callFile].Name
		}
		frames[len(frames)-1].Inlined = true
		frames = append(frames, fr)
	}
	return frames, nil
}

func fileName(f *dwarf.LineFile) string {
	if f == nil {
		return ""
	}
	return f.Name
}

// inlineChain returns the subprogram containing pc and the inlined
// subroutines nested in it that contain pc, outermost first. r is
// positioned just after the unit entry.
func (f *File) inlineChain(d *dwarf.Data, r *dwarf.Reader, pc uint64) []*dwarf.Entry {
	var chain []*dwarf.Entry
	depth := 0 // depth of r's next entry relative to the unit's children
	want := 0  // depth at which the next containing entry is expected
	for n := 0; n < 1<<22; n++ {
		e, err := r.Next()
		if err != nil || e == nil {
			return chain
		}
		if e.Tag == 0 {
			depth--
			if depth < want {
				return chain
			}
			continue
		}
		if depth != want {
			if e.Children {
				depth++
			}
			continue
		}
		switch e.Tag {
		case dwarf.TagSubprogram, dwarf.TagInlinedSubroutine, dwarf.TagLexDwarfBlock:
			if contains(d, e, pc) {
				if e.Tag != dwarf.TagLexDwarfBlock {
					chain = append(chain, e)
				}
				if e.Children {
					depth++
					want = depth
				}
				continue
			}
		case dwarf.TagNamespace:
			if e.Children {
				depth++
				want = depth
			}
			continue
		}
		if e.Children {
			r.SkipChildren()
		}
	}
	return chain
}

func contains(d *dwarf.Data, e *dwarf.Entry, pc uint64) bool {
	rs, err := d.Ranges(e)
	if err != nil {
		return false
	}
	for _, rg := range rs {
		if pc >= rg[0] && pc < rg[1] {
			return true
		}
	}
	return false
}

// entryName names a subprogram or inlined subroutine, following
// DW_AT_abstract_origin and DW_AT_specification.
func (f *File) entryName(d *dwarf.Data, e *dwarf.Entry) string {
	for range 4 {
		if n, ok := e.Val(dwarf.AttrName).(string); ok {
			return n
		}
		next, ok := e.Val(dwarf.AttrAbstractOrigin).(dwarf.Offset)
		if !ok {
			next, ok = e.Val(dwarf.AttrSpecification).(dwarf.Offset)
		}
		if !ok {
			return ""
		}
		r := d.Reader()
		r.Seek(next)
		ne, err := r.Next()
		if err != nil || ne == nil {
			return ""
		}
		e = ne
	}
	return ""
}

// seekPC finds the row for pc. debug/dwarf's SeekPC assumes a unit's
// sequences are sorted by address; a kernel unit's are not (.text,
// .init.text, .sched.text ... in link order), so every row is looked at:
// the answer is the last row at or below pc whose successor in the same
// sequence is above it.
func seekPC(lr *dwarf.LineReader, pc uint64) (dwarf.LineEntry, bool) {
	var best, prev dwarf.LineEntry
	found, havePrev := false, false
	// same holds the rows before prev at prev's address: when prev is not
	// a statement, gdb walks back to one that is (find_pc_sect_line), and
	// keeps prev when none is.
	var same []dwarf.LineEntry
	for n := 0; n < 1<<24; n++ {
		var e dwarf.LineEntry
		if err := lr.Next(&e); err != nil {
			break
		}
		if havePrev && !prev.EndSequence && prev.Address <= pc && pc < e.Address {
			if !found || prev.Address >= best.Address {
				best, found = prev, true
				// Back to a statement at the same address, if one is
				// there; else the last row stays (gdb: "if (tmp->is_stmt)
				// best = tmp").
				for k := len(same) - 1; k >= 0 && !best.IsStmt && same[k].Line != 0; k-- {
					if same[k].IsStmt {
						best = same[k]
					}
				}
			}
		}
		if havePrev && !prev.EndSequence && e.Address == prev.Address {
			same = append(same, prev)
		} else {
			same = same[:0]
		}
		prev, havePrev = e, true
	}
	return best, found
}
