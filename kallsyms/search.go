package kallsyms

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// MaxSearch bounds the memory Search scans: a kernel image's text and
// read-only data are tens of MiB.
const MaxSearch = 256 << 20

// ErrNotFound matches Search's error when the region holds no table.
var ErrNotFound = errors.New("kallsyms: no symbol table found by its contents")

// Search finds the kallsyms tables by their contents in the kernel memory
// [start, end), for kernels whose VMCOREINFO does not locate them (before
// 6.0). It knows the layout those kernels have (scripts/kallsyms.c up to
// 6.3): kallsyms_offsets, kallsyms_relative_base, kallsyms_num_syms,
// kallsyms_names, kallsyms_markers, kallsyms_token_table and
// kallsyms_token_index, in that order, each aligned. It finds the token
// index (256 increasing 16-bit offsets from 0) and the token table before
// it (256 NUL-terminated tokens at those offsets), walks back over the
// markers (one 32-bit offset into the name stream per 256 symbols, from
// 0), and takes as kallsyms_num_syms the word before the name stream whose
// count the markers fit and whose stream reaches each marker where it says.
// The caller should check the result by decoding it with an anchor (Read's
// Options): Search checks the structure, not the addresses.
func Search(r io.ReaderAt, start, end uint64) (Locations, error) {
	var loc Locations
	if end <= start || end-start > MaxSearch {
		return loc, fmt.Errorf("kallsyms: search region %#x-%#x: empty or over %d MiB", start, end, MaxSearch>>20)
	}
	const window = 1 << 20
	const overlap = 4 << 10 // a token table and its index fit in it
	buf := make([]byte, window+overlap)
	for at := start; at < end; at += window {
		n := min(uint64(len(buf)), end-at)
		got, _ := r.ReadAt(buf[:n], int64(at))
		b := buf[:got]
		for p := 0; p+512 <= len(b); p += 2 {
			if b[p] != 0 || b[p+1] != 0 {
				continue
			}
			if uint64(p) >= window && at+window < end {
				break // the next window scans it
			}
			if !tokenIndexAt(b[p:]) {
				continue
			}
			table, ok := tokenTableBefore(b, p)
			if !ok {
				continue
			}
			loc.TokenIndex = at + uint64(p)
			loc.TokenTable = at + uint64(table)
			if err := findNames(r, &loc); err == nil {
				return loc, nil
			}
		}
	}
	return Locations{}, fmt.Errorf("%w in %#x-%#x", ErrNotFound, start, end)
}

// tokenIndexAt tells whether b starts with 256 16-bit offsets from 0,
// each 2 to 256 more than the one before (a token and its NUL).
func tokenIndexAt(b []byte) bool {
	prev := 0
	for i := 1; i < 256; i++ {
		v := int(binary.LittleEndian.Uint16(b[2*i:]))
		if d := v - prev; d < 2 || d > maxToken+1 {
			return false
		}
		prev = v
	}
	return true
}

// tokenTableBefore finds the start of the token table that the index at
// b[p:] describes, ending (with at most 7 bytes of padding) right before
// it: each token nonempty, without NUL, NUL-terminated where the next
// begins.
func tokenTableBefore(b []byte, p int) (int, bool) {
	idx := func(i int) int { return int(binary.LittleEndian.Uint16(b[p+2*i:])) }
	last := idx(255)
	for pad := 0; pad < 8; pad++ {
		for l := 1; l <= maxToken; l++ {
			t := p - pad - l - 1 - last
			if t < 0 {
				break
			}
			if b[t+last+l] != 0 || !validTokens(b[t:t+last+l+1], idx) {
				continue
			}
			return t, true
		}
	}
	return 0, false
}

func validTokens(table []byte, idx func(int) int) bool {
	for i := 0; i < 256; i++ {
		from, to := idx(i), len(table)-1
		if i < 255 {
			to = idx(i+1) - 1
		}
		if to <= from || table[to] != 0 {
			return false
		}
		for _, c := range table[from:to] {
			if c == 0 {
				return false
			}
		}
	}
	return true
}

// findNames walks back from the token table over the markers to the name
// stream and the symbol count, and sets the offsets and relative base
// before them.
func findNames(r io.ReaderAt, loc *Locations) error {
	var b4 [4]byte
	u32 := func(at uint64) (uint32, error) {
		if err := readFull(r, b4[:], at); err != nil {
			return 0, err
		}
		return binary.LittleEndian.Uint32(b4[:]), nil
	}
	// The markers end before the token table, maybe with a padding word.
	q := loc.TokenTable - 4
	if v, err := u32(q); err != nil {
		return err
	} else if v == 0 {
		q -= 4
	}
	var markers []uint32 // backwards
	for len(markers) <= MaxSymbols/256+1 {
		v, err := u32(q)
		if err != nil {
			return err
		}
		if len(markers) > 0 && v >= markers[len(markers)-1] {
			return errors.New("markers do not decrease")
		}
		markers = append(markers, v)
		if v == 0 {
			break
		}
		q -= 4
	}
	if markers[len(markers)-1] != 0 {
		return errors.New("no first marker")
	}
	for i, j := 0, len(markers)-1; i < j; i, j = i+1, j-1 {
		markers[i], markers[j] = markers[j], markers[i]
	}
	markersAt, last := q, uint64(markers[len(markers)-1])
	// The count precedes the stream: 4 or 8 bytes before it, the stream
	// at least as long as the last marker and its block of 256 entries
	// at most 256 * (1 + 127) bytes long.
	const span = 256*128 + 16
	if markersAt < last+span {
		return errors.New("markers point before memory")
	}
	lo := markersAt - last - span
	buf := make([]byte, span+8)
	if err := readFull(r, buf, lo); err != nil {
		return err
	}
	for names := markersAt - last; names > lo+8; names-- {
		for _, gap := range []uint64{4, 8} {
			n := binary.LittleEndian.Uint32(buf[names-gap-lo:])
			if n == 0 || n > MaxSymbols || (int(n)+255)/256 != len(markers) {
				continue
			}
			if !namesFit(r, names, markers, int(n), markersAt) {
				continue
			}
			loc.NumSyms, loc.Names = names-gap, names
			loc.RelativeBase = loc.NumSyms - 8
			loc.Offsets = loc.RelativeBase - (4*uint64(n)+7)&^7
			return nil
		}
	}
	return errors.New("no symbol count before the name stream")
}

// namesFit tells whether the name stream at names has entry 256*k at
// markers[k] for each k, and its n entries end before markersAt (with
// at most 7 bytes of padding).
func namesFit(r io.ReaderAt, names uint64, markers []uint32, n int, markersAt uint64) bool {
	var b [2]byte
	skip := func(at uint64, entries int) (uint64, bool) {
		for range entries {
			if err := readFull(r, b[:1], at); err != nil || b[0] == 0 {
				return 0, false
			}
			l := uint64(b[0])
			if b[0]&0x80 != 0 { // a long name (6.1's encoding)
				if err := readFull(r, b[:], at); err != nil {
					return 0, false
				}
				l = uint64(b[0]&0x7f) | uint64(b[1])<<7 + 1
			}
			at += 1 + l
		}
		return at, true
	}
	last := len(markers) - 1
	for _, k := range []int{0, last - 1} {
		if k < 0 || k >= last {
			continue
		}
		at, ok := skip(names+uint64(markers[k]), 256)
		if !ok || at != names+uint64(markers[k+1]) {
			return false
		}
	}
	end, ok := skip(names+uint64(markers[last]), n-256*last)
	return ok && end <= markersAt && markersAt-end < 8
}
