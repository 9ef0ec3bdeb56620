package kallsyms

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/vmcoretools/vmcore/vmcoreinfo"
)

// memory is an io.ReaderAt over a few regions of a 64-bit address space,
// as kernel virtual memory: reads outside them fail, and a read running off
// a region's end returns what it got.
type memory struct{ regions map[uint64][]byte }

var errUnmapped = errors.New("not mapped")

func (m *memory) ReadAt(p []byte, off int64) (int, error) {
	addr := uint64(off)
	for base, b := range m.regions {
		if addr >= base && addr-base < uint64(len(b)) {
			n := copy(p, b[addr-base:])
			if n < len(p) {
				return n, fmt.Errorf("%#x: %w", addr+uint64(n), errUnmapped)
			}
			return n, nil
		}
	}
	return 0, fmt.Errorf("%#x: %w", addr, errUnmapped)
}

// image is a kernel's kallsyms tables encoded as scripts/kallsyms.c lays
// them out in 6.12 (num_syms, names, token table, token index, offsets,
// relative base, in one rodata region).
type image struct {
	mem *memory
	loc Locations
}

const rodata = 0xffffffff82000000

// tokenSet is the token table: every byte a symbol uses stands for itself;
// the unused byte values stand for frequent substrings, as the kernel's
// compressor learns them.
func tokenSet(syms []Symbol) [256]string {
	var tok [256]string
	used := map[byte]bool{}
	for _, s := range syms {
		used[s.Type] = true
		for i := 0; i < len(s.Name); i++ {
			used[s.Name[i]] = true
		}
	}
	extra := []string{"__", "init", "_start", "kallsyms", "jiffies", "per_cpu", "ab", "ba"}
	for c := 0; c < 256; c++ {
		switch {
		case used[byte(c)]:
			tok[c] = string(rune(c))
		case len(extra) > 0:
			tok[c], extra = extra[0], extra[1:]
		default:
			tok[c] = "\x7f" // never used
		}
	}
	return tok
}

// encode lays out syms (sorted by address by the caller) for the given
// address encoding. The type letter stays an uncompressed first token, as
// from 6.2.
func encode(t testing.TB, syms []Symbol, absolutePercpu bool) *image {
	return encodeLayout(t, syms, absolutePercpu, false)
}

// encodeLayout lays the tables out as kernels from 6.4 do (old false:
// num_syms, names, token table and index, offsets, relative base) or as
// kernels before 6.0 do (old true: offsets, relative base, num_syms,
// names, markers, token table and index), each 8-aligned.
func encodeLayout(t testing.TB, syms []Symbol, absolutePercpu, old bool) *image {
	tok := tokenSet(syms)
	// Longest token first for a greedy compressor.
	order := make([]int, 0, 256)
	for c := range tok {
		order = append(order, c)
	}
	sort.SliceStable(order, func(i, j int) bool { return len(tok[order[i]]) > len(tok[order[j]]) })

	var names, markers []byte
	for i, s := range syms {
		if i%256 == 0 {
			markers = binary.LittleEndian.AppendUint32(markers, uint32(len(names)))
		}
		comp := []byte{s.Type}
		for rest := s.Name; rest != ""; {
			for _, c := range order {
				if tok[c] != "\x7f" && strings.HasPrefix(rest, tok[c]) {
					comp = append(comp, byte(c))
					rest = rest[len(tok[c]):]
					break
				}
			}
		}
		if n := len(comp); n <= 0x7f {
			names = append(names, byte(n))
		} else {
			names = append(names, byte(n&0x7f|0x80), byte(n>>7))
		}
		names = append(names, comp...)
	}

	var table []byte
	var index [512]byte
	for c, s := range tok {
		binary.LittleEndian.PutUint16(index[2*c:], uint16(len(table)))
		table = append(table, s...)
		table = append(table, 0)
	}

	base := uint64(0)
	if !absolutePercpu {
		base = syms[0].Addr
	} else {
		for _, s := range syms {
			if s.Addr >= 1<<31 {
				base = s.Addr
				break
			}
		}
	}
	offsets := make([]byte, 4*len(syms))
	for i, s := range syms {
		var off int32
		switch {
		case !absolutePercpu:
			off = int32(uint32(s.Addr - base))
		case s.Addr < 1<<31:
			off = int32(s.Addr)
		default:
			off = int32(int64(base) - 1 - int64(s.Addr))
		}
		binary.LittleEndian.PutUint32(offsets[4*i:], uint32(off))
	}

	var b []byte
	var loc Locations
	put := func(dst *uint64, p []byte) {
		for len(b)%8 != 0 {
			b = append(b, 0)
		}
		*dst = rodata + uint64(len(b))
		b = append(b, p...)
	}
	var num [4]byte
	binary.LittleEndian.PutUint32(num[:], uint32(len(syms)))
	var rb [8]byte
	binary.LittleEndian.PutUint64(rb[:], base)
	if old {
		var unused uint64
		put(&loc.Offsets, offsets)
		put(&loc.RelativeBase, rb[:])
		put(&loc.NumSyms, num[:])
		put(&loc.Names, names)
		put(&unused, markers)
		put(&loc.TokenTable, table)
		put(&loc.TokenIndex, index[:])
		return &image{mem: &memory{regions: map[uint64][]byte{rodata: b}}, loc: loc}
	}
	put(&loc.NumSyms, num[:])
	put(&loc.Names, names)
	put(&loc.TokenTable, table)
	put(&loc.TokenIndex, index[:])
	put(&loc.Offsets, offsets)
	put(&loc.RelativeBase, rb[:])
	return &image{mem: &memory{regions: map[uint64][]byte{rodata: b}}, loc: loc}
}

func (im *image) region() []byte { return im.mem.regions[rodata] }

// sampleSymbols is a small kernel: per-CPU symbols, text, data, a local
// symbol sharing a global's name, and a "big" name (over 127 tokens).
func sampleSymbols(absolutePercpu bool) []Symbol {
	syms := []Symbol{
		{Name: "fixed_percpu_data", Type: 'A', Addr: 0},
		{Name: "irq_stack_backing_store", Type: 'A', Addr: 0x2000},
		{Name: "__per_cpu_end", Type: 'A', Addr: 0x34000},
		{Name: "_text", Type: 'T', Addr: 0xffffffff8e000000},
		{Name: "_stext", Type: 'T', Addr: 0xffffffff8e000000},
		{Name: "start_kernel", Type: 'T', Addr: 0xffffffff8e001230},
		{Name: "show_mem", Type: 't', Addr: 0xffffffff8e0040a0},
		{Name: strings.Repeat("a_very_long_rust_symbol_", 12), Type: 't', Addr: 0xffffffff8e0050a0},
		{Name: "show_mem", Type: 'T', Addr: 0xffffffff8e0060a0},
		{Name: "jiffies_64", Type: 'D', Addr: 0xffffffff8fa079c0},
		{Name: "jiffies", Type: 'D', Addr: 0xffffffff8fa079c0},
		{Name: "pid_max", Type: 'D', Addr: 0xffffffff8fa594b0},
		{Name: "tick_nsec", Type: 'B', Addr: 0xffffffff9033ffa0},
	}
	if !absolutePercpu {
		syms = syms[3:]
	}
	return syms
}

func TestReadRoundTrip(t *testing.T) {
	for _, abs := range []bool{false, true} {
		for _, anchor := range []bool{false, true} {
			t.Run(fmt.Sprintf("absolutePercpu=%v,anchor=%v", abs, anchor), func(t *testing.T) {
				want := sampleSymbols(abs)
				im := encode(t, want, abs)
				var opt Options
				if anchor {
					opt.Anchor = Anchor{"_stext", 0xffffffff8e000000}
				}
				tab, err := Read(im.mem, im.loc, opt)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(want, tab.Symbols); diff != "" {
					t.Errorf("symbols (-want +got):\n%s", diff)
				}
				if tab.AbsolutePercpu != abs {
					t.Errorf("AbsolutePercpu = %v", tab.AbsolutePercpu)
				}
				s, ok := tab.Lookup("show_mem")
				if !ok || s.Type != 'T' || s.Addr != 0xffffffff8e0060a0 {
					t.Errorf("Lookup(show_mem) = %+v, %v; want the global one", s, ok)
				}
				if _, ok := tab.Lookup("no_such_symbol"); ok {
					t.Error("Lookup found a symbol that is not there")
				}
			})
		}
	}
}

func TestReadBigSymbol(t *testing.T) {
	// Over 127 compressed bytes: the 6.1+ two-byte length.
	im := encode(t, sampleSymbols(false), false)
	names := im.region()[im.loc.Names-rodata:]
	for i, n := 0, 0; ; i++ {
		if names[n]&0x80 != 0 {
			if i != 4 {
				t.Fatalf("big length at symbol %d, want 4", i)
			}
			break
		}
		n += 1 + int(names[n])
	}
	tab, err := Read(im.mem, im.loc, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := tab.Symbols[4].Name; len(got) != 24*12 {
		t.Errorf("big symbol decoded to %d characters", len(got))
	}
}

func TestReadAnchorMismatch(t *testing.T) {
	im := encode(t, sampleSymbols(true), true)
	_, err := Read(im.mem, im.loc, Options{Anchor: Anchor{"_stext", 0xffffffff81000000}})
	var e *Error
	if !errors.As(err, &e) || !strings.Contains(err.Error(), "_stext decodes to") {
		t.Errorf("got %v", err)
	}
	_, err = Read(im.mem, im.loc, Options{Anchor: Anchor{"no_such", 1}})
	if err == nil || !strings.Contains(err.Error(), "no symbol no_such") {
		t.Errorf("got %v", err)
	}
}

// TestReadDamaged damages one table at a time: each must give an *Error
// naming that table, never a panic.
func TestReadDamaged(t *testing.T) {
	syms := sampleSymbols(true)
	cases := []struct {
		name  string
		table string
		hurt  func(im *image)
	}{
		{"no symbols", "kallsyms_num_syms", func(im *image) { putU32(im, im.loc.NumSyms, 0) }},
		{"too many symbols", "kallsyms_num_syms", func(im *image) { putU32(im, im.loc.NumSyms, MaxSymbols+1) }},
		{"more symbols than the stream holds", "kallsyms_", func(im *image) { putU32(im, im.loc.NumSyms, 1000) }},
		{"num_syms unmapped", "kallsyms_num_syms", func(im *image) { im.loc.NumSyms = 0x1000 }},
		{"token index unmapped", "kallsyms_token_index", func(im *image) { im.loc.TokenIndex = 0x1000 }},
		{"token table unmapped", "kallsyms_token_table", func(im *image) { im.loc.TokenTable = 0x1000 }},
		{"token not terminated", "kallsyms_token_table", func(im *image) {
			// The last token runs on to where memory ends.
			r := im.region()
			last := uint64(binary.LittleEndian.Uint16(r[im.loc.TokenIndex-rodata+510:]))
			for i := im.loc.TokenTable - rodata + last; i < im.loc.TokenIndex-rodata; i++ {
				r[i] = 'x'
			}
			im.mem.regions[rodata] = r[:im.loc.TokenIndex-rodata]
			im.mem.regions[im.loc.TokenIndex] = r[im.loc.TokenIndex-rodata:]
		}},
		{"zero length", "kallsyms_names", func(im *image) { im.region()[im.loc.Names-rodata] = 0 }},
		{"type byte not printable", "kallsyms_names", func(im *image) {
			// Symbol 0's first token becomes an unused byte (0x7f).
			tok := tokenSet(syms)
			for c := range tok {
				if tok[c] == "\x7f" {
					im.region()[im.loc.Names-rodata+1] = byte(c)
					return
				}
			}
			t.Fatal("no unused token")
		}},
		{"name too long", "kallsyms_names", func(im *image) {
			// A big length of 1000 tokens, each "kallsyms": 8000 characters.
			tok := tokenSet(syms)
			c := -1
			for i := range tok {
				if tok[i] == "kallsyms" {
					c = i
				}
			}
			if c < 0 {
				t.Fatal("no token kallsyms")
			}
			r := im.region()
			n := im.loc.Names - rodata
			r[n], r[n+1] = 1000&0x7f|0x80, 1000>>7
			for i := uint64(0); i < 1000; i++ {
				r[n+2+i] = byte(c)
			}
		}},
		{"names unmapped", "kallsyms_names", func(im *image) { im.loc.Names = 0x1000 }},
		{"offsets unmapped", "kallsyms_offsets", func(im *image) { im.loc.Offsets = 0x1000 }},
		{"relative base unmapped", "kallsyms_relative_base", func(im *image) { im.loc.RelativeBase = 0x1000 }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			im := encode(t, syms, true)
			c.hurt(im)
			tab, err := Read(im.mem, im.loc, Options{Anchor: Anchor{"_stext", 0xffffffff8e000000}})
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("got %v, %v; want an *Error", tab, err)
			}
			t.Log(err)
			if !strings.HasPrefix(e.Table, c.table) {
				t.Errorf("error names %s, want %s: %v", e.Table, c.table, err)
			}
			if e.Err != nil && !errors.Is(err, errUnmapped) && !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Errorf("cause %v is not the read error", e.Err)
			}
		})
	}
}

func putU32(im *image, addr uint64, v uint32) {
	binary.LittleEndian.PutUint32(im.region()[addr-rodata:], v)
}

func TestLocationsFromVMCOREINFO(t *testing.T) {
	full := `OSRELEASE=6.12.117+deb12-cloud-amd64
SYMBOL(kallsyms_names)=ffffffffb7152ad8
SYMBOL(kallsyms_num_syms)=ffffffffb7152ad0
SYMBOL(kallsyms_token_table)=ffffffffb735c330
SYMBOL(kallsyms_token_index)=ffffffffb735c730
SYMBOL(kallsyms_offsets)=ffffffffb735c930
SYMBOL(kallsyms_relative_base)=ffffffffb73f3a28
`
	info, err := vmcoreinfo.Parse([]byte(full))
	if err != nil {
		t.Fatal(err)
	}
	loc, err := LocationsFromVMCOREINFO(info)
	if err != nil {
		t.Fatal(err)
	}
	want := Locations{NumSyms: 0xffffffffb7152ad0, Names: 0xffffffffb7152ad8, TokenTable: 0xffffffffb735c330,
		TokenIndex: 0xffffffffb735c730, Offsets: 0xffffffffb735c930, RelativeBase: 0xffffffffb73f3a28}
	if loc != want {
		t.Errorf("got %+v", loc)
	}

	old, _ := vmcoreinfo.Parse([]byte("OSRELEASE=5.15.0\nSYMBOL(init_uts_ns)=ffffffff82a12345\n"))
	_, err = LocationsFromVMCOREINFO(old)
	if !errors.Is(err, ErrNoKallsyms) || !strings.Contains(err.Error(), "6.0") || !strings.Contains(err.Error(), "5.15.0") {
		t.Errorf("pre-6.0 note: %v", err)
	}
	part, _ := vmcoreinfo.Parse([]byte(strings.Replace(full, "SYMBOL(kallsyms_offsets)", "SYMBOL(kallsyms_addresses)", 1)))
	_, err = LocationsFromVMCOREINFO(part)
	if !errors.Is(err, ErrNoKallsyms) || !strings.Contains(err.Error(), "kallsyms_offsets") {
		t.Errorf("note without kallsyms_offsets: %v", err)
	}
	if _, err := LocationsFromVMCOREINFO(nil); !errors.Is(err, ErrNoKallsyms) {
		t.Errorf("nil note: %v", err)
	}
}

// TestReadManySymbols: more symbols than one read chunk of names, and the
// stream crossing chunk boundaries mid-symbol.
func TestReadManySymbols(t *testing.T) {
	var syms []Symbol
	for i := 0; i < 20000; i++ {
		syms = append(syms, Symbol{Name: fmt.Sprintf("sym_%d_init_start", i), Type: "tTdDbBrR"[i%8], Addr: 0xffffffff81000000 + uint64(i)*16})
	}
	im := encode(t, syms, false)
	tab, err := Read(im.mem, im.loc, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(syms, tab.Symbols, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestFind(t *testing.T) {
	for _, abs := range []bool{false, true} {
		for _, anchor := range []bool{false, true} {
			t.Run(fmt.Sprintf("absolutePercpu=%v,anchor=%v", abs, anchor), func(t *testing.T) {
				all := sampleSymbols(abs)
				im := encode(t, all, abs)
				var opt Options
				if anchor {
					opt.Anchor = Anchor{"_stext", 0xffffffff8e000000}
				}
				tab, err := Find(im.mem, im.loc, opt, "pid_max", "show_mem", "jiffies_64", "no_such_symbol")
				if err != nil {
					t.Fatal(err)
				}
				want := []Symbol{all[len(all)-5], all[len(all)-4], all[len(all)-2]} // show_mem (global), jiffies_64, pid_max
				if anchor {
					want = append([]Symbol{all[len(all)-9]}, want...) // _stext first, in table order
				}
				if diff := cmp.Diff(want, tab.Symbols); diff != "" {
					t.Errorf("(-want +got):\n%s", diff)
				}
				if tab.AbsolutePercpu != abs {
					t.Errorf("AbsolutePercpu = %v", tab.AbsolutePercpu)
				}
			})
		}
	}
	// A per-CPU symbol alone has a non-negative offset: the encoding must
	// still come from the whole table.
	im := encode(t, sampleSymbols(true), true)
	tab, err := Find(im.mem, im.loc, Options{}, "irq_stack_backing_store")
	if err != nil {
		t.Fatal(err)
	}
	if s, ok := tab.Lookup("irq_stack_backing_store"); !ok || s.Addr != 0x2000 || !tab.AbsolutePercpu {
		t.Errorf("got %+v, %v, absolute %v", s, ok, tab.AbsolutePercpu)
	}
}

// TestReadPlaceRelative: since 7.0 each offset counts from its own place in
// kallsyms_offsets and there is no kallsyms_relative_base; VMCOREINFO then
// names five tables, which locate it.
func TestReadPlaceRelative(t *testing.T) {
	want := sampleSymbols(false)
	im := encode(t, want, false)
	loc := im.loc
	loc.RelativeBase = 0
	region := im.region()
	for i, s := range want {
		at := loc.Offsets + 4*uint64(i)
		binary.LittleEndian.PutUint32(region[at-rodata:], uint32(int32(int64(s.Addr-at))))
	}
	for _, anchor := range []bool{false, true} {
		var opt Options
		if anchor {
			opt.Anchor = Anchor{"_stext", 0xffffffff8e000000}
		}
		tab, err := Read(im.mem, loc, opt)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, tab.Symbols); diff != "" {
			t.Errorf("symbols (-want +got):\n%s", diff)
		}
		if !tab.PlaceRelative {
			t.Error("PlaceRelative not set")
		}
	}
	if _, err := Read(im.mem, loc, Options{Anchor: Anchor{"_stext", 0xffffffff8f000000}}); err == nil || !strings.Contains(err.Error(), "place-relative") {
		t.Errorf("a wrong anchor: %v", err)
	}

	note := `OSRELEASE=7.2.13+deb14-cloud-amd64
SYMBOL(kallsyms_names)=ffffffff91d89668
SYMBOL(kallsyms_num_syms)=ffffffff91d89664
SYMBOL(kallsyms_token_table)=ffffffff9202dd2c
SYMBOL(kallsyms_token_index)=ffffffff9202e0dc
SYMBOL(kallsyms_offsets)=ffffffff9202e2dc
`
	info, err := vmcoreinfo.Parse([]byte(note))
	if err != nil {
		t.Fatal(err)
	}
	got, err := LocationsFromVMCOREINFO(info)
	if err != nil || got.RelativeBase != 0 || got.Offsets != 0xffffffff9202e2dc {
		t.Errorf("7.x note: %+v, %v", got, err)
	}
}
