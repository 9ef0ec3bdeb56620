package kallsyms

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
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
	// maxTokenTable bounds the token table: 256 offsets of 16 bits, plus
	// the longest token.
	maxTokenTable = 1<<16 + MaxNameLen
	// chunk is how much of a table one read asks for.
	chunk = 64 << 10
)

// Locations are the kernel virtual addresses of the kallsyms tables.
type Locations struct {
	NumSyms      uint64 // kallsyms_num_syms: unsigned int
	Names        uint64 // kallsyms_names: the compressed name stream
	TokenTable   uint64 // kallsyms_token_table: NUL-terminated tokens
	TokenIndex   uint64 // kallsyms_token_index: 256 u16 offsets
	Offsets      uint64 // kallsyms_offsets: one int per symbol
	RelativeBase uint64 // kallsyms_relative_base: the base pointer
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
	// AbsolutePercpu tells which address encoding the kernel used.
	AbsolutePercpu bool
	// RelativeBase is kallsyms_relative_base as read from memory.
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
	var b4 [4]byte
	if err := readFull(r, b4[:], loc.NumSyms); err != nil {
		return nil, &Error{"kallsyms_num_syms", loc.NumSyms, "cannot read", err}
	}
	num := binary.LittleEndian.Uint32(b4[:])
	if num == 0 || num > MaxSymbols {
		return nil, &Error{"kallsyms_num_syms", loc.NumSyms, fmt.Sprintf("%d symbols, outside 1..%d", num, MaxSymbols), nil}
	}
	tokens, err := readTokens(r, loc)
	if err != nil {
		return nil, err
	}
	t := &Table{}
	if err := t.readNames(r, loc.Names, int(num), tokens); err != nil {
		return nil, err
	}
	if err := t.readAddresses(r, loc, opt); err != nil {
		return nil, err
	}
	return t, nil
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
		if end == len(buf) {
			return nil, &Error{"kallsyms_token_table", loc.TokenTable + uint64(off), fmt.Sprintf("token %d is not NUL-terminated within %d bytes", i, len(buf)-off), nil}
		}
		tokens[i] = buf[off:end:end]
	}
	return &tokens, nil
}

// readNames expands num entries of the name stream at addr. The names are
// expanded into one arena and sliced from one string: one allocation, not
// one per symbol.
func (t *Table) readNames(r io.ReaderAt, addr uint64, num int, tokens *[256][]byte) error {
	s := stream{r: r, base: addr}
	// Grown as memory proves to hold names, not sized by num_syms alone.
	arena := make([]byte, 0, min(num, 1<<12)*24)
	ends := make([]uint32, 0, min(num, 1<<12))
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
		from := len(arena)
		for _, c := range compressed {
			arena = append(arena, tokens[c]...)
			if len(arena)-from > MaxNameLen {
				return nameError(addr+start, i, num, fmt.Sprintf("expands beyond %d characters", MaxNameLen), nil)
			}
		}
		name := arena[from:]
		if len(name) < 2 {
			return nameError(addr+start, i, num, fmt.Sprintf("expands to %q, no type and name", name), nil)
		}
		if typ := name[0]; typ <= ' ' || typ > '~' {
			return nameError(addr+start, i, num, fmt.Sprintf("type byte %#x is not a letter", typ), nil)
		}
		ends = append(ends, uint32(len(arena)))
	}
	all := string(arena)
	t.Symbols = make([]Symbol, num)
	from := 0
	for i, end := range ends {
		t.Symbols[i] = Symbol{Type: all[from], Name: all[from+1 : end]}
		from = int(end)
	}
	return nil
}

func nameError(addr uint64, i, num int, msg string, err error) error {
	return &Error{"kallsyms_names", addr, fmt.Sprintf("symbol %d of %d: %s", i, num, msg), err}
}

// readAddresses reads kallsyms_offsets and kallsyms_relative_base and sets
// every symbol's address.
func (t *Table) readAddresses(r io.ReaderAt, loc Locations, opt Options) error {
	var b8 [8]byte
	if err := readFull(r, b8[:], loc.RelativeBase); err != nil {
		return &Error{"kallsyms_relative_base", loc.RelativeBase, "cannot read", err}
	}
	t.RelativeBase = binary.LittleEndian.Uint64(b8[:])
	num := len(t.Symbols)
	// Bounded: num entries of the name stream were read, at least one byte
	// each, so the offsets are at most four times what memory held.
	raw := make([]byte, 4*num)
	for off := 0; off < len(raw); off += chunk {
		end := min(off+chunk, len(raw))
		if err := readFull(r, raw[off:end], loc.Offsets+uint64(off)); err != nil {
			return &Error{"kallsyms_offsets", loc.Offsets + uint64(off), "cannot read", err}
		}
	}
	offset := func(i int) int32 { return int32(binary.LittleEndian.Uint32(raw[4*i:])) }

	if opt.Anchor.Name != "" {
		i := -1
		for j := range t.Symbols {
			if t.Symbols[j].Name == opt.Anchor.Name {
				i = j
				break
			}
		}
		if i < 0 {
			return &Error{"kallsyms_names", loc.Names, fmt.Sprintf("no symbol %s, which anchors the addresses", opt.Anchor.Name), nil}
		}
		rel, abs := t.address(offset(i), false), t.address(offset(i), true)
		switch opt.Anchor.Addr {
		case rel:
			t.AbsolutePercpu = false
		case abs:
			t.AbsolutePercpu = true
		default:
			return &Error{"kallsyms_offsets", loc.Offsets + 4*uint64(i), fmt.Sprintf("%s decodes to %#x (relative) or %#x (absolute per-CPU), not %#x", opt.Anchor.Name, rel, abs, opt.Anchor.Addr), nil}
		}
	} else {
		// Offsets are u32 distances from the lowest address without
		// absolute per-CPU symbols; a kernel image is far below 2 GiB, so
		// a negative one means the other encoding.
		for i := 0; i < num; i++ {
			if offset(i) < 0 {
				t.AbsolutePercpu = true
				break
			}
		}
	}
	for i := range t.Symbols {
		t.Symbols[i].Addr = t.address(offset(i), t.AbsolutePercpu)
	}
	return nil
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
