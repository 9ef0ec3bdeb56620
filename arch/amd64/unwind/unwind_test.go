package unwind

import (
	"encoding/binary"
	"errors"
	"io"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vmcoretools/vmcore/arch"
)

// orcRow is one synthetic ORC entry.
type orcRow struct {
	ip                 uint64
	spReg, bpReg, typ  uint16
	end                bool
	spOffset, bpOffset int16
}

// buildORC encodes rows as .orc_unwind_ip (at ipAddr) and .orc_unwind in
// layout V1.
func buildORC(ipAddr uint64, rows []orcRow) (ip, orc []byte) {
	ip = make([]byte, 4*len(rows))
	orc = make([]byte, 6*len(rows))
	for i, r := range rows {
		binary.LittleEndian.PutUint32(ip[4*i:], uint32(int32(int64(r.ip)-int64(ipAddr+uint64(4*i)))))
		binary.LittleEndian.PutUint16(orc[6*i:], uint16(r.spOffset))
		binary.LittleEndian.PutUint16(orc[6*i+2:], uint16(r.bpOffset))
		w := r.spReg | r.bpReg<<4 | r.typ<<8
		if r.end {
			w |= 1 << 10
		}
		binary.LittleEndian.PutUint16(orc[6*i+4:], w)
	}
	return ip, orc
}

// stack is sparse memory of 8-byte words.
type stack map[uint64]uint64

func (s stack) ReadAt(p []byte, off int64) (int, error) {
	for i := 0; i+8 <= len(p); i += 8 {
		v, ok := s[uint64(off)+uint64(i)]
		if !ok {
			return i, errors.New("page excluded")
		}
		binary.LittleEndian.PutUint64(p[i:], v)
	}
	return len(p), nil
}

const ipBase = 0xffffffff81000000

func testTable(t *testing.T) *Table {
	t.Helper()
	// Rows out of order: ParseORC sorts them.
	rows := []orcRow{
		{ip: 0xffffffff81002000, spReg: RegSP, spOffset: 8, typ: 0},                                   // B: no locals
		{ip: 0xffffffff81001000, spReg: RegSP, spOffset: 16, bpReg: RegPrevSP, bpOffset: -16, typ: 0}, // A: pushes rbp
		{ip: 0xffffffff81003000, spReg: RegUndefined, end: true},                                      // entry: end of stack
		{ip: 0xffffffff81004000, spReg: RegSP, spOffset: 0, typ: 1},                                   // entry with pt_regs
		{ip: 0xffffffff81005000, spReg: RegUndefined},                                                 // no information
	}
	ip, orc := buildORC(ipBase, rows)
	tb, err := ParseORC(ip, ipBase, orc, LayoutV1)
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

func TestORCLookup(t *testing.T) {
	tb := testTable(t)
	if tb.Len() != 5 {
		t.Fatalf("Len = %d", tb.Len())
	}
	for _, c := range []struct {
		pc   uint64
		ok   bool
		kind Kind
		off  int16
	}{
		{0xffffffff80ffffff, false, 0, 0},
		{0xffffffff81001000, true, KindCall, 16},
		{0xffffffff81001fff, true, KindCall, 16},
		{0xffffffff81002005, true, KindCall, 8},
		{0xffffffff81003001, true, KindEnd, 0},
		{0xffffffff81004000, true, KindRegs, 0},
		{0xffffffff81005000, true, KindUndefined, 0},
	} {
		e, ok := tb.Lookup(c.pc)
		if ok != c.ok || (ok && (e.Kind != c.kind || e.SPOffset != c.off)) {
			t.Errorf("Lookup(%#x) = %+v, %v; want kind %v offset %d, %v", c.pc, e, ok, c.kind, c.off, c.ok)
		}
	}
}

func TestParseORCErrors(t *testing.T) {
	if _, err := ParseORC(make([]byte, 5), 0, nil, LayoutV1); err == nil {
		t.Error("odd .orc_unwind_ip size accepted")
	}
	if _, err := ParseORC(make([]byte, 8), 0, make([]byte, 6), LayoutV1); err == nil {
		t.Error("mismatched .orc_unwind size accepted")
	}
	if _, err := ParseORC(nil, 0, nil, Layout(7)); err == nil {
		t.Error("unknown layout accepted")
	}
}

func TestV2Decode(t *testing.T) {
	// sp_reg SP, type CALL (2) in V2, signal bit set.
	b := []byte{8, 0, 0, 0, RegSP, 2 | 1<<3}
	e := decodeEntry(b, LayoutV2)
	if e.Kind != KindCall || !e.Signal || e.SPOffset != 8 {
		t.Errorf("V2 entry = %+v", e)
	}
	if e := decodeEntry([]byte{0, 0, 0, 0, 0, 1}, LayoutV2); e.Kind != KindEnd {
		t.Errorf("V2 end entry = %+v", e)
	}
}

// TestWalkCallChain unwinds A -> B -> entry code: A saved rbp, B has no
// frame, the entry code ends the stack.
func TestWalkCallChain(t *testing.T) {
	w := &Walker{ORC: testTable(t), Mem: stack{
		0x10000: 0xdead0000,         // A's saved rbp (CFA-16)
		0x10008: 0xffffffff81002010, // return into B
		0x10010: 0xffffffff81003005, // return into the entry code
	}}
	frames, err := w.Walk(Start{PC: 0xffffffff81001010, SP: 0x10000, Slot: 0xfff8}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []Frame{
		{Slot: 0xfff8, PC: 0xffffffff81001010, By: arch.MethodStart},
		{Slot: 0x10008, PC: 0xffffffff81002010, By: arch.MethodORC},
		{Slot: 0x10010, PC: 0xffffffff81003005, By: arch.MethodORC},
	}
	if diff := cmp.Diff(want, frames); diff != "" {
		t.Errorf("frames (-want +got):\n%s", diff)
	}
}

// TestWalkRelocated applies a KASLR offset.
func TestWalkRelocated(t *testing.T) {
	const reloc = 0x1e000000
	w := &Walker{ORC: testTable(t), Reloc: reloc, Mem: stack{0x10000: 0xffffffff81003005 + reloc}}
	frames, err := w.Walk(Start{PC: 0xffffffff81002010 + reloc, SP: 0x10000}, nil)
	if err != nil || len(frames) != 2 || frames[1].PC != 0xffffffff81003005+reloc {
		t.Fatalf("frames %+v, %v", frames, err)
	}
}

// TestWalkUserRegs stops at a user-mode exception frame and returns it.
func TestWalkUserRegs(t *testing.T) {
	mem := stack{0x20000: 0xffffffff81004010} // B returns into the entry code
	regs := make([]uint64, 21)
	regs[16], regs[17], regs[19], regs[20] = 0x47b7a0, 0x33, 0x7ffe0000, 0x2b // ip, cs, sp, ss
	for i, v := range regs {
		mem[0x20008+uint64(8*i)] = v
	}
	w := &Walker{ORC: testTable(t), Mem: mem}
	frames, err := w.Walk(Start{PC: 0xffffffff81002010, SP: 0x20000}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(frames) != 2 || frames[1].Regs == nil || frames[1].Regs.IP != 0x47b7a0 || !frames[1].Regs.UserMode() || frames[1].RegsAddr != 0x20008 {
		t.Fatalf("frames %+v", frames)
	}
}

// TestWalkStops checks the ends that are not the outermost frame: an
// unreadable stack word, an address with no unwind information, a loop.
func TestWalkStops(t *testing.T) {
	w := &Walker{ORC: testTable(t), Mem: stack{}}
	frames, err := w.Walk(Start{PC: 0xffffffff81002010, SP: 0x10000}, nil)
	var se *StackError
	if !errors.As(err, &se) || se.Addr != 0x10000 || len(frames) != 1 {
		t.Errorf("unreadable stack: %v, %+v", err, frames)
	}
	w.Mem = stack{0x10000: 0xffffffff81005010}
	frames, err = w.Walk(Start{PC: 0xffffffff81002010, SP: 0x10000}, nil)
	if err == nil || len(frames) != 2 {
		t.Errorf("undefined ORC: %v, %+v", err, frames)
	}
	// B's frame that returns into B at the same SP forever: the walk must
	// see the stack pointer not move, or give up at MaxFrames.
	w.Mem = stack{}
	for a := uint64(0x10000); a < 0x10000+8*300; a += 8 {
		w.Mem.(stack)[a] = 0xffffffff81002010
	}
	w.MaxFrames = 50
	frames, err = w.Walk(Start{PC: 0xffffffff81002010, SP: 0x10000}, nil)
	if err == nil || len(frames) > 50 {
		t.Errorf("endless chain: %v, %d frames", err, len(frames))
	}
	// The stack check refuses frames outside the stack.
	w.Mem = stack{0x10000: 0xffffffff81002010}
	_, err = w.Walk(Start{PC: 0xffffffff81002010, SP: 0x10000}, func(a uint64) bool { return a < 0x10000 })
	if err == nil {
		t.Error("a frame off the stack was followed")
	}
}

// FuzzORC parses arbitrary ORC sections and walks arbitrary stacks with
// them: errors are fine, panics and hangs are not.
func FuzzORC(f *testing.F) {
	ip, orc := buildORC(ipBase, []orcRow{{ip: ipBase + 0x100, spReg: RegSP, spOffset: 8}, {ip: ipBase + 0x200, spReg: RegUndefined, end: true}})
	f.Add(append(append([]byte{2}, ip...), orc...), uint8(1))
	f.Fuzz(func(t *testing.T, data []byte, layout uint8) {
		if len(data) < 1 {
			return
		}
		n := int(data[0])
		data = data[1:]
		if len(data) < 10*n {
			return
		}
		tb, err := ParseORC(data[:4*n], ipBase, data[4*n:10*n], Layout(layout%3))
		if err != nil {
			return
		}
		mem := stack{}
		rest := data[10*n:]
		for i := 0; i+8 <= len(rest); i += 8 {
			mem[0x10000+uint64(i)] = binary.LittleEndian.Uint64(rest[i:])
		}
		w := &Walker{ORC: tb, Mem: mem, MaxFrames: 64}
		for _, pc := range []uint64{ipBase + 0x100, ipBase + 0x201, ipBase} {
			frames, _ := w.Walk(Start{PC: pc, SP: 0x10000, BP: 0x10010}, nil)
			if len(frames) > 64 {
				t.Fatalf("%d frames, more than MaxFrames", len(frames))
			}
		}
	})
}

var _ io.ReaderAt = stack{}

// FuzzCFI parses arbitrary .debug_frame bytes and asks for rules: delve's
// parser panics on some bad input, which ParseCFI must turn into errors.
func FuzzCFI(f *testing.F) {
	f.Add(testCFI(), uint64(0x1008))
	f.Fuzz(func(t *testing.T, data []byte, pc uint64) {
		c, err := ParseCFI(data)
		if err != nil {
			return
		}
		c.rule(pc)
		c.rule(0x1008)
	})
}

// testCFI is a .debug_frame with one CIE (CFA = rsp+8, return address at
// CFA-8) and one FDE for 0x1000-0x1100: "advance 4; CFA offset 16".
func testCFI() []byte {
	cie := []byte{
		0x12, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 1, 0, 1, 0x78, 16,
		0x0c, 7, 8, 0x90, 1, 0, 0, 0, 0,
	}
	fde := []byte{0x1c, 0, 0, 0, 0, 0, 0, 0}
	fde = binary.LittleEndian.AppendUint64(fde, 0x1000)
	fde = binary.LittleEndian.AppendUint64(fde, 0x100)
	fde = append(fde, 0x44, 0x0e, 16, 0, 0, 0, 0, 0)
	return append(cie, fde...)
}

func TestCFIRule(t *testing.T) {
	c, err := ParseCFI(testCFI())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		pc  uint64
		off int64
	}{{0x1000, 8}, {0x1003, 8}, {0x1004, 16}, {0x10ff, 16}} {
		r, err := c.rule(tc.pc)
		if err != nil || r.cfaReg != dwarfRSP || r.cfaOff != tc.off || r.raOff != -8 {
			t.Errorf("rule(%#x) = %+v, %v; want CFA rsp+%d, RA at CFA-8", tc.pc, r, err, tc.off)
		}
	}
	if _, err := c.rule(0x1100); err == nil {
		t.Error("rule outside every FDE found")
	}
	// A walk through CFI where ORC has no entry.
	w := &Walker{ORC: &Table{}, CFI: c, Mem: stack{0x10008: 0xffffffff81003005}}
	frames, _ := w.Walk(Start{PC: 0x1009, SP: 0x10000}, nil)
	if len(frames) < 2 || frames[1].Slot != 0x10008 || frames[1].PC != 0xffffffff81003005 || frames[1].By != arch.MethodCFI {
		t.Errorf("CFI walk: %+v", frames)
	}
}

// TestWalkFramePointers follows the frame-pointer chain where neither ORC
// nor CFI covers the code, marks such frames MethodFP, and refuses to
// under NoFP.
func TestWalkFramePointers(t *testing.T) {
	mem := stack{0x10000: 0, 0x10008: 0xffffffff81003005} // saved rbp (end of chain), return address
	w := &Walker{ORC: &Table{}, Mem: mem}
	frames, err := w.Walk(Start{PC: 0xffffffff81000010, SP: 0xfff0, BP: 0x10000}, nil)
	if err != nil || len(frames) != 2 || frames[1].By != arch.MethodFP || frames[1].Slot != 0x10008 {
		t.Fatalf("frame-pointer walk: %+v, %v", frames, err)
	}
	w.NoFP = true
	frames, err = w.Walk(Start{PC: 0xffffffff81000010, SP: 0xfff0, BP: 0x10000}, nil)
	if err == nil || len(frames) != 1 {
		t.Fatalf("NoFP walk: %+v, %v", frames, err)
	}
}

// byteMem is memory holding byte slices at addresses.
type byteMem map[uint64][]byte

func (m byteMem) ReadAt(p []byte, off int64) (int, error) {
	for base, b := range m {
		if uint64(off) >= base && uint64(off)+uint64(len(p)) <= base+uint64(len(b)) {
			return copy(p, b[uint64(off)-base:]), nil
		}
	}
	return 0, errors.New("not mapped")
}

// TestReadORC reads tables from memory as a relocated kernel holds them:
// the table's addresses are the link-time ones, the layout is told by
// .orc_header's symbol or by the entries themselves.
func TestReadORC(t *testing.T) {
	const reloc = 0x2a000000
	rows := []orcRow{
		{ip: ipBase + reloc + 0x1000, spReg: RegSP, spOffset: 16, typ: 0},
		{ip: ipBase + reloc + 0x2000, spReg: RegSP, spOffset: 8, typ: 0},
		{ip: ipBase + reloc + 0x3000, spReg: RegSP, spOffset: 8, typ: 0},
	}
	const ipAt, orcAt = ipBase + reloc + 0x100000, ipBase + reloc + 0x200000
	ip, orc := buildORC(ipAt, rows)
	mem := byteMem{ipAt: ip, orcAt: orc}
	syms := map[string]uint64{
		"__start_orc_unwind_ip": ipAt, "__stop_orc_unwind_ip": ipAt + uint64(len(ip)),
		"__start_orc_unwind": orcAt, "__stop_orc_unwind": orcAt + uint64(len(orc)),
	}
	symbol := func(n string) (uint64, bool) { a, ok := syms[n]; return a, ok }
	tb, err := ReadORC(mem, symbol, reloc)
	if err != nil {
		t.Fatal(err)
	}
	if e, ok := tb.Lookup(ipBase + 0x1800); !ok || e.SPOffset != 16 || e.Kind != KindCall {
		t.Errorf("link-time lookup = %+v, %v", e, ok)
	}
	// The new layout's CALL is type 2: told by the entries.
	for i := range rows {
		orc[6*i+4+1] = 2
	}
	if DetectLayout(orc) != LayoutV2 {
		t.Error("entries of the new layout not told")
	}
	if tb, err = ReadORC(mem, symbol, reloc); err != nil {
		t.Fatal(err)
	}
	if e, _ := tb.Lookup(ipBase + 0x1800); e.Kind != KindCall {
		t.Errorf("new layout read as %+v", e)
	}
	// 7.1 numbers the registers anew: SP is 3, PREV_SP 8. Told by the
	// entries too, and decoded into the usual numbers.
	for i := range rows {
		w := binary.LittleEndian.Uint16(orc[6*i+4:])
		if w&0xf == RegSP {
			w = w&^0xf | 3
		}
		if w>>4&0xf == RegPrevSP {
			w = w&^0xf0 | 8<<4
		}
		binary.LittleEndian.PutUint16(orc[6*i+4:], w)
	}
	if DetectLayout(orc) != LayoutV3 {
		t.Error("entries of 7.1's register numbers not told")
	}
	if tb, err = ReadORC(mem, symbol, reloc); err != nil {
		t.Fatal(err)
	}
	if e, _ := tb.Lookup(ipBase + 0x1800); e.Kind != KindCall || e.SPReg != RegSP || tb.Layout() != LayoutV3 {
		t.Errorf("7.1 layout read as %+v (%v)", e, tb.Layout())
	}
	delete(syms, "__stop_orc_unwind")
	if _, err := ReadORC(mem, symbol, reloc); !errors.Is(err, ErrNoORCSymbols) {
		t.Errorf("missing symbol: %v", err)
	}
	syms["__stop_orc_unwind"] = orcAt + 1<<30
	if _, err := ReadORC(mem, symbol, reloc); err == nil {
		t.Error("a table of 2^30 bytes accepted")
	}
	syms["__stop_orc_unwind"] = orcAt + uint64(len(orc)) + 6
	if _, err := ReadORC(mem, symbol, reloc); err == nil {
		t.Error("unreadable table accepted")
	}
}

// TestPrologueRule analyses hand-assembled functions: pushes and a stack
// frame, a frame pointer with a realigned stack, code after a return
// taking the body's depth, and refusals.
func TestPrologueRule(t *testing.T) {
	const start = 0xffffffff81000000
	// push %rbp; push %rbx; sub $0x10,%rsp; call .; (ret addr 12)
	// add $0x10,%rsp; pop %rbx; pop %rbp; ret; (body again:) call .; ret
	code := []byte{
		0x55, 0x53, 0x48, 0x83, 0xec, 0x10, 0xe8, 0, 0, 0, 0, // 0..10
		0x48, 0x83, 0xc4, 0x10, 0x5b, 0x5d, 0xc3, // 11..17
		0xe8, 0, 0, 0, 0, 0xc3, // 18..23
	}
	for _, c := range []struct {
		pc            uint64
		cfaOff, bpOff int64
		bpSaved       bool
	}{
		{start + 11, 8 + 16 + 16, -16, true}, // after the first call
		{start + 1, 16, -16, true},           // after push %rbp
		{start + 0, 8, 0, false},             // at the entry
		{start + 23, 8 + 16 + 16, -16, true}, // code after ret: the body's depth
	} {
		r, err := prologueRule(start, code, c.pc)
		if err != nil {
			t.Errorf("%#x: %v", c.pc, err)
			continue
		}
		if r.cfaReg != dwarfRSP || r.cfaOff != c.cfaOff || r.bpSaved != c.bpSaved || c.bpSaved && r.bpOff != c.bpOff || r.raOff != -8 {
			t.Errorf("%#x: %+v, want CFA rsp+%d, bp saved %v at %d", c.pc, r, c.cfaOff, c.bpSaved, c.bpOff)
		}
	}
	// push %rbp; mov %rsp,%rbp; and $-16,%rsp; call . : CFA from %rbp.
	framed := []byte{0x55, 0x48, 0x89, 0xe5, 0x48, 0x83, 0xe4, 0xf0, 0xe8, 0, 0, 0, 0, 0xc9, 0xc3}
	if r, err := prologueRule(start, framed, start+13); err != nil || r.cfaReg != dwarfRBP || r.cfaOff != 16 {
		t.Errorf("realigned frame: %+v, %v", r, err)
	}
	// and $-16,%rsp without a frame: the stack pointer is not known.
	if _, err := prologueRule(start, []byte{0x48, 0x83, 0xe4, 0xf0, 0xe8, 0, 0, 0, 0}, start+9); err == nil {
		t.Error("realigned stack without a frame accepted")
	}
	// A pc outside the code, and undecodable bytes.
	if _, err := prologueRule(start, code, start+100); err == nil {
		t.Error("pc past the code accepted")
	}
	if _, err := prologueRule(start, []byte{0x06, 0x06, 0x06, 0x06}, start+4); err == nil {
		t.Error("undecodable code accepted")
	}
	// pop before any push: above the return address.
	if _, err := prologueRule(start, []byte{0x5b, 0xe8, 0, 0, 0, 0}, start+6); err == nil {
		t.Error("a pop above the return address accepted")
	}
}

// FuzzPrologueRule analyses arbitrary code: nothing may panic or hang.
func FuzzPrologueRule(f *testing.F) {
	f.Add([]byte{0x55, 0x53, 0x48, 0x83, 0xec, 0x10, 0xe8, 0, 0, 0, 0, 0xc3}, uint16(11))
	f.Add([]byte{0x55, 0x48, 0x89, 0xe5, 0x48, 0x83, 0xe4, 0xf0, 0xc9, 0xc3}, uint16(9))
	f.Fuzz(func(t *testing.T, code []byte, pc uint16) {
		prologueRule(0x1000, code, 0x1000+uint64(pc))
	})
}
