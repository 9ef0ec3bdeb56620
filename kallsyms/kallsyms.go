package kallsyms

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"

	"github.com/vmcoretools/vmcore/vmcoreinfo"
)

// Limits on what is read from memory. Real kernels have about 100,000 to
// 250,000 symbols (an allyesconfig build about 1.5 million) and names of at
// most KSYM_NAME_LEN-1 characters (511 from 6.1, 127 before).
const (
	// MaxSymbols bounds kallsyms_num_syms.
	MaxSymbols = 1 << 22
	// MaxNameLen bounds a symbol's expanded length, type letter included,
	// and so also its compressed length.
	MaxNameLen = 1024
	// maxToken bounds one token's length.
	maxToken = MaxNameLen
	// maxTokenTable bounds the token table: 256 offsets of 16 bits, plus
	// the longest token.
	maxTokenTable = 1<<16 + maxToken
	// chunk is how much of a table one read asks for.
	chunk = 64 << 10
)

// Locations are the kernel virtual addresses of the kallsyms tables.
type Locations struct {
	NumSyms    uint64 // kallsyms_num_syms: unsigned int
	Names      uint64 // kallsyms_names: the compressed name stream
	TokenTable uint64 // kallsyms_token_table: NUL-terminated tokens
	TokenIndex uint64 // kallsyms_token_index: 256 u16 offsets
	Offsets    uint64 // kallsyms_offsets: one int per symbol
	// RelativeBase is kallsyms_relative_base, the base the offsets are
	// counted from; 0 for kernels since 7.0, which have none: each offset
	// counts from its own address (place-relative).
	RelativeBase uint64
}

// ErrNoKallsyms matches the error of LocationsFromVMCOREINFO when the note
// does not locate the tables (kernels before 6.0, or built without
// CONFIG_KALLSYMS or with absolute kallsyms addresses).
var ErrNoKallsyms = errors.New("kallsyms: VMCOREINFO does not locate the kernel's symbol table")

// LocationsFromVMCOREINFO reads the tables' addresses from the SYMBOL lines
// that kernels from 6.0 on write into VMCOREINFO.
func LocationsFromVMCOREINFO(info *vmcoreinfo.Info) (Locations, error) {
	var loc Locations
	if info == nil {
		return loc, fmt.Errorf("%w: no VMCOREINFO", ErrNoKallsyms)
	}
	var missing []string
	for _, f := range []struct {
		name string
		dst  *uint64
	}{
		{"kallsyms_num_syms", &loc.NumSyms},
		{"kallsyms_names", &loc.Names},
		{"kallsyms_token_table", &loc.TokenTable},
		{"kallsyms_token_index", &loc.TokenIndex},
		{"kallsyms_offsets", &loc.Offsets},
		{"kallsyms_relative_base", &loc.RelativeBase},
	} {
		v, ok := info.Symbol(f.name)
		if !ok || v == 0 {
			missing = append(missing, f.name)
			continue
		}
		*f.dst = v
	}
	if len(missing) == 6 {
		return loc, fmt.Errorf("%w (it has no SYMBOL(kallsyms_*) lines; kernels write them from 6.0 on, this one is %q)", ErrNoKallsyms, info.OSRelease())
	}
	if len(missing) == 1 && missing[0] == "kallsyms_relative_base" {
		// 7.0 and later: place-relative offsets, no base.
		return loc, nil
	}
	if len(missing) > 0 {
		return loc, fmt.Errorf("%w: SYMBOL(%s) missing", ErrNoKallsyms, missing[0])
	}
	return loc, nil
}

// Symbol is one entry of the kernel's symbol table.
type Symbol struct {
	Name string
	Type byte // nm's letter: 'T' global text, 't' local text, 'D', 'd', 'B', 'b', 'R', 'r', 'A', ...
	Addr uint64
}

// Anchor is a symbol whose running address is known from elsewhere, used to
// choose between the two address encodings (see the package comment).
type Anchor struct {
	Name string
	Addr uint64
}

// Options tune Read.
type Options struct {
	// Anchor, when its name is set, must decode to its address under the
	// encoding Read chooses; Read fails when it does so under neither.
	Anchor Anchor
}

// Table is a decoded kernel symbol table.
type Table struct {
	// Symbols in the kernel's order (ascending address as linked; with
	// absolute per-CPU symbols those come first).
	Symbols []Symbol
	// AbsolutePercpu tells which address encoding the kernel used, where
	// the offsets count from a base (before 7.0).
	AbsolutePercpu bool
	// PlaceRelative: each offset counts from its own address in
	// kallsyms_offsets (7.0 and later; Locations.RelativeBase is 0).
	PlaceRelative bool
	// RelativeBase is kallsyms_relative_base as read from memory (0 when
	// PlaceRelative).
	RelativeBase uint64

	once   sync.Once
	byName map[string]int32
}

// Error describes a table that cannot be decoded: what and where.
type Error struct {
	Table string // "kallsyms_names", ...
	Addr  uint64 // the address being read or decoded
	Msg   string
	Err   error // a read error, when that is the cause
}

func (e *Error) Error() string {
	s := fmt.Sprintf("kallsyms: %s at %#x: %s", e.Table, e.Addr, e.Msg)
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// Read decodes the symbol table at loc through r, an io.ReaderAt whose
// offsets are kernel virtual addresses (int64(vaddr)).
func Read(r io.ReaderAt, loc Locations, opt Options) (*Table, error) {
	num, tokens, err := readHeader(r, loc)
	if err != nil {
		return nil, err
	}
	t := &Table{}
	if err := t.readNames(r, loc.Names, num, tokens); err != nil {
		return nil, err
	}
	idx := make([]int, len(t.Symbols))
	for i := range idx {
		idx[i] = i
	}
	if err := t.readAddresses(r, loc, opt, idx, nil); err != nil {
		return nil, err
	}
	return t, nil
}

// Find decodes the table as Read does but keeps only the symbols named
// (one per name: the global one when there is one, else the first) and
// reads only their addresses: for a few variables it costs a pass over the
// name stream, not a table of every symbol. The Table it returns holds
// those symbols, in table order; names absent from the kernel are absent
// from it.
func Find(r io.ReaderAt, loc Locations, opt Options, names ...string) (*Table, error) {
	num, tokens, err := readHeader(r, loc)
	if err != nil {
		return nil, err
	}
	want := make(map[string]int, len(names)+1) // name -> index in idx, or -1
	for _, n := range append(names, opt.Anchor.Name) {
		if n != "" {
			want[n] = -1
		}
	}
	t := &Table{}
	var idx []int
	err = scanNames(r, loc.Names, num, tokens, func(i int, name []byte) {
		j, ok := want[string(name[1:])]
		switch {
		case !ok:
		case j < 0:
			want[string(name[1:])] = len(idx)
			idx = append(idx, i)
			t.Symbols = append(t.Symbols, Symbol{Type: name[0], Name: string(name[1:])})
		case !isGlobal(t.Symbols[j].Type) && isGlobal(name[0]):
			idx[j] = i
			t.Symbols[j].Type = name[0]
		}
	})
	if err != nil {
		return nil, err
	}
	var all []int
	if opt.Anchor.Name == "" {
		all = make([]int, num)
		for i := range all {
			all[i] = i
		}
	}
	if err := t.readAddresses(r, loc, opt, idx, all); err != nil {
		return nil, err
	}
	return t, nil
}

// readHeader reads the symbol count and the tokens.
func readHeader(r io.ReaderAt, loc Locations) (int, *[256][]byte, error) {
	var b4 [4]byte
	if err := readFull(r, b4[:], loc.NumSyms); err != nil {
		return 0, nil, &Error{"kallsyms_num_syms", loc.NumSyms, "cannot read", err}
	}
	num := binary.LittleEndian.Uint32(b4[:])
	if num == 0 || num > MaxSymbols {
		return 0, nil, &Error{"kallsyms_num_syms", loc.NumSyms, fmt.Sprintf("%d symbols, outside 1..%d", num, MaxSymbols), nil}
	}
	tokens, err := readTokens(r, loc)
	return int(num), tokens, err
}

// readTokens returns the 256 expanded tokens.
func readTokens(r io.ReaderAt, loc Locations) (*[256][]byte, error) {
	var idx [512]byte
	if err := readFull(r, idx[:], loc.TokenIndex); err != nil {
		return nil, &Error{"kallsyms_token_index", loc.TokenIndex, "cannot read", err}
	}
	maxOff := 0
	for i := 0; i < 256; i++ {
		maxOff = max(maxOff, int(binary.LittleEndian.Uint16(idx[2*i:])))
	}
	// The table ends with the NUL of the token at the largest offset; read
	// up to MaxNameLen past it and keep what is readable.
	buf := make([]byte, min(maxOff+MaxNameLen, maxTokenTable))
	n, err := r.ReadAt(buf, int64(loc.TokenTable))
	if n <= maxOff {
		if err == nil {
			err = io.ErrUnexpectedEOF
		}
		return nil, &Error{"kallsyms_token_table", loc.TokenTable, fmt.Sprintf("cannot read %d bytes", maxOff+1), err}
	}
	buf = buf[:n]
	var tokens [256][]byte
	for i := range tokens {
		off := int(binary.LittleEndian.Uint16(idx[2*i:]))
		end := off
		for end < len(buf) && buf[end] != 0 {
			end++
		}
		if end == len(buf) || end-off > maxToken {
			return nil, &Error{"kallsyms_token_table", loc.TokenTable + uint64(off), fmt.Sprintf("token %d is not NUL-terminated within %d bytes", i, min(len(buf)-off, maxToken+1)), nil}
		}
		tokens[i] = buf[off:end:end]
	}
	return &tokens, nil
}

// scanNames expands num entries of the name stream at addr, calling fn
// with each symbol's index and its expansion (type letter first), valid
// only during the call.
func scanNames(r io.ReaderAt, addr uint64, num int, tokens *[256][]byte, fn func(i int, name []byte)) error {
	s := stream{r: r, base: addr}
	name := make([]byte, 0, MaxNameLen+maxToken)
	for i := 0; i < num; i++ {
		start := s.pos
		b, err := s.bytes(1)
		if err != nil {
			return nameError(addr+start, i, num, "cannot read its length", err)
		}
		n := int(b[0])
		if n&0x80 != 0 { // a "big" symbol (6.1+): two-byte length
			b, err := s.bytes(1)
			if err != nil {
				return nameError(addr+start, i, num, "cannot read its length", err)
			}
			n = n&0x7f | int(b[0])<<7
		}
		if n == 0 || n > MaxNameLen {
			return nameError(addr+start, i, num, fmt.Sprintf("compressed length %d, outside 1..%d", n, MaxNameLen), nil)
		}
		compressed, err := s.bytes(n)
		if err != nil {
			return nameError(addr+start, i, num, "cannot read its tokens", err)
		}
		name = name[:0]
		for _, c := range compressed {
			name = append(name, tokens[c]...) // within capacity: checked below
			if len(name) > MaxNameLen {
				return nameError(addr+start, i, num, fmt.Sprintf("expands beyond %d characters", MaxNameLen), nil)
			}
		}
		if len(name) < 2 {
			return nameError(addr+start, i, num, fmt.Sprintf("expands to %q, no type and name", name), nil)
		}
		if typ := name[0]; typ <= ' ' || typ > '~' {
			return nameError(addr+start, i, num, fmt.Sprintf("type byte %#x is not a letter", typ), nil)
		}
		fn(i, name)
	}
	return nil
}

// readNames decodes every name. They are copied into chunks of nameChunk
// bytes, each made one string that the names slice: a few allocations, not
// one per symbol, and no copying of one growing arena.
func (t *Table) readNames(r io.ReaderAt, addr uint64, num int, tokens *[256][]byte) error {
	const nameChunk = 256 << 10
	type nameRef struct{ chunk, start, end uint32 }
	var chunks []string
	cur := make([]byte, 0, nameChunk)
	// Room for a kernel's worth of names at once (a 6.12 kernel has
	// 155,000); a larger count claimed by a damaged header grows only as
	// memory proves to hold names.
	refs := make([]nameRef, 0, min(num, 1<<18))
	err := scanNames(r, addr, num, tokens, func(_ int, name []byte) {
		if len(cur)+len(name) > cap(cur) {
			chunks = append(chunks, string(cur))
			cur = cur[:0]
		}
		from := len(cur)
		cur = append(cur, name...)
		refs = append(refs, nameRef{uint32(len(chunks)), uint32(from), uint32(len(cur))})
	})
	if err != nil {
		return err
	}
	chunks = append(chunks, string(cur))
	t.Symbols = make([]Symbol, len(refs))
	for i, ref := range refs {
		c := chunks[ref.chunk]
		t.Symbols[i] = Symbol{Type: c[ref.start], Name: c[ref.start+1 : ref.end]}
	}
	return nil
}

func nameError(addr uint64, i, num int, msg string, err error) error {
	return &Error{"kallsyms_names", addr, fmt.Sprintf("symbol %d of %d: %s", i, num, msg), err}
}

// readAddresses reads kallsyms_relative_base and the offsets of the
// symbols at idx (t.Symbols[k] is symbol idx[k] of the kernel's table),
// chooses the address encoding and sets the symbols' addresses. Without an
// anchor the encoding is told by whether any offset of the whole table is
// negative: all lists every index when idx does not.
func (t *Table) readAddresses(r io.ReaderAt, loc Locations, opt Options, idx, all []int) error {
	if loc.RelativeBase == 0 {
		return t.readPlaceRelative(r, loc, opt, idx)
	}
	var b8 [8]byte
	if err := readFull(r, b8[:], loc.RelativeBase); err != nil {
		return &Error{"kallsyms_relative_base", loc.RelativeBase, "cannot read", err}
	}
	t.RelativeBase = binary.LittleEndian.Uint64(b8[:])
	offsets, err := readOffsets(r, loc.Offsets, idx)
	if err != nil {
		return err
	}

	if opt.Anchor.Name != "" {
		k := -1
		for j := range t.Symbols {
			if t.Symbols[j].Name == opt.Anchor.Name {
				k = j
				break
			}
		}
		if k < 0 {
			return &Error{"kallsyms_names", loc.Names, fmt.Sprintf("no symbol %s, which anchors the addresses", opt.Anchor.Name), nil}
		}
		rel, abs := t.address(offsets[k], false), t.address(offsets[k], true)
		switch opt.Anchor.Addr {
		case rel:
			t.AbsolutePercpu = false
		case abs:
			t.AbsolutePercpu = true
		default:
			return &Error{"kallsyms_offsets", loc.Offsets + 4*uint64(idx[k]), fmt.Sprintf("%s decodes to %#x (relative) or %#x (absolute per-CPU), not %#x", opt.Anchor.Name, rel, abs, opt.Anchor.Addr), nil}
		}
	} else {
		// Offsets are u32 distances from the lowest address without
		// absolute per-CPU symbols; a kernel image is far below 2 GiB, so
		// a negative one means the other encoding.
		every := offsets
		if all != nil {
			if every, err = readOffsets(r, loc.Offsets, all); err != nil {
				return err
			}
		}
		t.AbsolutePercpu = slices.ContainsFunc(every, func(off int32) bool { return off < 0 })
	}
	for k := range t.Symbols {
		t.Symbols[k].Addr = t.address(offsets[k], t.AbsolutePercpu)
	}
	return nil
}

// readPlaceRelative sets the symbols' addresses where each offset counts
// from its own place in kallsyms_offsets (7.0 and later), checking the
// anchor when there is one.
func (t *Table) readPlaceRelative(r io.ReaderAt, loc Locations, opt Options, idx []int) error {
	offsets, err := readOffsets(r, loc.Offsets, idx)
	if err != nil {
		return err
	}
	t.PlaceRelative = true
	for k := range t.Symbols {
		t.Symbols[k].Addr = loc.Offsets + 4*uint64(idx[k]) + uint64(int64(offsets[k]))
	}
	if opt.Anchor.Name == "" {
		return nil
	}
	for k := range t.Symbols {
		if t.Symbols[k].Name != opt.Anchor.Name {
			continue
		}
		if a := t.Symbols[k].Addr; a != opt.Anchor.Addr {
			return &Error{"kallsyms_offsets", loc.Offsets + 4*uint64(idx[k]), fmt.Sprintf("%s decodes to %#x (place-relative), not %#x", opt.Anchor.Name, a, opt.Anchor.Addr), nil}
		}
		return nil
	}
	return &Error{"kallsyms_names", loc.Names, fmt.Sprintf("no symbol %s, which anchors the addresses", opt.Anchor.Name), nil}
}

// readOffsets reads kallsyms_offsets[i] for each i in idx: in chunks when
// idx is every symbol, one by one when it is a few.
func readOffsets(r io.ReaderAt, at uint64, idx []int) ([]int32, error) {
	offsets := make([]int32, len(idx))
	var b4 [4]byte
	sequential := true
	for k, i := range idx {
		if i != k {
			sequential = false
			break
		}
	}
	if !sequential || len(idx) < 64 {
		for k, i := range idx {
			if err := readFull(r, b4[:], at+4*uint64(i)); err != nil {
				return nil, &Error{"kallsyms_offsets", at + 4*uint64(i), "cannot read", err}
			}
			offsets[k] = int32(binary.LittleEndian.Uint32(b4[:]))
		}
		return offsets, nil
	}
	// The first len(idx) symbols: bounded, since that many entries of the
	// name stream were read, at least two bytes each.
	buf := make([]byte, min(chunk, 4*len(idx)))
	for off := 0; off < 4*len(idx); off += len(buf) {
		p := buf[:min(len(buf), 4*len(idx)-off)]
		if err := readFull(r, p, at+uint64(off)); err != nil {
			return nil, &Error{"kallsyms_offsets", at + uint64(off), "cannot read", err}
		}
		for j := 0; j < len(p); j += 4 {
			offsets[(off+j)/4] = int32(binary.LittleEndian.Uint32(p[j:]))
		}
	}
	return offsets, nil
}

// address is kernel/kallsyms.c's kallsyms_sym_address.
func (t *Table) address(off int32, absolutePercpu bool) uint64 {
	if !absolutePercpu {
		return t.RelativeBase + uint64(uint32(off))
	}
	if off >= 0 {
		return uint64(off)
	}
	return t.RelativeBase - 1 - uint64(int64(off))
}

// Lookup returns the symbol named name: the global one (upper-case type)
// when there is one, else the first of that name.
func (t *Table) Lookup(name string) (Symbol, bool) {
	t.once.Do(func() {
		t.byName = make(map[string]int32, len(t.Symbols))
		for i, s := range t.Symbols {
			j, ok := t.byName[s.Name]
			if !ok || !isGlobal(t.Symbols[j].Type) && isGlobal(s.Type) {
				t.byName[s.Name] = int32(i)
			}
		}
	})
	i, ok := t.byName[name]
	if !ok {
		return Symbol{}, false
	}
	return t.Symbols[i], true
}

func isGlobal(typ byte) bool { return typ >= 'A' && typ <= 'Z' }

// stream reads a table byte by byte, a chunk at a time.
type stream struct {
	r        io.ReaderAt
	base     uint64
	pos      uint64 // next byte, from base
	buf      []byte
	bufStart uint64 // pos of buf[0]
}

// bytes returns the next n bytes (n <= chunk), valid until the next call.
func (s *stream) bytes(n int) ([]byte, error) {
	if i := s.pos - s.bufStart; s.pos >= s.bufStart && i+uint64(n) <= uint64(len(s.buf)) {
		s.pos += uint64(n)
		return s.buf[i : i+uint64(n)], nil
	}
	// Small reads first (a hostile num_syms over a short table costs
	// little), doubling up to chunk.
	size := min(max(2*cap(s.buf), 4<<10), chunk)
	if cap(s.buf) < size {
		s.buf = make([]byte, size)
	}
	s.buf = s.buf[:size]
	got, err := s.r.ReadAt(s.buf, int64(s.base+s.pos))
	s.buf, s.bufStart = s.buf[:got], s.pos
	if got < n {
		if err == nil {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	s.pos += uint64(n)
	return s.buf[:n], nil
}

// readFull reads len(p) bytes at addr.
func readFull(r io.ReaderAt, p []byte, addr uint64) error {
	n, err := r.ReadAt(p, int64(addr))
	if n == len(p) {
		return nil
	}
	if err == nil {
		err = io.ErrUnexpectedEOF
	}
	return err
}
